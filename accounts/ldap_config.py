"""The django-auth-ldap settings, built from environment variables.

``config/settings.py`` calls :func:`directory_settings` when
``AUTH_LDAP_SERVER_URI`` is set; the tests call it too, with the address of the
directory they start, so that they exercise the configuration production runs.
docs/configuration.md documents every variable.

This module is imported while settings load: it may import ``ldap`` and
``django_auth_ldap.config`` (made for that), never models or the backend.
"""

from collections.abc import Mapping
from typing import Any

import ldap
from django_auth_ldap.config import LDAPGroupQuery, LDAPSearch, MemberDNGroupType, NestedMemberDNGroupType

DEFAULT_USER_FILTER = "(sAMAccountName=%(user)s)"
# Used instead of the user filter when someone types a user@domain name.
DEFAULT_USER_UPN_FILTER = "(|(userPrincipalName=%(user)s)(mail=%(user)s))"
# Active Directory groups are objectClass=group; OpenLDAP's are groupOfNames.
DEFAULT_GROUP_FILTER = "(|(objectClass=group)(objectClass=groupOfNames))"
# Warroom field <- directory attribute. A field whose attribute is missing is cleared.
DEFAULT_USER_ATTR_MAP = {
    "first_name": "givenName",
    "last_name": "sn",
    "email": "mail",
    "display_name": "displayName",
    "office_location": "physicalDeliveryOfficeName",
    "job_title": "title",
}
TLS_REQUIRE_CERT = {
    "demand": ldap.OPT_X_TLS_DEMAND,
    "hard": ldap.OPT_X_TLS_HARD,
    "allow": ldap.OPT_X_TLS_ALLOW,
    "try": ldap.OPT_X_TLS_TRY,
    "never": ldap.OPT_X_TLS_NEVER,
}
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


class DirectoryUserSearch(LDAPSearch):
    """The user search: by account name, or by UPN/mail when the name has an ``@``.

    People type ``alice``, ``ALICE`` or ``alice@example.com``; the account-name
    filter (``sAMAccountName`` in AD) cannot match the last one, so a name with an
    ``@`` is looked up with the UPN filter instead. django-auth-ldap escapes the
    value in both cases; ``accounts.ldap`` also refuses filter metacharacters
    before any search is made.
    """

    def __init__(self, base_dn, scope, filterstr, upn_filterstr, attrlist=None):
        super().__init__(base_dn, scope, filterstr, attrlist)
        self.upn_filterstr = upn_filterstr

    def execute(self, connection, filterargs=(), escape=True):
        if isinstance(filterargs, dict) and "@" in filterargs.get("user", ""):
            search = LDAPSearch(self.base_dn, self.scope, self.upn_filterstr, self.attrlist)
            return search.execute(connection, filterargs, escape)
        return super().execute(connection, filterargs, escape)

    def search_with_additional_terms(self, term_dict, escape=True):
        raise NotImplementedError("DirectoryUserSearch is only used to find users.")

    def search_with_additional_term_string(self, filterstr):
        raise NotImplementedError("DirectoryUserSearch is only used to find users.")


def _bool(environ, name, default):
    value = environ.get(name)
    if value is None:
        return default
    value = value.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ValueError(f"{name} must be true or false, not {value!r}")


def _float(environ, name, default):
    value = environ.get(name, "").strip()
    return float(value) if value else default


def _str(environ, name, default=""):
    value = environ.get(name)
    return default if value is None or value.strip() == "" else value.strip()


