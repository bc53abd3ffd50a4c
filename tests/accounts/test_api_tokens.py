"""API tokens: created by an operator, shown once, stored hashed, expiring and revocable."""

import hashlib
import re
from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts.models import ApiToken
from accounts.services import api_token_create, api_token_revoke
from tests import factories

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("english")]  # compares English wording
ME = "/api/me/"


@pytest.fixture
def api_client():
    return Client(enforce_csrf_checks=True)


@pytest.fixture
def service_account(db):
    return factories.make_user(
        username="svc-monitoring", display_name="監控系統 Monitoring", email="monitoring@example.com",
        office_location="Data Centre", job_title="Service account",
    )


def test_a_token_authenticates_as_its_user_with_the_token_keyword(api_client, service_account):
    token, key = api_token_create(user=service_account, name="monitoring")

    response = api_client.get(ME, HTTP_AUTHORIZATION=f"Token {key}")

    assert response.status_code == 200
    assert response.json() == {
        "username": "svc-monitoring",
        "display_name": "監控系統 Monitoring",
        "email": "monitoring@example.com",
        "office_location": "Data Centre",
        "job_title": "Service account",
        "is_staff": False,
    }
    token.refresh_from_db()
    assert token.last_used_at is not None


def test_the_bearer_keyword_works_too(api_client, service_account):
    _, key = api_token_create(user=service_account, name="monitoring")
    response = api_client.get(ME, HTTP_AUTHORIZATION=f"Bearer {key}")
    assert response.status_code == 200
    assert response.json()["username"] == "svc-monitoring"


def test_only_a_hash_of_the_secret_is_stored(service_account):
    token, key = api_token_create(user=service_account, name="monitoring")
    token.refresh_from_db()
    assert token.key_hash == hashlib.sha256(key.encode()).hexdigest()
    assert token.key_prefix == key[:8]
    stored = [str(value) for value in ApiToken.objects.values_list(*[f.attname for f in ApiToken._meta.fields]).get()]
    assert key not in stored


def _assert_refused(response, message):
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Token")
    body = response.json()
    assert body["error"]["code"] == "authentication_failed"
    assert message in body["error"]["message"]


def test_a_revoked_token_is_refused(api_client, service_account):
    token, key = api_token_create(user=service_account, name="monitoring")
    assert api_token_revoke(token=token) is True
    assert api_token_revoke(token=token) is False
    _assert_refused(api_client.get(ME, HTTP_AUTHORIZATION=f"Token {key}"), "revoked")


def test_an_expired_token_is_refused(api_client, service_account):
    _, key = api_token_create(user=service_account, name="monitoring", expires_at=timezone.now() - timedelta(seconds=1))
    _assert_refused(api_client.get(ME, HTTP_AUTHORIZATION=f"Bearer {key}"), "expired")


def test_a_token_that_has_not_expired_yet_works(api_client, service_account):
    _, key = api_token_create(user=service_account, name="monitoring", expires_at=timezone.now() + timedelta(hours=1))
    assert api_client.get(ME, HTTP_AUTHORIZATION=f"Token {key}").status_code == 200


def test_an_unknown_token_is_refused(api_client, service_account):
    _, key = api_token_create(user=service_account, name="monitoring")
    _assert_refused(api_client.get(ME, HTTP_AUTHORIZATION=f"Token {key}x"), "not valid")
    _assert_refused(api_client.get(ME, HTTP_AUTHORIZATION="Token"), "Authorization header")


def test_the_token_of_a_deactivated_user_is_refused(api_client, service_account):
    _, key = api_token_create(user=service_account, name="monitoring")
    service_account.is_active = False
    service_account.save()
    _assert_refused(api_client.get(ME, HTTP_AUTHORIZATION=f"Token {key}"), "inactive")


def test_no_credentials_get_401_in_the_json_error_shape(api_client):
    response = api_client.get(ME)
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "not_authenticated"


def test_session_api_calls_keep_csrf_protection(api_client, member):
    api_client.force_login(member)
    assert api_client.get(ME).json()["username"] == "member"
    response = api_client.post(ME, {})
    assert response.status_code == 403
    assert "CSRF" in response.json()["error"]["message"]


def test_an_operator_creates_a_token_in_the_admin_and_sees_it_once(service_account):
    admin = factories.make_user(username="root", staff=True, is_superuser=True)
    client = Client()
    client.force_login(admin)
    add_url = reverse("admin:accounts_apitoken_add")
    assert client.get(add_url).status_code == 200

    response = client.post(
        add_url, {"user": service_account.pk, "name": "grafana", "expires_at_0": "", "expires_at_1": ""}, follow=True
    )

    assert response.status_code == 200
    shown = " ".join(str(m) for m in response.context["messages"])
    key = re.search(r"wr_[A-Za-z0-9_\-]{20,}", shown).group(0)
    assert key in response.content.decode()
    token = ApiToken.objects.get()
    assert (token.user, token.name, token.key_prefix) == (service_account, "grafana", key[:8])
    assert Client().get(ME, HTTP_AUTHORIZATION=f"Token {key}").status_code == 200
    # Shown once: afterwards the change page and the list show the prefix, never the secret.
    for url in [reverse("admin:accounts_apitoken_change", args=[token.pk]), reverse("admin:accounts_apitoken_changelist")]:
        page = client.get(url).content.decode()
        assert key[:8] in page and key not in page

    response = client.post(
        reverse("admin:accounts_apitoken_changelist"), {"action": "revoke", "_selected_action": [token.pk]}
    )
    assert response.status_code == 302
    token.refresh_from_db()
    assert token.revoked_at is not None
    assert Client().get(ME, HTTP_AUTHORIZATION=f"Token {key}").status_code == 401


def test_the_openapi_schema_describes_token_authentication(client):
    schema = client.get("/api/schema/", {"format": "json"}).json()
    assert schema["components"]["securitySchemes"]["tokenAuth"] == {
        "type": "apiKey",
        "in": "header",
        "name": "Authorization",
        "description": 'An API token created by an operator in the admin: "Token <key>" or "Bearer <key>".',
    }
    assert {"tokenAuth": []} in schema["paths"]["/api/me/"]["get"]["security"]
