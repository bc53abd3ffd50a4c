"""Warroom settings: one module, read from environment variables only.

With no variables set, Warroom runs on its embedded default: SQLite under
``var/``, files under ``var/media``, an in-memory channel layer, an in-process
Celery worker over an in-memory broker and the offline report writer. Each
production part is switched on by its own variable (``DATABASE_URL``,
``REDIS_URL`` or ``REDIS_SENTINELS``, ``S3_BUCKET``, ``AUTH_LDAP_SERVER_URI``, ``AI_PROVIDER``);
docs/configuration.md lists every variable.
"""

import os
import secrets
from pathlib import Path

import environ
from django.utils.translation import gettext_lazy as _

from config import redis_settings

BASE_DIR = Path(__file__).resolve().parent.parent
env = environ.Env()

VAR_DIR = Path(env("WARROOM_VAR_DIR", default=str(BASE_DIR / "var")))
VAR_DIR.mkdir(parents=True, exist_ok=True)


def _embedded_secret_key() -> str:
    """A key kept under var/ so that sessions survive restarts of the embedded default."""
    path = VAR_DIR / "secret_key"
    if not path.exists():
        path.write_text(secrets.token_urlsafe(50))
        path.chmod(0o600)
    return path.read_text().strip()


# --- Core -------------------------------------------------------------------

SECRET_KEY = env("DJANGO_SECRET_KEY", default="") or _embedded_secret_key()
DEBUG = env.bool("DJANGO_DEBUG", default=False)
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.list("DJANGO_CSRF_TRUSTED_ORIGINS", default=[])
# The public address of the site, used in links that leave it (report delivery, emails).
SITE_URL = env("WARROOM_SITE_URL", default="http://127.0.0.1:8000").rstrip("/")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_celery_beat",
    "channels",
    "csp",
    "accounts",
    "incidents",
    "alerts",
    "knowledge",
    "reports",
    "realtime",
]

MIDDLEWARE = [
    # First: every answer gets its X-Request-ID, its log context and its count in /metrics.
    "config.observability.RequestObservabilityMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "config.middleware.RequestSizeLimitMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "config.middleware.PrivateCacheMiddleware",
    "config.middleware.RedisUnavailableMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"
ASGI_APPLICATION = "config.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "django.template.context_processors.i18n",
            ],
        },
    },
]

# --- Database ---------------------------------------------------------------

# An empty DATABASE_URL (a blank line in an env file) means unset, not "no engine".
DATABASES = {
    "default": environ.Env.db_url_config(env("DATABASE_URL", default="") or f"sqlite:///{VAR_DIR / 'warroom.sqlite3'}"),
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL and IMMEDIATE transactions let the web threads and the embedded worker
    # write the same file without "database is locked" errors.
    DATABASES["default"]["OPTIONS"] = {
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
    }
else:
    DATABASES["default"].setdefault("OPTIONS", {})["connect_timeout"] = env.int("DATABASE_CONNECT_TIMEOUT", default=5)
    if env.bool("DATABASE_POOL", default=True):
        # A new PostgreSQL connection per request (CONN_MAX_AGE 0) was a third of an API
        # request's server time. Persistent connections do not suit ASGI (each request may run
        # on a new thread, each keeping its own), so each process keeps a psycopg pool that every
        # thread borrows from (Django 5.2). Turn it off behind a pooler such as PgBouncer.
        DATABASES["default"]["OPTIONS"]["pool"] = {
            "min_size": env.int("DATABASE_POOL_MIN_SIZE", default=2),
            "max_size": env.int("DATABASE_POOL_MAX_SIZE", default=20),
            # Seconds a request or task waits for a connection before it fails: while PostgreSQL
            # is down the request then gets its JSON 503 within 5 s (docs/deployment.md).
            "timeout": env.float("DATABASE_POOL_TIMEOUT", default=4),
        }
        # Django then has the pool check a connection before it lends it (ConnectionPool.check_connection):
        # after a PostgreSQL restart the pool's old connections are dead, and none may reach a request.
        DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
    else:
        DATABASES["default"]["CONN_MAX_AGE"] = env.int("DATABASE_CONN_MAX_AGE", default=0)
        DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Redis: cache, Celery, channel layer ---------------------------------------

# One Redis server (REDIS_URL) or a Sentinel-watched primary (REDIS_SENTINELS +
# REDIS_SENTINEL_MASTER); config/redis_settings.py writes each library's settings from it.
REDIS_TARGET = redis_settings.redis_target(os.environ)
REDIS_URL = env("REDIS_URL", default="")

if REDIS_TARGET is not None:
    CACHES = {"default": redis_settings.cache_settings(REDIS_TARGET)}
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {
                # max_connections: redis-py's async pool holds 100 by default and raises
                # MaxConnectionsError past that instead of waiting; a mass disconnect of one
                # process needs more (realtime/groups.py also bounds group changes in flight).
                "hosts": [redis_settings.channel_layer_host(
                    REDIS_TARGET, max_connections=env.int("CHANNEL_LAYER_MAX_CONNECTIONS", default=500))],
                "prefix": "warroom",
                # capacity counts pending events per process, not per client:
                # size it for bursts of progress events (see shared PERFORMANCE notes).
                "capacity": env.int("CHANNEL_LAYER_CAPACITY", default=1500),
                "expiry": 30,
            },
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "warroom"}}
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}

