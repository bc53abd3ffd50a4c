"""Ticket notes: instant resolve, then notes streamed token by token, with fallbacks, and the SSE stream."""

import asyncio
import threading

import pytest
from django.test import AsyncClient

from incidents import services as room_services
from reports import tasks
from reports.notes import service as notes
from reports.models import Report, ReportKind, ReportStatus
from tests.fakes.ai_server import FakeAIServer, Reply
from tests.factories import add_messages, make_user

NOTES_ANSWER = (
    "## Problem Summary\nThe database pool ran out of connections.\n\n"
    "## Steps Taken\n- Restarted the pool\n- Raised the timeout\n\n"
    "## Resolution\nPool size increased.\n\n"
    "## Next Steps\n- Add an alert on pool usage\n- Review the ORM retry settings\n"
)


@pytest.fixture
def active_room(room, commander):
    add_messages(room, commander, 4, body="處理中 update {i}")
    return room


def use_dify(settings, server):
    settings.AI_PROVIDER = "dify"
    settings.DIFY_BASE_URL = server.base_url
    settings.DIFY_API_KEY = "app-test"
    settings.DIFY_TIMEOUT_SECONDS = 5


def notes_of(room):
    return Report.objects.filter(room=room, kind=ReportKind.NOTES)


@pytest.mark.django_db
def test_resolve_writes_offline_notes_with_four_sections(active_room, commander, published, django_capture_on_commit_callbacks):
    room_services.message_post(room=active_room, sender=commander, body="後續：調整連線池上限")
    room_services.action_item_create(room=active_room, by=commander, title="新增連線池告警")
    with django_capture_on_commit_callbacks(execute=True):
        room_services.room_resolve(room=active_room, by=commander, summary="重新啟動連線池")
    report = notes_of(active_room).get()
    assert report.status == ReportStatus.COMPLETED and report.provider == "offline"
    text = report.content["text"]
    for heading in ["## 問題摘要", "## 處理步驟", "## 解決方式", "## 後續步驟"]:
        assert heading in text
    assert "重新啟動連線池" in text and "未使用 AI" in text
    # Next steps the room recorded (an open task, a "後續：" line), never filler.
    assert report.content["next_steps"] == ["新增連線池告警", "調整連線池上限"]
    kinds = [event for _, event, payload in published if payload.get("report_id") == str(report.id)]
    assert kinds[-1] == "notes.done" and "notes.delta" in kinds


@pytest.mark.django_db
def test_streamed_notes_arrive_in_pieces_and_are_saved(active_room, commander, published, settings):
    settings.LANGUAGE_CODE = "en"
    with FakeAIServer(answer=NOTES_ANSWER, default=Reply(chunks=6, chunk_delay=0.06)) as ai:
        use_dify(settings, ai)
        report, created = notes.notes_request(room=active_room, requested_by=commander, language="en")
        notes.write_notes(str(report.id))
    report.refresh_from_db()
    assert created and report.status == ReportStatus.COMPLETED and report.provider == "dify"
    assert report.content["text"] == NOTES_ANSWER.strip()
    assert report.content["next_steps"] == ["Add an alert on pool usage", "Review the ORM retry settings"]
    deltas = [p["delta"] for _, event, p in published if event == "notes.delta" and not p["replace"]]
    assert len(deltas) >= 3 and "".join(deltas).strip() == NOTES_ANSWER.strip()
    assert ai.requests[0].json["response_mode"] == "streaming"


@pytest.mark.django_db
def test_a_broken_stream_falls_back_to_one_blocking_call(active_room, commander, published, settings):
    script = [Reply(stream_error=2), Reply(stream=False)]
    with FakeAIServer(script=script, answer=NOTES_ANSWER) as ai:
        use_dify(settings, ai)
        report, _ = notes.notes_request(room=active_room, requested_by=commander, language="en")
        notes.write_notes(str(report.id))
    report.refresh_from_db()
    assert report.provider == "dify" and report.content["text"] == NOTES_ANSWER.strip()
    assert [r.json["response_mode"] for r in ai.requests] == ["streaming", "blocking"]
    replaced = [p for _, event, p in published if event == "notes.delta" and p["replace"]]
    assert replaced and replaced[-1]["delta"] == NOTES_ANSWER.strip()


@pytest.mark.django_db
def test_when_the_ai_fails_twice_the_offline_writer_takes_over(active_room, commander, published, settings):
    with FakeAIServer(script=[401, 401]) as ai:
        use_dify(settings, ai)
        report, _ = notes.notes_request(room=active_room, requested_by=commander, language="en")
        notes.write_notes(str(report.id))
    report.refresh_from_db()
    assert report.status == ReportStatus.COMPLETED and report.provider == "offline-fallback"
    assert "## Problem Summary" in report.content["text"] and "no AI was used" in report.content["text"]
    assert "credentials" in report.fallback_reason
    assert len(ai.requests) == 2


