"""Every room-scoped URL, walked as an outsider, an anonymous visitor and a plain member."""

import pytest
from django.urls import reverse

from tests.factories import add_image, make_user

pytestmark = pytest.mark.django_db


def room_urls(room, room_file, other_user):
    """(method, url, body, what a plain member gets)."""
    base = f"/api/rooms/{room.id}"
    return [
        ("get", f"{base}/", None, 200),
        ("patch", f"{base}/", {"category": "Network"}, 200),
        ("get", f"{base}/members/", None, 200),
        ("post", f"{base}/members/", {"user": other_user.username}, 403),
        ("delete", f"{base}/members/{other_user.id}/", None, 404),
        ("get", f"{base}/messages/", None, 200),
        ("post", f"{base}/messages/", {"body": "hi"}, 201),
        ("get", f"{base}/files/", None, 200),
        ("get", f"{base}/files/{room_file.id}/download/", None, 200),
        ("get", f"{base}/files/{room_file.id}/thumbnail/", None, 200),
        ("post", f"{base}/resolve/", {"summary": "x"}, 403),
        ("post", f"{base}/reopen/", None, 403),
        ("post", f"{base}/archive/", None, 403),
        ("get", reverse("incidents:room-detail", args=[room.id]), None, 200),
    ]


@pytest.fixture
def setup(room, commander):
    return room, add_image(room, commander), make_user(username="bystander")


def call(client, method, url, body):
    return getattr(client, method)(url, body, format="json") if body is not None else getattr(client, method)(url)


def test_outsider_gets_404_everywhere(api, setup, outsider):
    room, room_file, other = setup
    api.force_login(outsider)
    for method, url, body, _ in room_urls(room, room_file, other):
        response = call(api, method, url, body)
        assert response.status_code == 404, (method, url, response.status_code)
        if url.startswith("/api/"):
            assert response.json()["error"]["code"] == "not_found"
    assert "陳指揮" not in api.get("/api/rooms/").content.decode()


def test_anonymous_visitors_are_asked_to_log_in(api, setup):
    room, room_file, other = setup
    for method, url, body, _ in room_urls(room, room_file, other):
        response = call(api, method, url, body)
        if url.startswith("/api/"):
            assert response.status_code == 401, (method, url)
            assert response.json()["error"]["code"] == "not_authenticated"
        else:
            assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_plain_member_can_work_but_not_manage(api, setup, member):
    room, room_file, other = setup
    api.force_login(member)
    for method, url, body, expected in room_urls(room, room_file, other):
        response = call(api, method, url, body)
        assert response.status_code == expected, (method, url, response.status_code)


def test_operator_sees_a_room_they_are_not_in(api, setup, operator):
    room, room_file, other = setup
    api.force_login(operator)
    assert api.get(f"/api/rooms/{room.id}/").status_code == 200
    assert api.get(f"/api/rooms/{room.id}/files/{room_file.id}/download/").status_code == 200
