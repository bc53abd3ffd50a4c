"""The project as a whole: front door, pages, admin, migrations, production checks."""

import os
import subprocess
import sys

import pytest
from django.core.management import call_command
from django.urls import reverse

from incidents.models import IncidentRoom, Message, RoomFile
from tests.services import ROOT

pytestmark = pytest.mark.django_db


def test_home_sends_anonymous_people_to_login(client):
    response = client.get("/")
    assert response.status_code == 302
    assert response["Location"] == reverse("login")


def test_home_sends_a_logged_in_person_to_their_rooms(client, member):
    client.force_login(member)
    response = client.get("/")
    assert response["Location"] == reverse("incidents:room-list")


def test_healthz_is_liveness_only_and_asks_the_database_nothing(client, django_assert_num_queries):
    with django_assert_num_queries(0):
        response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_login_page_renders_in_traditional_chinese_by_default(client):
    response = client.get("/accounts/login/")
    assert response.status_code == 200
    assert 'lang="zh-Hant"' in response.content.decode()


def test_api_404_uses_the_json_error_shape(client, member):
    client.force_login(member)
    response = client.get("/api/nothing-here/")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


def test_operator_sees_every_admin_changelist(client, db):
    from django.contrib import admin

    from tests.factories import make_user

    operator = make_user(username="root", staff=True, is_superuser=True)
    client.force_login(operator)
    call_command("seed_demo", stdout=open(os.devnull, "w"))
    for model in admin.site._registry:
        url = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")
        assert client.get(url).status_code == 200, url
    room = IncidentRoom.objects.first()
    assert client.get(reverse("admin:incidents_incidentroom_change", args=[room.pk])).status_code == 200


def test_seed_demo_is_safe_to_run_twice(client):
    call_command("seed_demo", stdout=open(os.devnull, "w"))
    call_command("seed_demo", stdout=open(os.devnull, "w"))
    assert IncidentRoom.objects.count() == 2
    resolved = IncidentRoom.objects.get(status="resolved")
    assert 35 <= Message.objects.filter(room=resolved).count() <= 45
    span = resolved.messages.last().created_at - resolved.messages.first().created_at
    assert 85 * 60 <= span.total_seconds() <= 95 * 60
    image = RoomFile.objects.get(room=resolved)
    assert image.file.read(8) == b"\x89PNG\r\n\x1a\n"
    assert client.login(username="alice", password="warroom-demo")
    page = client.get(reverse("incidents:room-detail", args=[resolved.id]))
    assert page.status_code == 200
    assert "陳愛麗 Alice Chen" in page.content.decode()


def test_outsider_gets_404_for_a_room_page(client, room, outsider):
    client.force_login(outsider)
    assert client.get(reverse("incidents:room-detail", args=[room.id])).status_code == 404


def _manage(*args, env=None):
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )


def test_models_and_migrations_agree():
    result = _manage("makemigrations", "--check", "--dry-run", env=dict(os.environ))
    assert result.returncode == 0, result.stdout + result.stderr


def test_deploy_check_passes_with_production_settings(tmp_path):
    env = {
        **os.environ,
        "DJANGO_SECRET_KEY": "x" * 20 + "A-very-long-production-secret-key-0123456789",
        "DJANGO_HTTPS": "true",
        "DJANGO_ALLOWED_HOSTS": "warroom.example.com",
        "DJANGO_HSTS_PRELOAD": "true",
        "WARROOM_VAR_DIR": str(tmp_path),
    }
    result = _manage("check", "--deploy", "--fail-level", "WARNING", env=env)
    assert result.returncode == 0, result.stdout + result.stderr