@pytest.mark.django_db
def test_running_the_task_twice_writes_once(active_room, commander, published):
    report, _ = notes.notes_request(room=active_room, requested_by=commander)
    notes.write_notes(str(report.id))
    done = len([1 for _, event, _ in published if event == "notes.done"])
    notes.write_notes(str(report.id))
    assert len([1 for _, event, _ in published if event == "notes.done"]) == done == 1


@pytest.mark.django_db
def test_regenerate_keeps_the_old_version(api, active_room, commander, django_capture_on_commit_callbacks):
    api.force_login(commander)
    with django_capture_on_commit_callbacks(execute=True):
        first = api.post(f"/api/rooms/{active_room.id}/notes", {}, format="json")
    with django_capture_on_commit_callbacks(execute=True):
        second = api.post(f"/api/rooms/{active_room.id}/notes", {"language": "en"}, format="json")
    assert first.status_code == second.status_code == 202
    versions = api.get(f"/api/rooms/{active_room.id}/notes").json()
    assert len(versions) == 2 and versions[0]["language"] == "en"
    assert all(v["status"] == "completed" and v["text"] for v in versions)


@pytest.mark.django_db
def test_stuck_notes_are_failed_by_the_reaper(active_room, commander, published, settings,
                                             django_capture_on_commit_callbacks):
    from datetime import timedelta

    from django.utils import timezone

    report = Report.objects.create(room=active_room, kind=ReportKind.NOTES, status=ReportStatus.GENERATING_CONTENT,
                                   created_at=timezone.now() - timedelta(hours=1))
    with django_capture_on_commit_callbacks(execute=True):
        assert tasks.reap_stuck_reports() == {"requeued": 0, "failed": 1}
    report.refresh_from_db()
    assert report.status == ReportStatus.FAILED and report.error_message
    assert ("notes.failed" in [event for _, event, _ in published])


# --- SSE -----------------------------------------------------------------------------


@pytest.fixture
def background_writer(monkeypatch):
    """Run the notes task in a thread, as a worker would, so the stream is read while it writes."""
    threads = []

    def run(report_id):
        from django.db import connection

        try:
            notes.write_notes(report_id)
        except Exception:  # noqa: BLE001, S110 - a worker logs it; the report already says failed
            pass
        finally:
            connection.close()

    def start(report_id):
        thread = threading.Thread(target=run, args=(str(report_id),))
        threads.append(thread)
        thread.start()

    monkeypatch.setattr(notes, "_start", start)
    yield
    for thread in threads:
        thread.join(30)


@pytest.fixture
async def bound_loop():
    from realtime import events

    events.bind_loop(asyncio.get_running_loop())
    yield
    events.bind_loop(None)


async def read_stream(response, on_chunk=None):
    chunks = []
    async for chunk in response.streaming_content:
        text = chunk.decode() if isinstance(chunk, bytes) else chunk
        chunks.append(text)
        if on_chunk:
            on_chunk(text)
    return chunks


async def start_notes(client, room):
    """Writing notes is a POST; the stream only follows the version it started."""
    response = await client.post(f"/api/rooms/{room.id}/notes", {}, content_type="application/json")
    assert response.status_code == 202
    return response


def login_async(user):
    from asgiref.sync import sync_to_async

    client = AsyncClient()
    return sync_to_async(client.force_login)(user), client


@pytest.mark.django_db(transaction=True)
async def test_sse_sends_the_first_chunk_before_the_ai_has_finished(active_room, commander, settings, background_writer, bound_loop):
    with FakeAIServer(answer=NOTES_ANSWER, default=Reply(chunks=6, chunk_delay=0.4)) as ai:
        use_dify(settings, ai)
        login, client = login_async(commander)
        await login
        await start_notes(client, active_room)
        response = await client.get(f"/api/rooms/{active_room.id}/notes/stream")
        assert response.status_code == 200
        assert response["Content-Type"].startswith("text/event-stream") and response["X-Accel-Buffering"] == "no"
        finished = []
        report_id = response["X-Report-Id"]
        from asgiref.sync import sync_to_async

        chunks = []
        async for chunk in response.streaming_content:
            text = chunk.decode() if isinstance(chunk, bytes) else chunk
            chunks.append(text)
            if text.startswith("data: ") and "[DONE]" not in text and not finished:
                # The first piece reached us: the AI must still be writing.
                finished.append(await sync_to_async(lambda: Report.objects.get(id=report_id).status)())
    assert finished == [ReportStatus.GENERATING_CONTENT]
    assert chunks[-1] == "data: [DONE]\n\n"
    body = "".join(c for c in chunks if not c.startswith(("data: [DONE]", ":")))
    assert "data: ## Problem Summary" in body and len([c for c in chunks if c.startswith("data: ")]) >= 3