# Who may listen to a room's live events (realtime imports no app itself): given many
# (person, room id) pairs, the ones allowed, in one query (sockets connecting together are checked together).
REALTIME_ROOM_ACCESS = "incidents.selectors.room_visible_pairs"
# Open sockets and notes streams re-check access this often, as a backstop to the
# messages sent when a member is removed, a session ends or an account changes.
REALTIME_ACCESS_RECHECK_SECONDS = env.float("REALTIME_ACCESS_RECHECK_SECONDS", default=60)

# --- Celery -----------------------------------------------------------------

_celery_redis = redis_settings.celery_settings(REDIS_TARGET) if REDIS_TARGET is not None else None
CELERY_BROKER_URL = _celery_redis["broker_url"] if _celery_redis else "memory://"
CELERY_RESULT_BACKEND = _celery_redis["result_backend"] if _celery_redis else "cache+memory://"
CELERY_RESULT_EXPIRES = 3600
# With no Redis, an in-process worker thread consumes the in-memory broker, so
# requests still return at once while reports are written in the background.
WARROOM_EMBEDDED_WORKER = env.bool("WARROOM_EMBEDDED_WORKER", default=REDIS_TARGET is None)
WARROOM_EMBEDDED_WORKER_CONCURRENCY = env.int("WARROOM_EMBEDDED_WORKER_CONCURRENCY", default=4)
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=False)
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TIMEZONE = env("TIME_ZONE", default="Asia/Taipei")
CELERY_ENABLE_UTC = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SOFT_TIME_LIMIT = env.int("CELERY_TASK_SOFT_TIME_LIMIT", default=300)
CELERY_TASK_TIME_LIMIT = env.int("CELERY_TASK_TIME_LIMIT", default=360)
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# A message whose worker died is redelivered after the visibility timeout; it
# must outlast the longest hard time limit or a running task would be duplicated.
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": max(env.int("CELERY_VISIBILITY_TIMEOUT", default=900), CELERY_TASK_TIME_LIMIT + 60),
    "socket_connect_timeout": 3,
    "socket_timeout": 5,
    # With Sentinel: the monitored primary's name and the sentinels' own connection options.
    **(_celery_redis["transport_options"] if _celery_redis else {}),
}
# Sending a task (a stage's next stage from the worker, a new report's chain from the web)
# is retried for about 6 s before it gives up: longer than a Sentinel failover (about 2.5 s,
# docs/reliability.md), so the chain goes on by itself instead of waiting for the reaper.
CELERY_TASK_PUBLISH_RETRY_POLICY = {"max_retries": 8, "interval_start": 0, "interval_step": 0.5, "interval_max": 1.0}
CELERY_RESULT_BACKEND_TRANSPORT_OPTIONS = _celery_redis["transport_options"] if _celery_redis else {}
CELERY_REDIS_BACKEND_HEALTH_CHECK_INTERVAL = 30
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
# Static entries; the database scheduler copies them into its tables at start.
# How often stuck reports are resumed or failed: by beat in production, by a timer of the
# embedded worker where no beat runs.
REPORT_REAP_INTERVAL_SECONDS = 60.0
CELERY_BEAT_SCHEDULE = {
    # Re-queues or fails reports stuck in a running stage (worker killed, broker lost).
    "reports-reap-stuck": {"task": "reports.reap_stuck_reports", "schedule": REPORT_REAP_INTERVAL_SECONDS},
    # Resolves rooms whose alerts all cleared ALERT_AUTO_RESOLVE_AFTER ago with nobody acting.
    "alerts-auto-resolve": {"task": "alerts.auto_resolve", "schedule": env.float("ALERT_AUTO_RESOLVE_INTERVAL_SECONDS", default=60.0)},
}

