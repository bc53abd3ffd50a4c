"""The login and logout pages with local accounts: landing, throttling, CSRF."""

import pytest
from django.urls import reverse

from tests import factories

pytestmark = pytest.mark.django_db

THROTTLED = "Too many failed logins"


def log_in(client, username, password, **extra):
    return client.post(
        reverse("login"), {"username": username, "password": password}, HTTP_ACCEPT_LANGUAGE="en", **extra
    )


def test_login_page_uses_the_base_template(client):
    response = client.get(reverse("login"), HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200
    assert [t.name for t in response.templates][:2] == ["registration/login.html", "base.html"]
    assert 'name="csrfmiddlewaretoken"' in response.content.decode()


def test_a_local_account_lands_on_its_room_list(client, member):
    response = log_in(client, "member", factories.PASSWORD)
    assert response.status_code == 302
    assert response["Location"] == reverse("incidents:room-list")
    member.refresh_from_db()
    assert member.last_login is not None


def test_the_next_page_is_honoured_but_only_on_this_site(client, member):
    response = client.post(
        reverse("login"), {"username": "member", "password": factories.PASSWORD, "next": "/admin/"}
    )
    assert response["Location"] == "/admin/"
    client.logout()
    response = client.post(
        reverse("login"), {"username": "member", "password": factories.PASSWORD, "next": "https://evil.example/"}
    )
    assert response["Location"] == reverse("incidents:room-list")


def test_logout_ends_the_session_and_returns_to_login(client, member):
    client.force_login(member)
    response = client.post(reverse("logout"))
    assert response.status_code == 302
    assert response["Location"] == reverse("login")
    assert client.get(reverse("incidents:room-list")).status_code == 302


def test_login_form_needs_its_csrf_token(member):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    response = client.post(reverse("login"), {"username": "member", "password": factories.PASSWORD})
    assert response.status_code == 403


def test_a_nul_byte_in_the_name_is_refused_by_the_form(client, member):
    response = log_in(client, "member\x00", factories.PASSWORD)
    assert response.status_code == 200
    assert "_auth_user_id" not in client.session


def test_five_failures_lock_the_account_from_that_address_even_for_the_right_password(client, member, settings):
    settings.LOGIN_MAX_FAILURES_PER_ACCOUNT = 5
    for _ in range(5):
        assert log_in(client, "member", "wrong").status_code == 200

    response = log_in(client, "MEMBER", factories.PASSWORD)  # another spelling counts the same

    assert response.status_code == 429
    assert THROTTLED in response.content.decode()
    response = log_in(client, "member", factories.PASSWORD)
    assert response.status_code == 429
    assert "_auth_user_id" not in client.session
    # Another person from the same address is not locked out by it.
    factories.make_user(username="colleague")
    assert log_in(client, "colleague", factories.PASSWORD).status_code == 302


def test_a_stranger_naming_someone_elsewhere_does_not_lock_them_out(client, operator, settings):
    settings.LOGIN_MAX_FAILURES_PER_ACCOUNT = 5
    for _ in range(10):
        log_in(client, "operator", "wrong", REMOTE_ADDR="198.51.100.66")
    assert log_in(client, "operator", "wrong", REMOTE_ADDR="198.51.100.66").status_code == 429
    from django.test import Client

    # The on-call operator, from their own address, logs in at once.
    assert log_in(Client(), "operator", factories.PASSWORD, REMOTE_ADDR="203.0.113.20").status_code == 302


def test_a_known_browser_logs_in_while_its_office_address_is_locked(client, operator, settings):
    settings.LOGIN_MAX_FAILURES_PER_ADDRESS = 20
    office = {"REMOTE_ADDR": "203.0.113.7"}
    assert log_in(client, "operator", factories.PASSWORD, **office).status_code == 302
    device = client.cookies["warroom_device"].value
    client.logout()  # the test client forgets every cookie here; a browser keeps this one
    client.cookies["warroom_device"] = device
    from django.test import Client

    attacker = Client()
    for n in range(20):
        log_in(attacker, f"guess{n}", "wrong", **office)
    for _ in range(6):
        log_in(attacker, "operator", "wrong", **office)
    assert log_in(attacker, "operator", factories.PASSWORD, **office).status_code == 429
    # The operator's own browser, behind the same address, is not held by the stranger's failures.
    assert log_in(client, "operator", factories.PASSWORD, **office).status_code == 302


def test_a_forged_device_cookie_is_ignored(client, member, settings):
    settings.LOGIN_MAX_FAILURES_PER_ACCOUNT = 3
    client.cookies["warroom_device"] = "forged"
    for _ in range(3):
        log_in(client, "member", "wrong")
    assert log_in(client, "member", factories.PASSWORD).status_code == 429


def test_a_successful_login_clears_the_account_failures(client, member, settings):
    settings.LOGIN_MAX_FAILURES_PER_ACCOUNT = 3
    for _ in range(2):
        log_in(client, "member", "wrong")
    assert log_in(client, "member", factories.PASSWORD).status_code == 302
    client.logout()
    for _ in range(2):
        log_in(client, "member", "wrong")
    assert log_in(client, "member", factories.PASSWORD).status_code == 302


def test_many_failures_from_one_address_lock_that_address(client, member, settings):
    settings.LOGIN_MAX_FAILURES_PER_ADDRESS = 20
    for n in range(20):
        log_in(client, f"guess{n}", "wrong", REMOTE_ADDR="203.0.113.7")

    assert log_in(client, "member", factories.PASSWORD, REMOTE_ADDR="203.0.113.7").status_code == 429
    assert log_in(client, "member", factories.PASSWORD, REMOTE_ADDR="203.0.113.8").status_code == 302


def test_behind_a_trusted_proxy_the_forwarded_client_address_is_counted(client, member, settings):
    settings.LOGIN_MAX_FAILURES_PER_ADDRESS = 3
    settings.TRUSTED_PROXIES = ["10.0.0.0/8"]
    proxy = {"REMOTE_ADDR": "10.0.0.2"}
    for n in range(3):
        log_in(client, f"guess{n}", "wrong", HTTP_X_FORWARDED_FOR="198.51.100.1, 203.0.113.7, 10.0.0.9", **proxy)

    assert log_in(client, "member", factories.PASSWORD, HTTP_X_FORWARDED_FOR="203.0.113.7", **proxy).status_code == 429
    # Another client behind the same proxy still logs in.
    response = log_in(client, "member", factories.PASSWORD, HTTP_X_FORWARDED_FOR="203.0.113.9", **proxy)
    assert response.status_code == 302


@pytest.mark.parametrize("remote", ["127.0.0.1", "10.0.0.2"])
def test_from_an_untrusted_peer_a_rotated_forwarded_header_changes_nothing(client, member, settings, remote):
    settings.LOGIN_MAX_FAILURES_PER_ADDRESS = 3
    settings.TRUSTED_PROXIES = []
    for n in range(3):
        log_in(client, f"guess{n}", "wrong", HTTP_X_FORWARDED_FOR=f"198.51.100.{n}", REMOTE_ADDR=remote)
    response = log_in(client, "member", factories.PASSWORD, HTTP_X_FORWARDED_FOR="198.51.100.99", REMOTE_ADDR=remote)
    assert response.status_code == 429


def admin_log_in(client, username, password, **extra):
    return client.post(
        "/admin/login/?next=/admin/", {"username": username, "password": password, "next": "/admin/"},
        HTTP_ACCEPT_LANGUAGE="en", **extra,
    )


def test_the_admin_login_is_throttled_with_the_same_counters(client, operator, settings):
    settings.LOGIN_MAX_FAILURES_PER_ACCOUNT = 5
    for _ in range(3):
        assert admin_log_in(client, "operator", "wrong").status_code == 200
    for _ in range(2):
        log_in(client, "operator", "wrong")
    # Five guesses spread over both doors: both are closed, even to the right password.
    response = admin_log_in(client, "operator", factories.PASSWORD)
    assert response.status_code == 429 and THROTTLED in response.content.decode()
    assert log_in(client, "operator", factories.PASSWORD).status_code == 429
    assert "_auth_user_id" not in client.session


def test_the_admin_login_still_admits_operators_and_refuses_others(client, operator, member):
    assert admin_log_in(client, "member", factories.PASSWORD).status_code == 200
    assert "_auth_user_id" not in client.session
    response = admin_log_in(client, "operator", factories.PASSWORD)
    assert response.status_code == 302 and response["Location"] == "/admin/"
