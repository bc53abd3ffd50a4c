import pytest

from incidents.models import ActionItem

pytestmark = pytest.mark.django_db


def test_members_add_assign_complete_and_delete_action_items(api, room, member, commander, published):
    api.force_login(member)
    url = f"/api/rooms/{room.id}/action-items/"
    created = api.post(url, {"title": "新增連線池告警 Add a pool alert", "assignee": commander.id, "due_date": "2026-12-01", "source": "notes"}, format="json")
    assert created.status_code == 201, created.json()
    body = created.json()
    assert body["assignee"]["name"] == "陳指揮 Commander Chen" and body["source"] == "notes" and body["status"] == "open"
    done = api.patch(f"{url}{body['id']}/", {"status": "done"}, format="json")
    assert done.status_code == 200 and done.json()["status"] == "done" and done.json()["completed_at"]
    assert [item["title"] for item in api.get(url).json()] == ["新增連線池告警 Add a pool alert"]
    assert api.delete(f"{url}{body['id']}/").status_code == 204
    assert not ActionItem.objects.exists()


def test_assignee_must_be_in_the_room(api, room, member, outsider):
    api.force_login(member)
    response = api.post(f"/api/rooms/{room.id}/action-items/", {"title": "x", "assignee": outsider.id}, format="json")
    assert response.status_code == 400 and "assignee" in response.json()["error"]["details"]


def test_blank_title_is_refused(api, room, member):
    api.force_login(member)
    response = api.post(f"/api/rooms/{room.id}/action-items/", {"title": "   "}, format="json")
    assert response.status_code == 400


def test_outsider_gets_404_on_action_items(api, room, outsider, member):
    api.force_login(member)
    item = api.post(f"/api/rooms/{room.id}/action-items/", {"title": "mine"}, format="json").json()
    api.force_login(outsider)
    assert api.get(f"/api/rooms/{room.id}/action-items/").status_code == 404
    assert api.patch(f"/api/rooms/{room.id}/action-items/{item['id']}/", {"status": "done"}, format="json").status_code == 404
    assert api.delete(f"/api/rooms/{room.id}/action-items/{item['id']}/").status_code == 404


def test_a_next_step_of_one_notes_version_becomes_one_task(api, room, member):
    import uuid

    api.force_login(member)
    url = f"/api/rooms/{room.id}/action-items/"
    version = str(uuid.uuid4())
    step = {"title": "新增告警", "source": "notes", "notes_version": version, "notes_step": 1}
    first = api.post(url, step, format="json")
    again = api.post(url, step, format="json")
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json()["id"] == again.json()["id"]
    assert first.json()["notes_version"] == version and first.json()["notes_step"] == 1
    # Another step, or the same step of another version, is another task.
    assert api.post(url, {**step, "notes_step": 2}, format="json").status_code == 201
    assert api.post(url, {**step, "notes_version": str(uuid.uuid4())}, format="json").status_code == 201
    assert ActionItem.objects.filter(room=room).count() == 3


def test_notes_version_needs_its_step(api, room, member):
    import uuid

    api.force_login(member)
    response = api.post(f"/api/rooms/{room.id}/action-items/",
                        {"title": "x", "notes_version": str(uuid.uuid4())}, format="json")
    assert response.status_code == 400