# --- Files ------------------------------------------------------------------

MEDIA_ROOT = Path(env("MEDIA_ROOT", default=str(VAR_DIR / "media")))
MEDIA_URL = "/media/"
STATIC_URL = "/static/"
STATIC_ROOT = Path(env("STATIC_ROOT", default=str(VAR_DIR / "static")))
STATIC_ROOT.mkdir(parents=True, exist_ok=True)
STATICFILES_DIRS = [BASE_DIR / "static"]
WHITENOISE_USE_FINDERS = True

S3_BUCKET = env("S3_BUCKET", default="")
if S3_BUCKET:
    from botocore.config import Config as BotoConfig

    _default_storage = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": S3_BUCKET,
            "endpoint_url": env("S3_ENDPOINT_URL", default="") or None,
            "access_key": env("S3_ACCESS_KEY_ID", default="") or None,
            "secret_key": env("S3_SECRET_ACCESS_KEY", default="") or None,
            "region_name": env("S3_REGION", default="us-east-1"),
            "default_acl": None,
            "file_overwrite": False,
            "querystring_expire": 300,
            # MinIO and other S3 servers reject the newer default checksums.
            "client_config": BotoConfig(
                request_checksum_calculation="when_required",
                response_checksum_validation="when_required",
                connect_timeout=env.int("S3_CONNECT_TIMEOUT", default=5),
                read_timeout=env.int("S3_READ_TIMEOUT", default=30),
                retries={"max_attempts": 3, "mode": "standard"},
            ),
            "addressing_style": env("S3_ADDRESSING_STYLE", default="path"),
        },
    }
else:
    _default_storage = {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": str(MEDIA_ROOT), "base_url": MEDIA_URL},
    }
STORAGES = {
    "default": _default_storage,
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}

# Request bodies: files are limited by ROOM_FILE_MAX_BYTES; other bodies by this.
DATA_UPLOAD_MAX_MEMORY_SIZE = env.int("DATA_UPLOAD_MAX_MEMORY_SIZE", default=2 * 1024 * 1024)
FILE_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024
ROOM_FILE_MAX_BYTES = env.int("ROOM_FILE_MAX_BYTES", default=20 * 1024 * 1024)
# In front of Django (config/bodylimit.py), per route class: file uploads may send
# ROOM_FILE_MAX_BYTES plus their framing; the JSON API and every other page (forms) these.
REQUEST_MAX_BYTES_API = env.int("REQUEST_MAX_BYTES_API", default=1024 * 1024)
REQUEST_MAX_BYTES_FORM = env.int("REQUEST_MAX_BYTES_FORM", default=100 * 1024)
ROOM_IMAGE_MAX_PIXELS = env.int("ROOM_IMAGE_MAX_PIXELS", default=50_000_000)
# Full image decodes (thumbnails) running at once per process, and how long an upload
# waits for one before a 429. One full decode of an RGBA image takes about 8 bytes a pixel
# (pixels, and the premultiplied copy Pillow resizes), so 50 M pixels x 1 decode is ~400 MB.
IMAGE_DECODE_CONCURRENCY = env.int("IMAGE_DECODE_CONCURRENCY", default=1)
IMAGE_DECODE_WAIT_SECONDS = env.float("IMAGE_DECODE_WAIT_SECONDS", default=30)
MESSAGE_MAX_CHARS = env.int("MESSAGE_MAX_CHARS", default=20_000)

