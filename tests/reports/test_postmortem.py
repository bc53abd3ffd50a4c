from datetime import timedelta

import pytest
from django.utils import timezone

from incidents.models import Message, MessageKind
from incidents.services import room_reopen, room_resolve
from reports import postmortem
from reports.models import Report, ReportKind

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("english")]  # compares English wording


@pytest.fixture(autouse=True)
def pipeline_starts(monkeypatch):
    """The report ids whose pipeline was started; the pipeline itself is tested in its own files."""
    started = []
    monkeypatch.setattr("reports.pipeline.workflow.start", started.append)
    return started


@pytest.fixture
def resolve(django_capture_on_commit_callbacks, commander):
    """Resolve a room that opened ``minutes`` ago the way people do, running what follows the commit."""

    def run(room, minutes):
        room.created_at = timezone.now() - timedelta(minutes=minutes, seconds=5)
        room.save(update_fields=["created_at"])
        with django_capture_on_commit_callbacks(execute=True):
            room_resolve(room=room, by=commander, summary="重新啟動服務 restarted the service")
        return room

    return run


def system_notes(room):
    return list(Message.objects.filter(room=room, kind=MessageKind.SYSTEM).values_list("body", flat=True))


def postmortems(room):
    return Report.objects.filter(room=room, kind=ReportKind.POSTMORTEM)


def test_an_11_minute_incident_gets_a_postmortem_and_the_timeline_says_so(room, commander, resolve, pipeline_starts):
    resolve(room, 11)

    [report] = postmortems(room)
    assert report.requested_by == commander
    assert pipeline_starts == [report.id]
    assert "Postmortem generated automatically (incident lasted 11 min)" in system_notes(room)


def test_a_9_minute_incident_gets_no_postmortem_and_the_timeline_says_why(room, resolve, pipeline_starts):
    resolve(room, 9)

    assert not postmortems(room).exists()
    assert pipeline_starts == []
    assert "No postmortem: incident lasted 9 min, under the 10 min threshold" in system_notes(room)


def test_the_threshold_comes_from_the_settings(room, resolve, settings):
    settings.POSTMORTEM_MIN_MINUTES = 5

    resolve(room, 9)

    assert postmortems(room).count() == 1


def test_reopen_and_resolve_again_does_not_make_a_second_postmortem(room, commander, resolve,
                                                                       django_capture_on_commit_callbacks):
    resolve(room, 30)
    with django_capture_on_commit_callbacks(execute=True):
        room_reopen(room=room, by=commander)
        room_resolve(room=room, by=commander, summary="真的修好了 fixed for real")

    assert postmortems(room).count() == 1
    assert system_notes(room)[-1] == "No new postmortem: this incident already has one (it now lasted 30 min)"


def test_a_failing_postmortem_never_fails_the_resolve(room, resolve, monkeypatch, caplog):
    def broken(**kwargs):
        raise RuntimeError("broker down")

    monkeypatch.setattr(postmortem, "report_request", broken)

    resolve(room, 45)

    room.refresh_from_db()
    assert room.status == "resolved"
    assert "Postmortem decision failed for room" in caplog.text
    assert not postmortems(room).exists()


def test_the_postmortem_prompt_asks_for_its_own_sections_in_both_languages():
    from reports import prompts

    assert prompts.section_keys_for("postmortem") == [
        "impact", "root_cause", "timeline", "went_well", "went_badly", "action_items",
    ]
    assert prompts.section_keys_for("incident") == prompts.SECTION_KEYS
    schema = prompts.postmortem_json_schema()
    assert schema["required"] == prompts.POSTMORTEM_SECTION_KEYS
    assert schema["properties"]["action_items"]["items"]["required"] == ["action", "owner", "due"]
    zh, en = prompts.postmortem_system_prompt("zh-hant"), prompts.postmortem_system_prompt("en")
    for word in ("影響", "根本原因", "時間軸", "做得好的地方", "需要改進的地方", "改善行動項目", '"action_items"'):
        assert word in zh
    for word in ("blameless", "impact", "root cause", "what went well", "what went badly", "action items"):
        assert word in en
