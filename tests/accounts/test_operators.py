"""Operators get an admin with something in it: the Operators group, the demo operator, the branding."""

import pytest
from django.contrib.auth.models import Group
from django.core.management import call_command
from django.urls import reverse

from accounts.operators import OPERATORS_GROUP, ensure_operators_group, operator_codenames
from tests.factories import make_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def operator_in_group(operator):
    operator.groups.add(ensure_operators_group())
    return operator


def test_the_migration_made_the_group_with_every_operator_permission():
    group = Group.objects.get(name=OPERATORS_GROUP)
    held = set(group.permissions.values_list("content_type__app_label", "codename"))
    assert held == set(operator_codenames())
    assert ("reports", "view_report") in held and ("django_celery_beat", "change_periodictask") in held
    assert ("accounts", "view_user") in held and ("accounts", "change_user") not in held


@pytest.mark.parametrize("url", [
    "admin:index", "admin:reports_report_changelist", "admin:django_celery_beat_periodictask_changelist",
    "admin:accounts_apitoken_changelist", "admin:incidents_incidentroom_changelist", "admin:accounts_user_changelist",
])
def test_an_operator_opens_the_admin_pages_they_need(client, operator_in_group, url):
    client.force_login(operator_in_group)
    assert client.get(reverse(url)).status_code == 200


def test_staff_without_the_group_gets_the_empty_admin(client, operator):
    client.force_login(operator)
    assert client.get(reverse("admin:reports_report_changelist")).status_code == 403


def test_users_are_read_only_for_operators(client, operator_in_group):
    victim = make_user(username="victim")
    client.force_login(operator_in_group)
    response = client.post(reverse("admin:accounts_user_change", args=[victim.id]), {"username": "hacked"})
    assert response.status_code == 403


def test_the_admin_is_branded_warroom_and_its_login_page_answers(client, operator_in_group):
    page = client.get("/admin/login/")
    assert page.status_code == 200
    client.force_login(operator_in_group)
    page = client.get(reverse("admin:index")).content.decode()
    assert "Warroom" in page and "Django" not in page.split("<body", 1)[1].split('id="content"')[0]


def test_seed_demo_puts_the_demo_operator_in_the_group(client):
    Group.objects.filter(name=OPERATORS_GROUP).delete()
    call_command("seed_demo", stdout=open("/dev/null", "w"))
    from accounts.models import User

    operator = User.objects.get(username="operator")
    assert operator.groups.filter(name=OPERATORS_GROUP).exists()
    client.force_login(operator)
    assert client.get(reverse("admin:reports_report_changelist")).status_code == 200