# --- People and login -----------------------------------------------------------

AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = ["django.contrib.auth.backends.ModelBackend"]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "incidents:room-list"
LOGOUT_REDIRECT_URL = "login"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# Directory login (Active Directory through django-auth-ldap), on when a server is
# named. accounts/ldap_config.py turns the AUTH_LDAP_* variables into settings;
# local accounts (break-glass admins, service accounts) keep working behind it.
if env("AUTH_LDAP_SERVER_URI", default=""):
    from accounts.ldap_config import directory_settings

    globals().update(directory_settings(os.environ))
    AUTHENTICATION_BACKENDS = ["accounts.ldap.DirectoryBackend", *AUTHENTICATION_BACKENDS]

# Login throttling: failures per account name and per client address, in the cache.
LOGIN_MAX_FAILURES_PER_ACCOUNT = env.int("LOGIN_MAX_FAILURES_PER_ACCOUNT", default=5)
LOGIN_MAX_FAILURES_PER_ADDRESS = env.int("LOGIN_MAX_FAILURES_PER_ADDRESS", default=20)
LOGIN_FAILURE_WINDOW_SECONDS = env.int("LOGIN_FAILURE_WINDOW_SECONDS", default=900)
# From every address together: a high bound on guessing spread over many addresses
# (a browser that logged in to the account before is not held by it).
LOGIN_MAX_FAILURES_PER_ACCOUNT_ALL_ADDRESSES = env.int("LOGIN_MAX_FAILURES_PER_ACCOUNT_ALL_ADDRESSES", default=100)
# Addresses or networks of the load balancers / reverse proxies in front of Warroom.
# Only a request from one of them has its X-Forwarded-For read (the nearest hop that is
# not itself a trusted proxy); from anywhere else the header is ignored. Empty: no proxy.
# uvicorn runs with --no-proxy-headers, so this is the one place forwarded headers are read.
TRUSTED_PROXIES = env.list("TRUSTED_PROXIES", default=[])
# Messages (the API token shown once on creation among them) stay server-side.
MESSAGE_STORAGE = "django.contrib.messages.storage.session.SessionStorage"

# --- Security (production behind HTTPS sets DJANGO_HTTPS=true) --------------------

