"""Login throttling against password guessing: failures counted per account name and per client address.

Counters live in the Django cache (Redis in production, so every web process
shares them) for a fixed window that starts at the first failure. A cache that
is down must not lock everyone out: it is logged and the login goes ahead.
"""

import hashlib
import logging

from django.conf import settings
from django.core.cache import cache

logger = logging.getLogger(__name__)


def client_address(request) -> str:
    """The client's address; behind a trusted proxy, the one the proxy appended to X-Forwarded-For."""
    if settings.LOGIN_TRUST_X_FORWARDED_FOR:
        forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
        if forwarded.strip():
            return forwarded.split(",")[-1].strip()
    return request.META.get("REMOTE_ADDR", "") or "unknown"


def _account_key(username: str) -> str:
    # One counter for ALICE, alice, EXAMPLE\alice and alice@example.com.
    name = username.strip().lower().rsplit("\\", 1)[-1].split("@", 1)[0]
    return "login-failures:account:" + hashlib.sha256(name.encode("utf-8", "replace")).hexdigest()


def _address_key(address: str) -> str:
    return "login-failures:address:" + hashlib.sha256(address.encode()).hexdigest()


class LoginThrottle:
    def __init__(self, request, username: str):
        self.keys = {
            _account_key(username): settings.LOGIN_MAX_FAILURES_PER_ACCOUNT,
            _address_key(client_address(request)): settings.LOGIN_MAX_FAILURES_PER_ADDRESS,
        }
        self.account_key = _account_key(username)
        self.window = settings.LOGIN_FAILURE_WINDOW_SECONDS

    def is_locked(self) -> bool:
        try:
            counts = cache.get_many(list(self.keys))
        except Exception:  # noqa: BLE001 - a cache outage must not stop people logging in
            logger.exception("Login throttle: the cache is unavailable; not throttling")
            return False
        return any(counts.get(key, 0) >= limit for key, limit in self.keys.items())

    def record_failure(self) -> None:
        for key in self.keys:
            try:
                cache.add(key, 0, self.window)
                cache.incr(key)
            except ValueError:
                # Expired between add and incr: start a new window.
                cache.set(key, 1, self.window)
            except Exception:  # noqa: BLE001
                logger.exception("Login throttle: the cache is unavailable; failure not counted")

    def reset_account(self) -> None:
        try:
            cache.delete(self.account_key)
        except Exception:  # noqa: BLE001
            logger.exception("Login throttle: the cache is unavailable")
