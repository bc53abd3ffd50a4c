"""Writes to accounts: API tokens."""

import hashlib
import secrets

from django.db import transaction
from django.utils import timezone

from accounts.models import ApiToken

# Recognisable in logs and secret scanners; the rest is 256 random bits.
TOKEN_PREFIX = "wr_"


def hash_token_key(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


@transaction.atomic
def api_token_create(*, user, name, expires_at=None) -> tuple[ApiToken, str]:
    """Create a token for ``user``; returns it with its secret, which is never stored nor shown again."""
    key = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken.objects.create(
        user=user, name=name, expires_at=expires_at, key_prefix=key[:8], key_hash=hash_token_key(key)
    )
    return token, key


def api_token_revoke(*, token: ApiToken) -> bool:
    """Revoke ``token`` now; False when it was already revoked."""
    now = timezone.now()
    changed = ApiToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(revoked_at=now)
    if changed:
        token.revoked_at = now
    return bool(changed)