@pytest.mark.django_db(transaction=True)
async def test_sse_reports_an_error_when_everything_fails(active_room, commander, settings, background_writer, bound_loop, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("the room data could not be read")

    monkeypatch.setattr(notes, "collect_room", broken)
    login, client = login_async(commander)
    await login
    await start_notes(client, active_room)
    response = await client.get(f"/api/rooms/{active_room.id}/notes/stream")
    chunks = await read_stream(response)
    assert chunks[-1].startswith("data: [ERROR] ")
    assert "Regenerate" in chunks[-1] or "重新產生" in chunks[-1]


@pytest.mark.django_db(transaction=True)
async def test_sse_is_404_for_outsiders_and_401_for_strangers(active_room):
    from asgiref.sync import sync_to_async

    outsider = await sync_to_async(make_user)(username="nosy")
    login, client = login_async(outsider)
    await login
    response = await client.get(f"/api/rooms/{active_room.id}/notes/stream")
    assert response.status_code == 404 and (await sync_to_async(response.json)())["error"]["code"] == "not_found"
    anonymous = await AsyncClient().get(f"/api/rooms/{active_room.id}/notes/stream")
    assert anonymous.status_code == 401


@pytest.mark.django_db(transaction=True)
async def test_a_get_of_the_stream_never_starts_notes(active_room, commander, bound_loop):
    from asgiref.sync import sync_to_async

    login, client = login_async(commander)
    await login
    response = await client.get(f"/api/rooms/{active_room.id}/notes/stream")
    assert response.status_code == 404
    assert (await sync_to_async(response.json)())["error"]["code"] == "not_found"
    assert await sync_to_async(notes_of(active_room).count)() == 0


@pytest.mark.django_db(transaction=True)
async def test_the_stream_of_finished_notes_sends_their_text_at_once(active_room, commander, bound_loop):
    from asgiref.sync import sync_to_async

    report = await sync_to_async(Report.objects.create)(
        room=active_room, kind=ReportKind.NOTES, status=ReportStatus.COMPLETED, content={"text": "## 問題摘要\n完成"},
    )
    login, client = login_async(commander)
    await login
    response = await client.get(f"/api/rooms/{active_room.id}/notes/stream?report={report.id}")
    chunks = await asyncio.wait_for(read_stream(response), 5)
    assert chunks == ["data: ## 問題摘要\ndata: 完成\n\n", "data: [DONE]\n\n"]
    bad = await client.get(f"/api/rooms/{active_room.id}/notes/stream?report=nope")
    assert bad.status_code == 400


@pytest.mark.django_db(transaction=True)
async def test_sse_is_throttled_per_user(active_room, commander, settings, bound_loop):
    from rest_framework.throttling import UserRateThrottle

    original = UserRateThrottle.THROTTLE_RATES
    UserRateThrottle.THROTTLE_RATES = {**original, "notes_stream": "2/min"}
    try:
        login, client = login_async(commander)
        await login
        await start_notes(client, active_room)
        for _ in range(2):
            response = await client.get(f"/api/rooms/{active_room.id}/notes/stream")
            assert response.status_code == 200
            await read_stream(response)
        refused = await client.get(f"/api/rooms/{active_room.id}/notes/stream")
    finally:
        UserRateThrottle.THROTTLE_RATES = original
    assert refused.status_code == 429 and int(refused["Retry-After"]) >= 1


@pytest.mark.django_db
def test_action_items_appear_in_the_report(incident, commander, member, published, django_capture_on_commit_callbacks):
    import io

    from django.core.files.storage import default_storage
    from docx import Document

    from incidents.services import action_item_create
    from reports.services import report_request

    action_item_create(room=incident, by=commander, title="新增連線池告警", assignee=member)
    with django_capture_on_commit_callbacks(execute=True):
        report, _ = report_request(room=incident, requested_by=commander)
    report.refresh_from_db()
    assert report.status == ReportStatus.COMPLETED, report.error_detail
    document = Document(io.BytesIO(default_storage.open(report.document.name).read()))
    assert any(p.text == "後續待辦事項" for p in document.paragraphs)
    cells = [cell.text for table in document.tables for row in table.rows for cell in row.cells]
    assert "新增連線池告警" in cells and "王小明 Member Wang" in cells and "未完成" in cells


@pytest.mark.django_db
def test_follow_ups_run_inline_when_the_broker_refuses_the_task(active_room, commander, published, monkeypatch,
                                                                django_capture_on_commit_callbacks):
    from kombu.exceptions import OperationalError

    from reports import receivers

    def broker_down(*args, **kwargs):
        raise OperationalError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")

    monkeypatch.setattr(receivers.after_resolve, "delay", broker_down)
    with django_capture_on_commit_callbacks(execute=True):
        room_services.room_resolve(room=active_room, by=commander, summary="resolved while Redis was down")
    active_room.refresh_from_db()
    assert active_room.status == "resolved"
    assert notes_of(active_room).get().status == ReportStatus.COMPLETED