def directory_settings(environ: Mapping[str, str]) -> dict[str, Any]:
    """Every ``AUTH_LDAP_*`` Django setting, from the ``AUTH_LDAP_*`` environment variables."""
    server_uri = _str(environ, "AUTH_LDAP_SERVER_URI")
    if not server_uri:
        raise ValueError("AUTH_LDAP_SERVER_URI is not set")
    user_search_base = _str(environ, "AUTH_LDAP_USER_SEARCH_BASE")
    if not user_search_base:
        raise ValueError("AUTH_LDAP_USER_SEARCH_BASE is required with AUTH_LDAP_SERVER_URI")

    # Active Directory answers searches at the domain root with referrals that
    # python-ldap would chase anonymously (and hang on); the timeouts bound
    # connecting (network) and every operation (bind, search, compare), so a
    # directory that is down or stuck turns into an error within seconds.
    options = {
        ldap.OPT_REFERRALS: 0,
        ldap.OPT_PROTOCOL_VERSION: 3,
        ldap.OPT_NETWORK_TIMEOUT: _float(environ, "AUTH_LDAP_NETWORK_TIMEOUT", 5.0),
        ldap.OPT_TIMEOUT: _float(environ, "AUTH_LDAP_TIMEOUT", 5.0),
    }
    start_tls = _bool(environ, "AUTH_LDAP_START_TLS", False)
    ca_file = _str(environ, "AUTH_LDAP_CA_FILE")
    require_cert = _str(environ, "AUTH_LDAP_TLS_REQUIRE_CERT", "demand").lower()
    if require_cert not in TLS_REQUIRE_CERT:
        raise ValueError(f"AUTH_LDAP_TLS_REQUIRE_CERT must be one of {', '.join(TLS_REQUIRE_CERT)}")
    if start_tls or server_uri.lower().startswith("ldaps://") or ca_file:
        if ca_file:
            options[ldap.OPT_X_TLS_CACERTFILE] = ca_file
        options[ldap.OPT_X_TLS_REQUIRE_CERT] = TLS_REQUIRE_CERT[require_cert]
        # libldap applies the TLS options above only to a new TLS context; this must come last.
        options[ldap.OPT_X_TLS_NEWCTX] = 0

    username_attr = _str(environ, "AUTH_LDAP_USERNAME_ATTR", "sAMAccountName")
    attr_map = dict(DEFAULT_USER_ATTR_MAP)
    user_search = DirectoryUserSearch(
        user_search_base,
        ldap.SCOPE_SUBTREE,
        _str(environ, "AUTH_LDAP_USER_FILTER", DEFAULT_USER_FILTER),
        _str(environ, "AUTH_LDAP_USER_UPN_FILTER", DEFAULT_USER_UPN_FILTER),
        # Only what Warroom reads; AD entries carry large attributes (thumbnailPhoto, certificates).
        attrlist=sorted({username_attr, *attr_map.values()}),
    )

    staff_group = _str(environ, "AUTH_LDAP_STAFF_GROUP_DN")
    superuser_group = _str(environ, "AUTH_LDAP_SUPERUSER_GROUP_DN")
    flags = {}
    if superuser_group:
        flags["is_superuser"] = LDAPGroupQuery(superuser_group)
    if staff_group and superuser_group:
        # An administrator must reach the admin site, which needs is_staff.
        flags["is_staff"] = LDAPGroupQuery(staff_group) | LDAPGroupQuery(superuser_group)
    elif staff_group or superuser_group:
        flags["is_staff"] = LDAPGroupQuery(staff_group or superuser_group)

    nested = _bool(environ, "AUTH_LDAP_NESTED_GROUPS", False)
    group_type = NestedMemberDNGroupType("member") if nested else MemberDNGroupType("member")
    group_search = LDAPSearch(
        _str(environ, "AUTH_LDAP_GROUP_SEARCH_BASE", user_search_base),
        ldap.SCOPE_SUBTREE,
        _str(environ, "AUTH_LDAP_GROUP_FILTER", DEFAULT_GROUP_FILTER),
    )

    return {
        "AUTH_LDAP_SERVER_URI": server_uri,
        "AUTH_LDAP_BIND_DN": _str(environ, "AUTH_LDAP_BIND_DN"),
        "AUTH_LDAP_BIND_PASSWORD": environ.get("AUTH_LDAP_BIND_PASSWORD", ""),
        "AUTH_LDAP_START_TLS": start_tls,
        "AUTH_LDAP_CONNECTION_OPTIONS": options,
        "AUTH_LDAP_USER_SEARCH": user_search,
        "AUTH_LDAP_USER_ATTR_MAP": attr_map,
        "AUTH_LDAP_USERNAME_ATTR": username_attr,
        "AUTH_LDAP_ALWAYS_UPDATE_USER": True,
        "AUTH_LDAP_GROUP_SEARCH": group_search,
        "AUTH_LDAP_GROUP_TYPE": group_type,
        "AUTH_LDAP_USER_FLAGS_BY_GROUP": flags,
        "AUTH_LDAP_MIRROR_GROUPS": _bool(environ, "AUTH_LDAP_MIRROR_GROUPS", False) or None,
        "AUTH_LDAP_FIND_GROUP_PERMS": False,
        "AUTH_LDAP_CACHE_TIMEOUT": 0,
    }
