"""Operators manage sources in the admin: the token is shown once, on creation and on rotation."""

import re

import pytest
from django.contrib.messages import get_messages
from django.db import OperationalError

from alerts.models import AlertSource
from alerts.services import alert_source_for_token, hash_token
from tests.alerts.payloads import alertmanager

pytestmark = pytest.mark.django_db

TOKEN = re.compile(r"wra_[A-Za-z0-9_-]{20,}")


def shown_tokens(response):
    return TOKEN.findall(" ".join(str(m) for m in get_messages(response.wsgi_request)))


def test_creating_a_source_shows_its_token_once_and_stores_only_the_hash(client, operator):
    operator.is_superuser = True
    operator.save()
    client.force_login(operator)
    response = client.post("/admin/alerts/alertsource/add/", {
        "name": "prom", "kind": "alertmanager", "group_by": '["alertname", "service"]', "group_window_minutes": 30,
        "severity_label": "severity", "severity_map": '{"critical": "sev1"}', "default_severity": "sev3",
        "opens_rooms": "on", "min_severity": "sev4", "enabled": "on",
    }, follow=True)
    assert response.status_code == 200
    [token] = shown_tokens(response)
    source = AlertSource.objects.get(name="prom")
    assert source.token_hash == hash_token(token) and token not in source.token_hash
    page = client.get(f"/admin/alerts/alertsource/{source.pk}/change/").content.decode()
    assert token not in page and source.token_prefix in page


def test_rotating_a_token_shows_a_new_one_and_the_old_one_stops_working(client, operator, am_source):
    operator.is_superuser = True
    operator.save()
    client.force_login(operator)
    old = am_source.token
    response = client.post("/admin/alerts/alertsource/", {"action": "rotate_token", "_selected_action": [am_source.pk]},
                           follow=True)
    [new] = shown_tokens(response)
    assert new != old and alert_source_for_token(old) is None and alert_source_for_token(new) == am_source


def test_database_down_answers_503_so_the_sender_retries(api, am_source, monkeypatch):
    def down(key):
        raise OperationalError("could not connect to server")

    monkeypatch.setattr("alerts.services.alert_source_for_token", down)
    response = api.post("/api/alerts/alertmanager", alertmanager(), format="json",
                        HTTP_AUTHORIZATION=f"Bearer {am_source.token}")
    assert response.status_code == 503 and response["Retry-After"] == "30"
    assert response.json()["error"]["code"] == "service_unavailable"
