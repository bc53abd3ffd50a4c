"""Directory login against a real OpenLDAP with AD-like people (see conftest)."""

import logging
import socket
import threading
import time

import pytest
from django.contrib.auth import authenticate, get_user_model
from django.test import RequestFactory
from django.urls import reverse

from accounts.ldap_config import DirectoryUserSearch
from accounts.operators import OPERATORS_GROUP
from tests import factories
from tests.accounts.conftest import (
    ADMINS_DN,
    ALICE_DN,
    BOB_DN,
    OPERATORS_DN,
    SERVICE_DN,
    SERVICE_PW,
    TEST_TIMEOUT_SECONDS,
    USER_PW,
    configure_directory,
)

pytestmark = pytest.mark.django_db
User = get_user_model()

UNAVAILABLE = "The directory is unavailable right now"
WRONG_PASSWORD = "Please enter a correct"


def log_in(client, username, password=USER_PW):
    return client.post(reverse("login"), {"username": username, "password": password}, HTTP_ACCEPT_LANGUAGE="en")


def page_text(response):
    return response.content.decode()


def test_first_login_creates_the_person_with_their_directory_fields(client, directory):
    response = log_in(client, "alice")

    assert response.status_code == 302
    assert response["Location"] == reverse("incidents:room-list")
    alice = User.objects.get()
    assert alice.username == "alice"
    assert alice.display_name == "陳愛麗 Alice Chen"
    assert alice.office_location == "Taipei HQ 5F"
    assert alice.job_title == "Incident Analyst"
    assert alice.email == "alice@example.com"
    assert (alice.first_name, alice.last_name) == ("Alice", "Chen")
    assert alice.source == User.Source.LDAP
    assert alice.last_login is not None
    assert not alice.has_usable_password()
    assert str(alice) == "陳愛麗 Alice Chen"
    # The pages show the person by display name, never by account id.
    rooms = client.get(reverse("incidents:room-list"))
    assert "陳愛麗 Alice Chen" in page_text(rooms)


def test_next_login_copies_changes_and_clears_attributes_removed_in_the_directory(client, directory):
    assert log_in(client, "alice").status_code == 302
    first_login = User.objects.get(username="alice").last_login
    client.logout()
    directory.modify(
        ALICE_DN,
        {
            "displayName": ["陳愛麗 Alice Chen-Wu"],
            "title": ["Incident Commander"],
            "physicalDeliveryOfficeName": None,
            "mail": ["alice.chen@example.com"],
            "sn": ["Chen-Wu"],
        },
    )

    assert log_in(client, "alice").status_code == 302

    alice = User.objects.get()
    assert alice.display_name == "陳愛麗 Alice Chen-Wu"
    assert alice.job_title == "Incident Commander"
    assert alice.office_location == ""
    assert alice.email == "alice.chen@example.com"
    assert alice.last_name == "Chen-Wu"
    assert alice.last_login > first_login


@pytest.mark.parametrize("typed", ["alice", "ALICE", "  Alice ", "alice@example.com", "ALICE@EXAMPLE.COM", "EXAMPLE\\alice"])
def test_every_spelling_of_an_account_reaches_the_same_row(client, directory, typed):
    factories.make_user(username="someone-else")
    assert log_in(client, "alice").status_code == 302
    client.logout()

    assert log_in(client, typed).status_code == 302

    assert User.objects.filter(source=User.Source.LDAP).count() == 1
    assert User.objects.get(source=User.Source.LDAP).username == "alice"


def test_upn_and_mail_that_differ_from_the_account_name_reach_the_account(client, directory):
    # bob's UPN is bob@corp.example.com and his mail bob.lin@example.com.
    for typed in ["bob@corp.example.com", "bob.lin@example.com", "BOB"]:
        assert log_in(client, typed).status_code == 302, typed
        client.logout()
    assert list(User.objects.values_list("username", flat=True)) == ["bob"]


def test_group_membership_gives_staff_and_losing_it_takes_it_away(client, directory):
    assert log_in(client, "alice").status_code == 302
    alice = User.objects.get(username="alice")
    assert alice.is_staff and not alice.is_superuser
    # The AD operator group maps to the Operators group: an admin with something in it.
    assert alice.groups.filter(name=OPERATORS_GROUP).exists()
    assert client.get(reverse("admin:reports_report_changelist")).status_code == 200
    client.logout()

    directory.modify(OPERATORS_DN, {"member": [BOB_DN]})
    assert log_in(client, "alice").status_code == 302

    alice.refresh_from_db()
    assert not alice.is_staff
    assert not alice.groups.filter(name=OPERATORS_GROUP).exists()
    assert client.get(reverse("admin:index")).status_code == 302


def test_admins_group_gives_superuser_and_losing_it_takes_it_away(client, directory):
    assert log_in(client, "bob").status_code == 302
    bob = User.objects.get(username="bob")
    assert bob.is_superuser and bob.is_staff
    assert client.get(reverse("admin:index")).status_code == 200
    client.logout()

    directory.modify(ADMINS_DN, {"member": [ALICE_DN]})
    assert log_in(client, "bob").status_code == 302

    bob.refresh_from_db()
    assert not bob.is_superuser
    assert bob.is_staff  # still in Warroom Operators


def test_wrong_password_says_so_and_creates_nobody(client, directory):
    response = log_in(client, "alice", "not-her-password")

    assert response.status_code == 200
    assert WRONG_PASSWORD in page_text(response)
    assert UNAVAILABLE not in page_text(response)
    assert not User.objects.exists()
    assert "_auth_user_id" not in client.session


