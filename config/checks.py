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
