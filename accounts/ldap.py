"""Directory (Active Directory) login: django-auth-ldap, with what Warroom adds around it.

- The typed account name is normalised (``alice``, ``ALICE``, ``EXAMPLE\\alice`` and
  ``alice@example.com`` reach the same person) and names carrying LDAP filter
  metacharacters or control characters are refused before any search.
- The Warroom username is the directory's own account name (``sAMAccountName``),
  so every spelling lands on one row.
- Every login upserts the row: the directory fields are copied, and a field whose
  attribute is gone from the directory is cleared rather than left stale.
- django-auth-ldap swallows directory errors and answers "no such user"; here the
  error is logged with its cause and recorded on the request, so the login page
  can say the directory is unavailable instead of "wrong password".
- Membership of the AD operator group (``AUTH_LDAP_STAFF_GROUP_DN``) gives staff status
  and the ``Operators`` group's admin permissions, and losing it takes both away.
- A directory login never takes over a local account (a break-glass admin, a demo
  user): a local row with the same account name refuses the directory login, and a
  ``mail`` already used by another account is not copied (see docs/configuration.md).
"""

import logging
import re

from django.core.exceptions import PermissionDenied
from django_auth_ldap.backend import LDAPBackend, ldap_error, populate_user

logger = logging.getLogger(__name__)

# What the login form may learn about a failed directory login (see directory_problem).
UNAVAILABLE = "unavailable"
LOCAL_ACCOUNT_CONFLICT = "local_account_conflict"
_PROBLEM_ATTR = "_warroom_directory_problem"

# LDAP filter metacharacters, characters AD forbids in account names, and control characters (NUL among them).
_FORBIDDEN = re.compile(r'[\x00-\x1f\x7f*()\\"/\[\]:;|=,+?<>]')
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_DOMAIN = re.compile(r"[A-Za-z0-9][A-Za-z0-9.\-]*")
MAX_LOGIN_LENGTH = 256


def normalise_login(raw) -> str | None:
    """The account name to look up, in lower case, or None when it cannot be one.

    ``EXAMPLE\\alice`` (a down-level logon name) becomes ``alice``; ``alice@example.com``
    is kept whole and looked up by userPrincipalName or mail.
    """
    if not isinstance(raw, str):
        return None
    name = raw.strip()
    if "\\" in name:
        domain, _, name = name.partition("\\")
        if not _DOMAIN.fullmatch(domain):
            return None
    name = name.strip().lower()
    if not name or len(name) > MAX_LOGIN_LENGTH or _FORBIDDEN.search(name):
        return None
    if name.count("@") > 1 or name.startswith("@") or name.endswith("@"):
        return None
    return name


def directory_problem(request) -> str | None:
    """Why the directory could not decide on this request's login, if it could not."""
    return getattr(request, _PROBLEM_ATTR, None)


def _record_problem(request, problem):
    if request is not None:
        setattr(request, _PROBLEM_ATTR, problem)


def describe_ldap_error(exc) -> str:
    """``SERVER_DOWN: Can't contact LDAP server (Connection refused)`` from python-ldap's dict args."""
    detail = exc.args[0] if exc.args and isinstance(exc.args[0], dict) else {}
    text = detail.get("desc") or str(exc) or "no detail"
    if detail.get("info"):
        text = f"{text} ({detail['info']})"
    return f"{type(exc).__name__}: {text}"


class DirectoryBackend(LDAPBackend):
    """django-auth-ldap's backend, configured by accounts.ldap_config.directory_settings."""

    default_settings = {"USERNAME_ATTR": "sAMAccountName"}

    def authenticate(self, request, username=None, password=None, **kwargs):
        if isinstance(username, str) and _CONTROL.search(username):
            # No account of any kind has control characters (NUL breaks PostgreSQL
            # queries): stop every backend here, not only this one.
            logger.info("Login refused: the account name contains control characters")
            raise PermissionDenied
        login = normalise_login(username)
        if login is None:
            if username:
                logger.info("Directory login refused before any search: the account name is not valid")
            return None
        self._request = request
        return super().authenticate(request, username=login, password=password, **kwargs)

    def authenticate_ldap_user(self, ldap_user, password):
        user = super().authenticate_ldap_user(ldap_user, password)
        if user is not None and "is_staff" in (self.settings.USER_FLAGS_BY_GROUP or {}):
            # The AD operator group decides is_staff at every login; the Operators group
            # (the admin permissions) follows it, both ways.
            from accounts.operators import sync_operator_membership

            sync_operator_membership(user)
        return user

    def get_or_build_user(self, username, ldap_user):
        model = self.get_user_model()
        username = self._directory_username(username, ldap_user)
        user = model.objects.filter(username__iexact=username).first()
        if user is None:
            return model(username=username, source=model.Source.LDAP), True
        if user.source != model.Source.LDAP:
            logger.warning(
                "Directory login of %s refused: a local account has that name; an operator may set its "
                "source to Directory to link them",
                username,
            )
            _record_problem(getattr(self, "_request", None), LOCAL_ACCOUNT_CONFLICT)
            raise ldap_user.AuthenticationFailed("a local account has this name")
        return user, False

    def _directory_username(self, typed, ldap_user):
        """The directory's account name (so that every spelling is one row), else what was typed."""
        values = (ldap_user.attrs or {}).get(self.settings.USERNAME_ATTR) or []
        value = _text(values[0]).strip().lower() if values else ""
        return value or typed


def _text(value) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


def _populate_from_directory(sender, user, ldap_user, **kwargs):
    """Copy every mapped attribute, clearing fields whose attribute the directory no longer has."""
    if not (isinstance(sender, type) and issubclass(sender, DirectoryBackend)):
        return
    attrs = ldap_user.attrs or {}
    model = type(user)
    for field_name, attribute in ldap_user.settings.USER_ATTR_MAP.items():
        values = attrs.get(attribute) or []
        value = _text(values[0]).strip() if values else ""
        max_length = model._meta.get_field(field_name).max_length
        setattr(user, field_name, value[:max_length] if max_length else value)
    if user.email:
        holder = model.objects.filter(email__iexact=user.email).exclude(pk=user.pk).first()
        if holder is not None:
            # The address is the unique directory identity; another account holds it
            # (a local account, or a second directory account of the same person).
            # Neither account is changed behind an operator's back: this one goes without it.
            logger.warning(
                "Directory user %s: mail %s is already used by account %s; leaving the email empty",
                user.username, user.email, holder.username,
            )
            user.email = ""
    user.source = model.Source.LDAP


def _directory_error(sender, context, user, request, exception, **kwargs):
    if not (isinstance(sender, type) and issubclass(sender, DirectoryBackend)):
        return
    logger.error("Directory unavailable (%s): %s", context, describe_ldap_error(exception))
    _record_problem(request, UNAVAILABLE)


populate_user.connect(_populate_from_directory, dispatch_uid="accounts.ldap.populate")
ldap_error.connect(_directory_error, dispatch_uid="accounts.ldap.error")