def test_unknown_account_is_refused_like_a_wrong_password(client, directory):
    response = log_in(client, "mallory")
    assert WRONG_PASSWORD in page_text(response)
    assert not User.objects.exists()


def test_an_empty_password_never_reaches_the_directory_as_an_anonymous_bind(directory, rf):
    # An LDAP simple bind with an empty password "succeeds" anonymously; it must not log anyone in.
    assert authenticate(rf.post("/"), username="alice", password="") is None


INJECTIONS = ["*", "ali*", "*)(uid=*", "admin)(|(a=*", "alice)(|(sAMAccountName=*", "alice\x00", "\x00", "alice\\2a", "*@example.com"]


@pytest.mark.parametrize("typed", INJECTIONS)
def test_injection_shaped_names_fail_even_with_a_real_password(directory, typed):
    request = RequestFactory().post("/")
    assert authenticate(request, username=typed, password=USER_PW) is None
    assert not User.objects.exists()


def test_injection_names_on_the_login_page_simply_fail(client, directory):
    for typed in ["*", "admin)(|(a=*", "*)(uid=*", "alice\x00"]:
        response = log_in(client, typed)
        assert response.status_code == 200, typed
        assert "_auth_user_id" not in client.session
    assert not User.objects.exists()


def test_the_user_search_escapes_what_it_is_given(directory):
    """Even without the account-name check in front, a wildcard finds no one (it is escaped)."""
    import ldap

    from django.conf import settings

    search: DirectoryUserSearch = settings.AUTH_LDAP_USER_SEARCH
    connection = ldap.initialize(directory.uri)
    connection.simple_bind_s(SERVICE_DN, SERVICE_PW)
    assert len(search.execute(connection, {"user": "alice"})) == 1
    assert len(search.execute(connection, {"user": "alice@example.com"})) == 1
    for typed in ["*", "a*", "*)(sAMAccountName=*", "*@example.com"]:
        assert search.execute(connection, {"user": typed}) == [], typed


def test_a_local_account_is_not_taken_over_by_the_directory_account_of_the_same_name(client, directory):
    local = factories.make_user(username="alice", display_name="Local Alice", is_superuser=True, staff=True)

    response = log_in(client, "alice")  # the directory password, not the local one

    assert response.status_code == 200
    assert "same name as a local Warroom account" in page_text(response)
    local.refresh_from_db()
    assert (local.source, local.display_name, local.is_superuser) == (User.Source.LOCAL, "Local Alice", True)
    # The local (break-glass) password still works.
    assert log_in(client, "alice", factories.PASSWORD).status_code == 302


def test_a_mail_already_used_by_another_account_is_not_copied(client, directory, caplog):
    factories.make_user(username="alice-local", email="Alice@Example.com")

    with caplog.at_level(logging.WARNING, logger="accounts.ldap"):
        assert log_in(client, "alice").status_code == 302

    alice = User.objects.get(username="alice")
    assert alice.email == ""
    assert alice.display_name == "陳愛麗 Alice Chen"
    assert "already used by account alice-local" in caplog.text


def _assert_unavailable(response, elapsed):
    assert response.status_code == 200
    assert UNAVAILABLE in page_text(response)
    assert WRONG_PASSWORD not in page_text(response)
    assert elapsed < TEST_TIMEOUT_SECONDS + 3, elapsed


def test_a_stopped_directory_is_reported_as_unavailable_at_once(client, settings, stopped_directory, caplog):
    configure_directory(settings, stopped_directory)

    with caplog.at_level(logging.ERROR, logger="accounts.ldap"):
        started = time.monotonic()
        response = log_in(client, "alice")
        elapsed = time.monotonic() - started

    _assert_unavailable(response, elapsed)
    assert "SERVER_DOWN" in caplog.text  # the cause is logged


@pytest.fixture
def silent_server():
    """A port that accepts connections and never answers."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    accepted = []
    stop = threading.Event()

    def accept():
        listener.settimeout(0.1)
        while not stop.is_set():
            try:
                accepted.append(listener.accept()[0])
            except (TimeoutError, OSError):
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield f"ldap://127.0.0.1:{listener.getsockname()[1]}", accepted
    stop.set()
    thread.join(timeout=5)
    for connection in accepted:
        connection.close()
    listener.close()


def test_a_directory_that_never_answers_is_given_up_after_the_timeout(client, settings, silent_server, caplog):
    uri, accepted = silent_server
    configure_directory(settings, uri)

    with caplog.at_level(logging.ERROR, logger="accounts.ldap"):
        started = time.monotonic()
        response = log_in(client, "alice")
        elapsed = time.monotonic() - started

    _assert_unavailable(response, elapsed)
    assert elapsed >= TEST_TIMEOUT_SECONDS - 0.5  # it did wait for the directory, then gave up
    assert accepted, "the login never reached the silent server"
    assert "TIMEOUT" in caplog.text


def test_local_accounts_log_in_while_the_directory_is_down(client, settings, stopped_directory):
    configure_directory(settings, stopped_directory)
    factories.make_user(username="breakglass", display_name="Break Glass", staff=True, is_superuser=True)

    started = time.monotonic()
    response = log_in(client, "breakglass", factories.PASSWORD)

    assert response.status_code == 302
    assert response["Location"] == reverse("incidents:room-list")
    assert time.monotonic() - started < TEST_TIMEOUT_SECONDS + 3
    assert client.get(reverse("admin:index")).status_code == 200


def test_a_directory_login_after_a_session_loads_the_same_user(client, directory):
    assert log_in(client, "alice").status_code == 302
    response = client.get(reverse("incidents:room-list"))
    assert response.status_code == 200
    assert response.wsgi_request.user.username == "alice"
