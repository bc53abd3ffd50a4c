"""Login throttling that slows password guessing without locking the real owner out.

Counters live in the Django cache (Redis in production, so every web process
shares them) for a fixed window that starts at the first failure:

- per (account, address): a few failures lock that account *from that address*
  only, so a stranger elsewhere cannot lock the on-call operator out by naming them;
- per address: many failures (any names) lock the address, the limit for a guesser
  trying many accounts;
- per account, from every address: a high bound on distributed guessing.

A browser that logged in to an account before carries a signed known-device
cookie; for that account it is counted on its own (account, device) counter and
none of the others, so an attacker's failures never lock the owner's own browser.

The client address is the peer's, unless the peer is one of ``TRUSTED_PROXIES``;
then it is the nearest ``X-Forwarded-For`` hop that is not a trusted proxy.
A cache that is down must not lock everyone out: it is logged and the login goes ahead.
"""

import hashlib
import ipaddress
import logging
import secrets

from django.conf import settings
from django.core import signing
from django.core.cache import cache

logger = logging.getLogger(__name__)

DEVICE_COOKIE = "warroom_device"
DEVICE_SALT = "accounts.login.known-device"
DEVICE_MAX_AGE = 365 * 24 * 3600
# Accounts remembered per browser (a shared workstation has a few).
DEVICE_MAX_ACCOUNTS = 5


def _networks(values):
    networks = []
    for value in values:
        try:
            networks.append(ipaddress.ip_network(value.strip(), strict=False))
        except ValueError:
            logger.error("TRUSTED_PROXIES: %r is not an address or network; ignored", value)
    return networks


def _is_trusted(address: str, networks) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in network for network in networks)


def client_address(request) -> str:
    """The client's address: the peer's, or behind trusted proxies the nearest untrusted forwarded hop."""
    remote = request.META.get("REMOTE_ADDR", "") or "unknown"
    networks = _networks(settings.TRUSTED_PROXIES)
    if not networks or not _is_trusted(remote, networks):
        return remote
    hops = [hop.strip() for hop in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if hop.strip()]
    for hop in reversed(hops):
        try:
            ipaddress.ip_address(hop)
        except ValueError:
            # A proxy writes addresses; anything else was sent by the client: stop trusting here.
            return remote
        if not _is_trusted(hop, networks):
            return hop
    return hops[0] if hops else remote


def account_name(username: str) -> str:
    # One name for ALICE, alice, EXAMPLE\alice and alice@example.com.
    return username.strip().lower().rsplit("\\", 1)[-1].split("@", 1)[0]


def _digest(*parts: str) -> str:
    return hashlib.sha256("\x00".join(parts).encode("utf-8", "replace")).hexdigest()


def _known_device(request, account: str) -> str | None:
    """The device id of this browser if it logged in to ``account`` before."""
    raw = request.COOKIES.get(DEVICE_COOKIE)
    if not raw:
        return None
    try:
        value = signing.loads(raw, salt=DEVICE_SALT, max_age=DEVICE_MAX_AGE)
    except signing.BadSignature:
        return None
    if not isinstance(value, dict) or _digest(account) not in (value.get("a") or []):
        return None
    return str(value.get("d") or "") or None


def remember_device(request, response, username: str) -> None:
    """After a successful login: mark this browser as known for the account."""
    account = _digest(account_name(username))
    value = {"d": secrets.token_hex(16), "a": []}
    raw = request.COOKIES.get(DEVICE_COOKIE)
    if raw:
        try:
            old = signing.loads(raw, salt=DEVICE_SALT, max_age=DEVICE_MAX_AGE)
            if isinstance(old, dict) and old.get("d"):
                value = {"d": str(old["d"]), "a": list(old.get("a") or [])}
        except signing.BadSignature:
            pass
    value["a"] = ([account] + [a for a in value["a"] if a != account])[:DEVICE_MAX_ACCOUNTS]
    response.set_cookie(
        DEVICE_COOKIE, signing.dumps(value, salt=DEVICE_SALT), max_age=DEVICE_MAX_AGE,
        secure=settings.SESSION_COOKIE_SECURE, httponly=True, samesite="Lax",
    )


class LoginThrottle:
    def __init__(self, request, username: str):
        account = account_name(username)
        device = _known_device(request, account)
        if device:
            self.keys = {"login-failures:device:" + _digest(account, device): settings.LOGIN_MAX_FAILURES_PER_ACCOUNT}
            self.reset_keys = list(self.keys)
        else:
            address = client_address(request)
            pair = "login-failures:pair:" + _digest(account, address)
            self.keys = {
                pair: settings.LOGIN_MAX_FAILURES_PER_ACCOUNT,
                "login-failures:address:" + _digest(address): settings.LOGIN_MAX_FAILURES_PER_ADDRESS,
                "login-failures:account:" + _digest(account): settings.LOGIN_MAX_FAILURES_PER_ACCOUNT_ALL_ADDRESSES,
            }
            self.reset_keys = [pair]
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
            cache.delete_many(self.reset_keys)
        except Exception:  # noqa: BLE001
            logger.exception("Login throttle: the cache is unavailable")
