import json
import re

import pytest
from django.urls import reverse

from incidents.models import IncidentRoom
from tests.factories import add_image, add_messages

pytestmark = pytest.mark.django_db


def test_room_list_filters_by_severity_and_search(client, room, member):
    client.force_login(member)
    page = client.get(reverse("incidents:room-list"), {"severity": "sev1"}).content.decode()
    assert room.title not in page
    page = client.get(reverse("incidents:room-list"), {"q": "DB"}).content.decode()
    assert room.title in page


def test_new_room_form_opens_a_room_with_me_as_commander(client, member):
    client.force_login(member)
    response = client.post(reverse("incidents:room-create"), {"title": "新事件 New incident", "severity": "sev2", "category": "Email"})
    room = IncidentRoom.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse("incidents:room-detail", args=[room.id])
    assert room.members.get().user == member


def test_new_room_form_shows_errors(client, member):
    client.force_login(member)
    response = client.post(reverse("incidents:room-create"), {"title": "", "severity": "sev2"})
    assert response.status_code == 200 and "field-error" in response.content.decode()
    assert not IncidentRoom.objects.exists()


def test_room_page_shows_people_by_display_name_in_taipei_time(client, room, member, commander):
    add_messages(room, commander, 3)
    add_image(room, commander, name="圖.png")
    client.force_login(member)
    page = client.get(reverse("incidents:room-detail", args=[room.id])).content.decode()
    assert "陳指揮 Commander Chen" in page and "圖.png" in page
    assert re.search(r'<time datetime="[^"]+" title="[^"]+\+08:00">', page)
    config = json.loads(re.search(r'<script id="room-config" type="application/json">(.*?)</script>', page, re.S).group(1))
    assert config["roomId"] == str(room.id) and config["canManage"] is False and config["canContribute"] is True
    assert 'id="resolve-open"' not in page  # only managers see the resolve control


def test_commander_sees_the_resolve_dialog(client, room, commander):
    client.force_login(commander)
    page = client.get(reverse("incidents:room-detail", args=[room.id])).content.decode()
    assert 'id="resolve-dialog"' in page and 'id="member-form"' in page


def test_dashboard_renders(client, member):
    client.force_login(member)
    page = client.get(reverse("incidents:dashboard"))
    assert page.status_code == 200 and "chart-4.6.1.umd.min.js" in page.content.decode()


def test_categories_are_a_managed_list_shown_in_the_readers_language(client, member, room):
    from incidents.models import Category

    Category.objects.update_or_create(key="printer", defaults={"label_en": "Printer", "label_zh_hant": "印表機"})
    client.force_login(member)
    form = client.get(reverse("incidents:room-create"), HTTP_ACCEPT_LANGUAGE="zh-TW").content.decode()
    assert '<option value="printer">印表機</option>' in form
    client.post(reverse("incidents:room-create"), {"title": "印表機離線", "severity": "sev4", "category": "Printer"},
                HTTP_ACCEPT_LANGUAGE="zh-TW")
    assert IncidentRoom.objects.get(title="印表機離線").category == "printer"
    refused = client.post(reverse("incidents:room-create"), {"title": "x", "severity": "sev4", "category": "nope"})
    assert refused.status_code == 200 and not IncidentRoom.objects.filter(title="x").exists()
    # Old free-text values stay readable; known ones read in the reader's language.
    IncidentRoom.objects.filter(id=room.id).update(category="Legacy thing")
    listing = client.get(reverse("incidents:room-list"), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Legacy thing" in listing and ">Printer<" in listing
