"""Settings of the bare DRF baseline (bench/bare_drf): DRF, one app, the database; nothing Warroom adds."""

import environ

env = environ.Env()
SECRET_KEY = "bench-bare-drf"
DEBUG = False
ALLOWED_HOSTS = ["*"]
USE_TZ = True
ROOT_URLCONF = "bench.bare_drf.urls"
INSTALLED_APPS = ["django.contrib.contenttypes", "django.contrib.auth", "rest_framework", "bench.bare_drf"]
MIDDLEWARE = []
DATABASES = {"default": environ.Env.db_url_config(env("DATABASE_URL"))}
# The same connection handling as Warroom's settings, so the comparison is of the code above it.
if env.bool("DATABASE_POOL", default=True):
    DATABASES["default"]["OPTIONS"] = {"pool": {"min_size": 2, "max_size": env.int("DATABASE_POOL_MAX_SIZE", default=20)}}
else:
    DATABASES["default"]["CONN_MAX_AGE"] = env.int("DATABASE_CONN_MAX_AGE", default=0)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.AllowAny"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "UNAUTHENTICATED_USER": None,
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 50,
}