HTTPS = env.bool("DJANGO_HTTPS", default=False)
SESSION_COOKIE_SECURE = HTTPS
CSRF_COOKIE_SECURE = HTTPS
SECURE_SSL_REDIRECT = HTTPS and env.bool("DJANGO_SECURE_SSL_REDIRECT", default=True)
# The probes of load balancers and compose come over plain HTTP from inside (scripts/healthcheck.py).
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$"]
SECURE_HSTS_SECONDS = env.int("DJANGO_HSTS_SECONDS", default=31536000 if HTTPS else 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = HTTPS
SECURE_HSTS_PRELOAD = env.bool("DJANGO_HSTS_PRELOAD", default=False)
if env.bool("DJANGO_BEHIND_PROXY", default=False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
X_FRAME_OPTIONS = "DENY"
# Content-Security-Policy (django-csp): scripts, styles and connections from this site only.
# The pages carry no inline script or handler; their words come in json_script blocks
# (incidents/page_strings.py). 'self' also covers the room WebSocket (ws/wss, same host).
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:", "blob:"],
        "font-src": ["'self'", "data:"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    },
}
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"

# --- Language and time --------------------------------------------------------

LANGUAGE_CODE = env("LANGUAGE_CODE", default="zh-hant")
LANGUAGES = [("zh-hant", _("Traditional Chinese")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = env("TIME_ZONE", default="Asia/Taipei")
USE_I18N = True
USE_TZ = True

# --- API ----------------------------------------------------------------------

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        # First, so that a missing or bad token answers 401 with WWW-Authenticate (DRF asks the first class).
        "accounts.authentication.TokenAuthentication",
        # Pages' JavaScript; enforces CSRF.
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PARSER_CLASSES": [
        "config.parsers.JSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 50,
    "EXCEPTION_HANDLER": "config.api.exception_handler",
    "DEFAULT_THROTTLE_CLASSES": [
        "config.throttling.UserRateThrottle",
    ],
    "DEFAULT_THROTTLE_RATES": {
        "user": env("API_THROTTLE_USER", default="1200/min"),
        "report_generate": env("API_THROTTLE_REPORT_GENERATE", default="10/min"),
        "notes_stream": env("API_THROTTLE_NOTES_STREAM", default="20/min"),
        "knowledge_search": env("API_THROTTLE_KNOWLEDGE_SEARCH", default="120/min"),
        "assistant_ask": env("API_THROTTLE_ASSISTANT_ASK", default="10/min"),
    },
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Warroom API",
    "DESCRIPTION": "Incident rooms, their timelines and files, and the reports written from them.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    # Served from our own static files: the API docs page works with no internet.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # Several models have a "status" or "kind"; name each choice set after its model.
    "ENUM_NAME_OVERRIDES": {
        "RoomStatusEnum": "incidents.models.RoomStatus",
        "SeverityEnum": "incidents.models.Severity",
        "MemberRoleEnum": "incidents.models.MemberRole",
        "MessageKindEnum": "incidents.models.MessageKind",
        "ReportStatusEnum": "reports.models.ReportStatus",
        "ReportKindEnum": "reports.models.ReportKind",
        "StepStatusEnum": "reports.models.StepStatus",
        "ActionItemStatusEnum": "incidents.models.ActionItemStatus",
        "ActionItemSourceEnum": "incidents.models.ActionItem.Source",
        "AlertStatusEnum": "alerts.models.AlertStatus",
        "AlertAttachmentEnum": "alerts.models.Attachment",
        "KnowledgeDocumentKindEnum": "knowledge.models.DocumentKind",
        "KnowledgeDocumentStatusEnum": "knowledge.models.DocumentStatus",
        "KnowledgeDocumentFormatEnum": "knowledge.models.DocumentFormat",
    },
    # The ticket-notes stream is a plain async view (Server-Sent Events), which the generator
    # does not see: describe it here so that integrators find it in /api/docs/.
    "APPEND_PATHS": {
        "/api/rooms/{room_id}/notes/stream": {
            "get": {
                "operationId": "rooms_notes_stream",
                "summary": "Write new ticket notes and stream them as Server-Sent Events",
                "description": (
                    "Starts new ticket notes for the room (or joins the ones being written) and streams "
                    "them: `data:` lines with the text as it is written, then `data: [DONE]`, or "
                    "`data: [ERROR] <message>` when they could not be written. `: keep-alive` comments "
                    "keep proxies from closing a quiet stream. The notes' report id is in `X-Report-Id`. "
                    "Authenticate with `Authorization: Token <key>` or a session."
                ),
                "tags": ["rooms"],
                "parameters": [{"name": "room_id", "in": "path", "required": True,
                                "schema": {"type": "string", "format": "uuid"}}],
                "security": [{"tokenAuth": []}, {"cookieAuth": []}],
                "responses": {
                    "200": {"description": "The notes as they are written.",
                            "headers": {"X-Report-Id": {"schema": {"type": "string", "format": "uuid"}}},
                            "content": {"text/event-stream": {"schema": {"type": "string"}}}},
                    "401": {"description": "Not authenticated."},
                    "404": {"description": "No such room, or not one of yours."},
                    "429": {"description": "Too many streams; see Retry-After."},
                },
            },
        },
    },
}

# --- AI and reports -------------------------------------------------------------

AI_PROVIDER = env("AI_PROVIDER", default="offline")
DIFY_BASE_URL = env("DIFY_BASE_URL", default="").rstrip("/")
DIFY_API_KEY = env("DIFY_API_KEY", default="")
DIFY_TIMEOUT_SECONDS = env.float("DIFY_TIMEOUT_SECONDS", default=120)
OPENAI_BASE_URL = env("OPENAI_BASE_URL", default="").rstrip("/")
OPENAI_API_KEY = env("OPENAI_API_KEY", default="")
OPENAI_MODEL = env("OPENAI_MODEL", default="gpt-4o-mini")
OPENAI_TIMEOUT_SECONDS = env.float("OPENAI_TIMEOUT_SECONDS", default=120)
AI_MAX_RETRIES = env.int("AI_MAX_RETRIES", default=2)
AI_CONNECT_TIMEOUT_SECONDS = env.float("AI_CONNECT_TIMEOUT_SECONDS", default=10)
# First wait before retrying a retryable AI failure; it doubles each time, with jitter.
AI_RETRY_BACKOFF_SECONDS = env.float("AI_RETRY_BACKOFF_SECONDS", default=2.0)
DIFY_RESPONSE_MODE = env("DIFY_RESPONSE_MODE", default="streaming")
# The AI ledger's prices, per million tokens and per model: {"gpt-4o-mini": {"input": 0.15, "output": 0.6}}
# (a model may name its own "currency"). DIFY's own total_price wins when it sends one.
AI_PRICES = env.json("AI_PRICES", default={})
AI_PRICE_CURRENCY = env("AI_PRICE_CURRENCY", default="USD")
OPENAI_STREAM = env.bool("OPENAI_STREAM", default=True)
REPORT_MAX_MESSAGES = env.int("REPORT_MAX_MESSAGES", default=200)
REPORT_SECTION_MODE = env("REPORT_SECTION_MODE", default="single")
REPORT_LANGUAGE = env("REPORT_LANGUAGE", default="zh-hant")
# Context from the knowledge base (docs/knowledge.md): related passages the writer may cite as [kb:ID],
# and the room's document files (logs, PDFs) as text, sharing one budget.
REPORT_KNOWLEDGE_PASSAGES = env.int("REPORT_KNOWLEDGE_PASSAGES", default=5)
REPORT_KNOWLEDGE_PASSAGE_CHARS = env.int("REPORT_KNOWLEDGE_PASSAGE_CHARS", default=600)
REPORT_DOCUMENT_BUDGET_CHARS = env.int("REPORT_DOCUMENT_BUDGET_CHARS", default=20000)
# The East Asian font the .docx names (w:eastAsia). Most readers open the files in Word on
# Windows, which has 微軟正黑體 (or 標楷體); LibreOffice on Linux substitutes an installed CJK
# font (fonts-noto-cjk). REPORT_FONT_EAST_ASIA is the older name of the same setting.
REPORT_EAST_ASIAN_FONT = env("REPORT_EAST_ASIAN_FONT", default=env("REPORT_FONT_EAST_ASIA", default="微軟正黑體"))
REPORT_FONT_EAST_ASIA = REPORT_EAST_ASIAN_FONT
# The Windows name recorded beside it in the font table (an English alias when they are the same).
REPORT_FONT_EAST_ASIA_WINDOWS = env("REPORT_FONT_EAST_ASIA_WINDOWS", default="微軟正黑體")
REPORT_STUCK_AFTER_SECONDS = env.int("REPORT_STUCK_AFTER_SECONDS", default=900)
POSTMORTEM_MIN_MINUTES = env.int("POSTMORTEM_MIN_MINUTES", default=10)

# --- Knowledge (docs/knowledge.md) ------------------------------------------------

KNOWLEDGE_MAX_FILE_BYTES = env.int("KNOWLEDGE_MAX_FILE_BYTES", default=20 * 1024 * 1024)
# Tries of a parse after a transient failure (storage or embeddings unreachable), and the first pause.
KNOWLEDGE_PARSE_MAX_RETRIES = env.int("KNOWLEDGE_PARSE_MAX_RETRIES", default=3)
KNOWLEDGE_PARSE_RETRY_BACKOFF_SECONDS = env.float("KNOWLEDGE_PARSE_RETRY_BACKOFF_SECONDS", default=10)
# Semantic search is on when an OpenAI-compatible /v1/embeddings server and a model are named.
EMBEDDINGS_BASE_URL = env("EMBEDDINGS_BASE_URL", default="").rstrip("/")
EMBEDDINGS_API_KEY = env("EMBEDDINGS_API_KEY", default="")
EMBEDDINGS_MODEL = env("EMBEDDINGS_MODEL", default="")
EMBEDDINGS_BATCH_SIZE = env.int("EMBEDDINGS_BATCH_SIZE", default=64)
EMBEDDINGS_TIMEOUT_SECONDS = env.float("EMBEDDINGS_TIMEOUT_SECONDS", default=30)
EMBEDDINGS_MAX_RETRIES = env.int("EMBEDDINGS_MAX_RETRIES", default=2)
EMBEDDINGS_RETRY_BACKOFF_SECONDS = env.float("EMBEDDINGS_RETRY_BACKOFF_SECONDS", default=1.0)
# Feedback on report versions and notes: target -> dotted path of a function (user, target_id) that
# returns an object with ``room`` and ``prompt_version``, or None; reports provide them (knowledge never imports reports).
KNOWLEDGE_FEEDBACK_RESOLVERS: dict[str, str] = {
    "report_version": "reports.feedback.report_version_target",
    "notes": "reports.feedback.notes_target",
}
# The room assistant's AI writer (reports provides it; empty: offline answers only), and what it is given:
# the asker's last N questions in the room, the passages that match the question, the room's latest messages.
KNOWLEDGE_ASSISTANT_WRITER = env("KNOWLEDGE_ASSISTANT_WRITER", default="reports.assistant.write_answer")
ASSISTANT_HISTORY_TURNS = env.int("ASSISTANT_HISTORY_TURNS", default=5)
ASSISTANT_PASSAGES = env.int("ASSISTANT_PASSAGES", default=5)
ASSISTANT_MAX_MESSAGES = env.int("ASSISTANT_MAX_MESSAGES", default=150)

# --- Daily report and delivery ---------------------------------------------------

# The daily report covers one calendar day in this zone; beat runs it at 08:00 there.
DAILY_REPORT_TIME_ZONE = env("DAILY_REPORT_TIME_ZONE", default="Asia/Taipei")
# A run also produces any day missing among this many days before it (beat was down).
DAILY_REPORT_CATCHUP_DAYS = env.int("DAILY_REPORT_CATCHUP_DAYS", default=3)
# How long one worker holds a day's lock; longer than a run, shorter than a day.
DAILY_REPORT_LOCK_SECONDS = env.int("DAILY_REPORT_LOCK_SECONDS", default=900)
# The health label: "watch" at the first threshold, "attention" at the second.
DAILY_HEALTH_OPEN_WATCH = env.int("DAILY_HEALTH_OPEN_WATCH", default=3)
DAILY_HEALTH_OPEN_ATTENTION = env.int("DAILY_HEALTH_OPEN_ATTENTION", default=6)
DAILY_HEALTH_MTTR_P90_WATCH_MINUTES = env.int("DAILY_HEALTH_MTTR_P90_WATCH_MINUTES", default=120)
DAILY_HEALTH_MTTR_P90_ATTENTION_MINUTES = env.int("DAILY_HEALTH_MTTR_P90_ATTENTION_MINUTES", default=480)
DAILY_HEALTH_SEV1_ATTENTION = env.int("DAILY_HEALTH_SEV1_ATTENTION", default=1)
DAILY_HEALTH_FAILED_REPORTS_WATCH = env.int("DAILY_HEALTH_FAILED_REPORTS_WATCH", default=1)
DAILY_HEALTH_FAILED_REPORTS_ATTENTION = env.int("DAILY_HEALTH_FAILED_REPORTS_ATTENTION", default=3)
# Channels: each is on when its variables are set.
DELIVERY_EMAIL_TO = env.list("DELIVERY_EMAIL_TO", default=[])
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", default="warroom@localhost")
globals().update(env.email_url("EMAIL_URL", default="smtp://localhost:25"))
EMAIL_TIMEOUT = env.int("EMAIL_TIMEOUT", default=15)
TELEGRAM_BOT_TOKEN = env("TELEGRAM_BOT_TOKEN", default="")
TELEGRAM_CHAT_ID = env("TELEGRAM_CHAT_ID", default="")
TELEGRAM_API_BASE = env("TELEGRAM_API_BASE", default="https://api.telegram.org").rstrip("/")
WEBHOOK_URL = env("WEBHOOK_URL", default="")
WEBHOOK_SECRET = env("WEBHOOK_SECRET", default="")
# Tries per channel, and the first pause between them (doubled each time).
DELIVERY_ATTEMPTS = env.int("DELIVERY_ATTEMPTS", default=3)
DELIVERY_BACKOFF_SECONDS = env.float("DELIVERY_BACKOFF_SECONDS", default=5)
DELIVERY_TIMEOUT_SECONDS = env.float("DELIVERY_TIMEOUT_SECONDS", default=15)

# --- Logging, metrics, error tracking (docs/operations.md) --------------------------

# plain (the default, for make run) or json: one JSON object a line with the request,
# user, room, report and task ids (config/logs.py).
LOG_FORMAT = env("LOG_FORMAT", default="plain").strip().lower()
if LOG_FORMAT not in ("plain", "json"):
    from django.core.exceptions import ImproperlyConfigured

    raise ImproperlyConfigured(f"LOG_FORMAT must be 'plain' or 'json', not {LOG_FORMAT!r}.")
LOG_LEVEL = env("LOG_LEVEL", default="INFO").upper()
# One line per request from Django (method, path, route, status, time, request id); on with JSON logs,
# where uvicorn's own access lines (plain text, with the query string) are better turned off.
LOG_REQUESTS = env.bool("LOG_REQUESTS", default=LOG_FORMAT == "json")
from config.logs import logging_config  # noqa: E402

LOGGING = logging_config(log_format=LOG_FORMAT, level=LOG_LEVEL)

# /metrics answers only with this bearer token; off (404) without it. With several
# processes, set PROMETHEUS_MULTIPROC_DIR (read by prometheus-client itself) for all of them.
METRICS_TOKEN = env("METRICS_TOKEN", default="")

# Sentry (or any server speaking its protocol) for web and worker; off without a DSN.
SENTRY_DSN = env("SENTRY_DSN", default="")
if SENTRY_DSN:
    from config.sentry import init_sentry

    init_sentry(
        dsn=SENTRY_DSN,
        environment=env("SENTRY_ENVIRONMENT", default="production"),
        release=env("SENTRY_RELEASE", default="") or None,
        traces_sample_rate=env.float("SENTRY_TRACES_SAMPLE_RATE", default=0.0),
    )

# --- Alerts -------------------------------------------------------------------------

# A room opened by alerts resolves itself this many seconds after its last alert
# resolved, when nobody wrote in it or acknowledged an alert; 0 = never.
ALERT_AUTO_RESOLVE_AFTER = env.int("ALERT_AUTO_RESOLVE_AFTER", default=300)
# Largest webhook body a receiver accepts (413 past it).
ALERT_MAX_BODY_BYTES = env.int("ALERT_MAX_BODY_BYTES", default=1024 * 1024)
