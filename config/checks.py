"""Warroom's own deployment checks (``manage.py check --deploy``)."""

from django.conf import settings
from django.core import checks

# Keys that were ever published (an old docker-compose default, the Dockerfile's build key).
KNOWN_SECRET_KEYS = {
    "change-me-in-production-please-0123456789-abcdefghij",
    "build-only",
}


@checks.register(checks.Tags.security, deploy=True)
def secret_key_is_not_a_published_default(app_configs, **kwargs):
    if settings.SECRET_KEY in KNOWN_SECRET_KEYS:
        return [
            checks.Error(
                "DJANGO_SECRET_KEY is a published default; anyone can forge sessions and signed values.",
                hint='Set DJANGO_SECRET_KEY to a long random value: python -c "import secrets; print(secrets.token_urlsafe(50))"',
                id="warroom.E001",
            )
        ]
    return []


@checks.register(checks.Tags.compatibility, deploy=True)
def metrics_cover_the_worker(app_configs, **kwargs):
    """/metrics on, a separate worker (Redis, plain or through Sentinel), no shared PROMETHEUS_MULTIPROC_DIR:
    the worker's counters are missing."""
    import os

    if settings.METRICS_TOKEN and settings.REDIS_TARGET is not None and not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        return [
            checks.Warning(
                "METRICS_TOKEN is set but PROMETHEUS_MULTIPROC_DIR is not: /metrics shows only the web process "
                "that answers, without the worker's task and report counters.",
                hint="Set PROMETHEUS_MULTIPROC_DIR to one directory shared by every web process and worker "
                     "(docs/operations.md).",
                id="warroom.W002",
            )
        ]
    return []
