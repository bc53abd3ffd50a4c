"""Headers of every page: a Content-Security-Policy with no inline script allowed, and private
pages and API answers kept out of caches."""

import json
import re

import pytest
from django.urls import reverse

from tests.factories import add_messages

pytestmark = pytest.mark.django_db

INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)(?![^>]*type=\"application/json\")[^>]*>", re.I)
INLINE_HANDLER = re.compile(r"<[^>]+\son[a-z]+\s*=", re.I)


def pages(room):
    return [reverse("incidents:room-list"), reverse("incidents:room-detail", args=[room.id]),
            reverse("incidents:dashboard"), reverse("incidents:room-create"), reverse("reports:daily-list")]


def test_every_page_has_a_csp_without_inline_scripts(client, room, commander, operator):
    add_messages(room, commander, 2)
    login = client.get(reverse("login"))
    policy = login["Content-Security-Policy"]
    assert "script-src 'self'" in policy and "unsafe-inline" not in policy and "object-src 'none'" in policy
    room.members.create(user=operator, role="observer")
    client.force_login(operator)
    for url in pages(room) + [reverse("admin:index")]:
        response = client.get(url)
        assert response.status_code == 200, url
        assert "script-src 'self'" in response["Content-Security-Policy"], url
        html = response.content.decode()
        assert not INLINE_SCRIPT.search(html), (url, INLINE_SCRIPT.search(html).group(0))
        assert not INLINE_HANDLER.search(html), (url, INLINE_HANDLER.search(html).group(0))


def test_page_strings_reach_the_scripts_as_json_in_the_readers_language(client, room, member):
    client.force_login(member)
    html = client.get(reverse("incidents:room-detail", args=[room.id]), HTTP_ACCEPT_LANGUAGE="zh-TW").content.decode()
    block = re.search(r'<script id="warroom-i18n" type="application/json">(.*?)</script>', html, re.S)
    strings = json.loads(block.group(1))
    assert strings["uploadTooLarge"] == "%(name)s 超過 %(limit)d MB 的上限。"
    assert strings["added"] == "已加入"


def test_signed_in_pages_and_the_api_are_private_and_not_stored(client, room, member):
    client.force_login(member)
    for url in [reverse("incidents:room-list"), reverse("incidents:room-detail", args=[room.id]),
                f"/api/rooms/{room.id}/", f"/api/rooms/{room.id}/messages/"]:
        cache = client.get(url)["Cache-Control"]
        assert "private" in cache and "no-store" in cache, (url, cache)


def test_api_errors_for_anonymous_callers_are_not_stored_either(client, room):
    response = client.get(f"/api/rooms/{room.id}/")
    assert response.status_code in (401, 403)
    assert "no-store" in response["Cache-Control"]


def test_api_docs_page_needs_no_inline_script(client, member):
    client.force_login(member)
    html = client.get(reverse("api-docs")).content.decode()
    assert not INLINE_SCRIPT.search(html)
