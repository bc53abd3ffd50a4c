"""The directory configuration built from environment variables, and account-name normalisation."""

import json
import os
import subprocess
import sys

import ldap
import pytest

from accounts.ldap import normalise_login
from accounts.ldap_config import DEFAULT_USER_FILTER, directory_settings
from tests.services import ROOT

MINIMAL = {"AUTH_LDAP_SERVER_URI": "ldap://dc1.example.com", "AUTH_LDAP_USER_SEARCH_BASE": "DC=example,DC=com"}


def test_active_directory_defaults():
    built = directory_settings(MINIMAL)
    options = built["AUTH_LDAP_CONNECTION_OPTIONS"]
    assert options[ldap.OPT_REFERRALS] == 0
    assert options[ldap.OPT_NETWORK_TIMEOUT] == 5.0
    assert options[ldap.OPT_TIMEOUT] == 5.0
    assert built["AUTH_LDAP_USER_SEARCH"].filterstr == DEFAULT_USER_FILTER == "(sAMAccountName=%(user)s)"
    assert built["AUTH_LDAP_USER_ATTR_MAP"] == {
        "first_name": "givenName",
        "last_name": "sn",
        "email": "mail",
        "display_name": "displayName",
        "office_location": "physicalDeliveryOfficeName",
        "job_title": "title",
    }
    assert built["AUTH_LDAP_ALWAYS_UPDATE_USER"] is True
    assert built["AUTH_LDAP_FIND_GROUP_PERMS"] is False
    assert built["AUTH_LDAP_USER_FLAGS_BY_GROUP"] == {}
    assert built["AUTH_LDAP_START_TLS"] is False
    assert ldap.OPT_X_TLS_NEWCTX not in options


def test_timeouts_groups_and_start_tls_come_from_the_environment():
    built = directory_settings(
        {
            **MINIMAL,
            "AUTH_LDAP_NETWORK_TIMEOUT": "3",
            "AUTH_LDAP_TIMEOUT": "7.5",
            "AUTH_LDAP_START_TLS": "true",
            "AUTH_LDAP_CA_FILE": "/etc/ssl/certs/corp-ca.pem",
            "AUTH_LDAP_STAFF_GROUP_DN": "CN=Warroom Operators,OU=Groups,DC=example,DC=com",
            "AUTH_LDAP_SUPERUSER_GROUP_DN": "CN=Warroom Admins,OU=Groups,DC=example,DC=com",
        }
    )
    options = built["AUTH_LDAP_CONNECTION_OPTIONS"]
    assert (options[ldap.OPT_NETWORK_TIMEOUT], options[ldap.OPT_TIMEOUT]) == (3.0, 7.5)
    assert built["AUTH_LDAP_START_TLS"] is True
    assert options[ldap.OPT_X_TLS_CACERTFILE] == "/etc/ssl/certs/corp-ca.pem"
    assert options[ldap.OPT_X_TLS_REQUIRE_CERT] == ldap.OPT_X_TLS_DEMAND
    # libldap builds the TLS context from the options set before NEWCTX, so it must be the last one.
    assert list(options)[-1] == ldap.OPT_X_TLS_NEWCTX
    flags = built["AUTH_LDAP_USER_FLAGS_BY_GROUP"]
    assert set(flags) == {"is_staff", "is_superuser"}
    # Administrators are operators too: is_staff is "Operators OR Admins".
    assert len(flags["is_staff"].children) == 2


def test_ldaps_gets_the_tls_options_without_start_tls():
    built = directory_settings({**MINIMAL, "AUTH_LDAP_SERVER_URI": "ldaps://dc1.example.com:636"})
    assert built["AUTH_LDAP_START_TLS"] is False
    assert ldap.OPT_X_TLS_REQUIRE_CERT in built["AUTH_LDAP_CONNECTION_OPTIONS"]


@pytest.mark.parametrize(
    "env, message",
    [
        ({"AUTH_LDAP_SERVER_URI": "ldap://dc1"}, "AUTH_LDAP_USER_SEARCH_BASE"),
        ({**MINIMAL, "AUTH_LDAP_START_TLS": "maybe"}, "AUTH_LDAP_START_TLS"),
        ({**MINIMAL, "AUTH_LDAP_TLS_REQUIRE_CERT": "sometimes"}, "AUTH_LDAP_TLS_REQUIRE_CERT"),
    ],
)
def test_a_mistake_in_the_configuration_stops_the_start(env, message):
    with pytest.raises(ValueError, match=message):
        directory_settings(env)


@pytest.mark.parametrize(
    "typed, expected",
    [
        ("alice", "alice"),
        ("  ALICE ", "alice"),
        ("Alice@Example.COM", "alice@example.com"),
        ("EXAMPLE\\Alice", "alice"),
        ("first.last-2_x", "first.last-2_x"),
        ("", None),
        ("*", None),
        ("ali*", None),
        ("*)(uid=*", None),
        ("admin)(|(a=*", None),
        ("alice\x00", None),
        ("a@b@c", None),
        ("alice@", None),
        ("bad domain\\alice", None),
        ("EXAMPLE\\", None),
        ("x" * 300, None),
        (None, None),
    ],
)
def test_account_names_are_normalised_or_refused(typed, expected):
    assert normalise_login(typed) == expected


def _settings_in_a_fresh_process(env_updates, tmp_path):
    code = (
        "import json, django; django.setup(); from django.conf import settings as s; "
        "print(json.dumps({'backends': s.AUTHENTICATION_BACKENDS, 'uri': getattr(s, 'AUTH_LDAP_SERVER_URI', None), "
        "'session_secure': s.SESSION_COOKIE_SECURE, 'csrf_secure': s.CSRF_COOKIE_SECURE, "
        "'drf_auth': s.REST_FRAMEWORK['DEFAULT_AUTHENTICATION_CLASSES']}))"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("AUTH_LDAP_")}
    env.update({"DJANGO_SETTINGS_MODULE": "config.settings", "WARROOM_VAR_DIR": str(tmp_path), **env_updates})
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_settings_put_the_directory_before_local_accounts_only_when_a_server_is_named(tmp_path):
    plain = _settings_in_a_fresh_process({}, tmp_path)
    assert plain["backends"] == ["django.contrib.auth.backends.ModelBackend"]
    assert plain["uri"] is None

    with_directory = _settings_in_a_fresh_process({**MINIMAL, "DJANGO_HTTPS": "true"}, tmp_path)
    assert with_directory["backends"] == ["accounts.ldap.DirectoryBackend", "django.contrib.auth.backends.ModelBackend"]
    assert with_directory["uri"] == "ldap://dc1.example.com"
    assert with_directory["session_secure"] is True and with_directory["csrf_secure"] is True
    assert with_directory["drf_auth"][0] == "accounts.authentication.TokenAuthentication"
