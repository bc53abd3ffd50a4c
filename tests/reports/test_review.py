"""Reviewing a report: versions, edits without AI, one section rewritten, diffs, evidence, the ledger, sign-off."""

import json

import pytest
from django.urls import reverse

from incidents.models import Message
from reports.models import ReportState, ReportVersion, VersionSource
from tests.fakes.ai_server import FakeAIServer
from tests.reports.helpers import all_text, generate, read_docx


def url(name, report, **extra):
    return reverse(f"reports-api:{name}", kwargs={"room_id": report.room_id, "report_id": report.id, **extra})


@pytest.fixture
def report(incident, commander, django_capture_on_commit_callbacks):
    report = generate(incident, commander, django_capture_on_commit_callbacks)
    assert report.status == "completed", report.error_detail
    return report


def login(api, user):
    api.force_login(user)
    return api


def room_message_ids(room):
    return set(Message.objects.filter(room=room).values_list("id", flat=True))


# --- Versions and detail ---------------------------------------------------------------------


def test_the_pipeline_writes_version_1_and_the_detail_shows_content_state_and_citations(api, report, member):
    body = login(api, member).get(url("report-detail", report)).json()
    assert (body["version"], body["state"], body["approved_by"], body["approved_at"]) == (1, "draft", None, None)
    assert set(body["content"]["sections"]) >= {"summary", "timeline"}
    versions = api.get(url("report-versions", report)).json()
    assert [(v["number"], v["source"]) for v in versions] == [(1, "ai")]
    assert versions[0]["download_url"].endswith("?version=1")
    # The offline writer cites exactly: every timeline row names a message of this room.
    rows = body["content"]["sections"]["timeline"]
    assert rows and all(row["evidence"] and set(row["evidence"]) <= room_message_ids(report.room) for row in rows)
    assert set(body["citations"]["timeline"]) <= room_message_ids(report.room) and body["citations"]["timeline"]


def test_an_edit_makes_a_new_version_without_any_ai_request(api, incident, commander, member, settings,
                                                          django_capture_on_commit_callbacks, published):
    with FakeAIServer() as ai:
        settings.AI_PROVIDER, settings.DIFY_BASE_URL, settings.DIFY_API_KEY = "dify", ai.base_url, "app-key"
        report = generate(incident, commander, django_capture_on_commit_callbacks)
        calls = len(ai.requests)
        with django_capture_on_commit_callbacks(execute=True):
            response = login(api, member).patch(url("report-content", report), {
                "base_version": 1, "sections": {"summary": "人工修正的摘要：連線池耗盡。[m999999]"}}, format="json")
        assert len(ai.requests) == calls
    assert response.status_code == 200, response.content
    assert (response.json()["number"], response.json()["source"], response.json()["changed_sections"]) \
        == (2, "edit", ["summary"])
    report.refresh_from_db()
    # The invented citation is gone; the other sections are as the AI wrote them.
    assert report.content["sections"]["summary"] == "人工修正的摘要：連線池耗盡。"
    assert report.content["sections"]["final_resolution"] == ReportVersion.objects.get(
        report=report, number=1).content["sections"]["final_resolution"]
    assert "人工修正的摘要" in all_text(read_docx(report))
    old = api.get(url("report-download", report) + "?version=1")
    assert old.status_code == 200 and "人工修正的摘要" not in all_text(read_docx(b"".join(old.streaming_content)))
    assert any(event == "report.version" and payload["version"] == 2 for _, event, payload in published)


def test_a_stale_base_version_gets_409_with_the_latest(api, report, member, commander):
    first = login(api, member).patch(url("report-content", report),
                                     {"base_version": 1, "sections": {"summary": "A"}}, format="json")
    assert first.status_code == 200
    second = login(api, commander).patch(url("report-content", report),
                                         {"base_version": 1, "sections": {"summary": "B"}}, format="json")
    assert second.status_code == 409
    assert second.json()["error"]["code"] == "stale_version"
    assert second.json()["error"]["details"]["latest_version"] == 2
    report.refresh_from_db()
    assert report.content["sections"]["summary"] == "A" and report.version == 2


@pytest.mark.parametrize("sections, field", [
    ({"summary": ""}, "sections.summary"),
    ({"timeline": "not rows"}, "sections.timeline"),
    ({"timeline": [{"time": "10:00"}]}, "sections.timeline"),
    ({"made_up": "x"}, "sections.made_up"),
])
def test_content_is_checked_against_the_kinds_schema(api, report, member, sections, field):
    response = login(api, member).patch(url("report-content", report), {"base_version": 1, "sections": sections},
                                        format="json")
    assert response.status_code == 400
    assert field in response.json()["error"]["details"]
    report.refresh_from_db()
    assert report.version == 1


def test_timeline_rows_keep_only_the_rooms_own_evidence(api, report, member):
    mine = sorted(room_message_ids(report.room))[0]
    response = login(api, member).patch(url("report-content", report), {"base_version": 1, "sections": {
        "timeline": [{"time": "10:00", "event": "告警", "evidence": [mine, 987654321, "x"]}]}}, format="json")
    assert response.status_code == 200
    report.refresh_from_db()
    assert report.content["sections"]["timeline"] == [{"time": "10:00", "event": "告警", "evidence": [mine]}]
    # The .docx names the cited message's time and sender as the row's source.
    document = read_docx(report)
    timeline = next(t for t in document.tables if t.rows[0].cells[0].text == "時間")
    assert [c.text for c in timeline.rows[0].cells] == ["時間", "事件", "來源"]
    assert "陳指揮" in timeline.rows[1].cells[2].text


def test_observers_read_but_cannot_edit_and_outsiders_get_404(api, report, observer, outsider):
    login(api, observer)
    assert api.get(url("report-versions", report)).status_code == 200
    assert api.patch(url("report-content", report), {"base_version": 1, "sections": {"summary": "x"}},
                     format="json").status_code == 403
    assert api.post(url("report-section-regenerate", report, key="summary"), {}, format="json").status_code == 403
    assert api.post(url("report-finalize", report)).status_code == 403
    login(api, outsider)
    for name in ("report-versions", "report-detail"):
        assert api.get(url(name, report)).status_code == 404
    assert api.get(url("report-diff", report) + "?from=1&to=1").status_code == 404
    assert api.patch(url("report-content", report), {"base_version": 1, "sections": {"summary": "x"}},
                     format="json").status_code == 404


# --- One section rewritten by AI ------------------------------------------------------------------


def test_regenerating_one_section_makes_one_ai_request_and_changes_only_that_section(
        api, incident, commander, member, settings, django_capture_on_commit_callbacks, published):
    with FakeAIServer() as ai:
        settings.AI_PROVIDER, settings.DIFY_BASE_URL, settings.DIFY_API_KEY = "dify", ai.base_url, "app-key"
        settings.DIFY_TIMEOUT_SECONDS = 5
        report = generate(incident, commander, django_capture_on_commit_callbacks)
        before = dict(report.content["sections"])
        ai.answer = json.dumps({"current_status": "AI 重寫：服務穩定，監控持續中。"}, ensure_ascii=False)
        calls = len(ai.requests)
        with django_capture_on_commit_callbacks(execute=True):
            response = login(api, member).post(url("report-section-regenerate", report, key="current_status"),
                                               {"instruction": "寫短一點，加上監控狀態"}, format="json")
        assert response.status_code == 202
        assert len(ai.requests) == calls + 1
        sent = ai.requests[-1].json
    assert "寫短一點，加上監控狀態" in sent["query"] and before["current_status"] in sent["query"]
    report.refresh_from_db()
    latest = report.versions.get(number=report.version)
    assert (latest.number, latest.source, latest.changed_sections) == (2, VersionSource.SECTION_AI, ["current_status"])
    assert report.content["sections"]["current_status"] == "AI 重寫：服務穩定，監控持續中。"
    assert {k: v for k, v in report.content["sections"].items() if k != "current_status"} \
        == {k: v for k, v in before.items() if k != "current_status"}
    assert latest.ledger["provider"] == "dify" and latest.ledger["prompt_version"]
    assert any(event == "report.section.delta" for _, event, _ in published)


def test_a_failing_ai_leaves_the_section_as_it_was_and_says_why(api, incident, commander, member, settings,
                                                                 django_capture_on_commit_callbacks, published):
    report = generate(incident, commander, django_capture_on_commit_callbacks)
    with FakeAIServer(script=[500]) as ai:
        settings.AI_PROVIDER, settings.DIFY_BASE_URL, settings.DIFY_API_KEY = "dify", ai.base_url, "app-key"
        with django_capture_on_commit_callbacks(execute=True):
            response = login(api, member).post(url("report-section-regenerate", report, key="summary"), {},
                                               format="json")
        assert response.status_code == 202 and len(ai.requests) == 1
    report.refresh_from_db()
    assert report.version == 1
    failed = [payload for _, event, payload in published if event == "report.section.failed"]
    assert failed and failed[0]["key"] == "summary" and "保留原本內容" in failed[0]["message"]


# --- Compare and sign off ---------------------------------------------------------------------------


def test_the_diff_is_character_level_for_prose_and_by_rows_for_tables(api, report, member):
    login(api, member)
    original = report.content["sections"]["summary"]
    api.patch(url("report-content", report), {"base_version": 1, "sections": {
        "summary": original + "根因已確認。",
        "timeline": [{"time": "10:00", "event": "新增的時間點"}]}}, format="json")
    body = api.get(url("report-diff", report) + "?from=1&to=2").json()
    summary = body["sections"]["summary"]
    assert summary["status"] == "changed"
    assert {"op": "insert", "text": "根因已確認。"} in summary["diff"]
    assert body["sections"]["timeline"]["added"] == [{"time": "10:00", "event": "新增的時間點"}]
    assert body["sections"]["timeline"]["removed"]
    assert body["sections"]["final_resolution"] == {"status": "unchanged"}
    assert api.get(url("report-diff", report) + "?from=1&to=9").status_code == 400
    assert api.get(url("report-diff", report) + "?from=x&to=2").status_code == 400


def test_a_commander_finalizes_and_the_docx_carries_the_approval_line(api, report, commander, member):
    assert login(api, member).post(url("report-finalize", report)).status_code == 403
    body = login(api, commander).post(url("report-finalize", report)).json()
    assert (body["state"], body["final_version"], body["approved_by"]["id"]) == ("final", 1, commander.id)
    report.refresh_from_db()
    text = all_text(read_docx(report))
    assert "核准者" in text and commander.label in text
    again = api.post(url("report-finalize", report))
    assert again.status_code == 409 and again.json()["error"]["code"] == "already_final"
    # Editing a final report starts a new draft on top; the final version stays as it was.
    assert api.patch(url("report-content", report), {"base_version": 1, "sections": {"summary": "再修正"}},
                     format="json").status_code == 200
    report.refresh_from_db()
    assert (report.state, report.version, report.final_version) == (ReportState.DRAFT, 2, 1)
    final = api.get(url("report-download", report) + "?version=1")
    assert "核准者" in all_text(read_docx(b"".join(final.streaming_content)))


def test_an_invented_message_id_is_dropped_and_the_report_still_completes(incident, commander, settings,
                                                                          django_capture_on_commit_callbacks):
    mine = sorted(room_message_ids(incident))[0]
    answer = json.loads(FakeAIServer().answer)
    answer["timeline"] = [{"time": "09:40", "event": "告警觸發", "evidence": [mine, 424242424]},
                          {"time": "11:10", "event": "服務恢復", "evidence": [777777777]}]
    answer["summary"] = f"摘要 [m{mine}] 與捏造 [m555555555]。"
    with FakeAIServer(answer=json.dumps(answer, ensure_ascii=False)) as ai:
        settings.AI_PROVIDER, settings.DIFY_BASE_URL, settings.DIFY_API_KEY = "dify", ai.base_url, "app-key"
        report = generate(incident, commander, django_capture_on_commit_callbacks)
    assert report.status == "completed"
    sections = report.content["sections"]
    assert [row["evidence"] for row in sections["timeline"]] == [[mine], []]
    assert sections["summary"] == f"摘要 [m{mine}] 與捏造 。"
    # The prose citation becomes a short list of sources under the section.
    assert "來源：" in all_text(read_docx(report))


def test_the_ledger_prices_tokens_from_ai_prices(incident, commander, settings, django_capture_on_commit_callbacks,
                                                 api, member):
    settings.AI_PRICES = {"gpt-4o-mini": {"input": 0.15, "output": 0.6}}
    with FakeAIServer() as ai:
        settings.AI_PROVIDER, settings.OPENAI_BASE_URL, settings.OPENAI_API_KEY = "openai", ai.base_url, "sk-test"
        settings.OPENAI_MODEL, settings.OPENAI_STREAM = "gpt-4o-mini", False
        report = generate(incident, commander, django_capture_on_commit_callbacks)
    ledger = report.ledger
    assert ledger["provider"] == "openai" and ledger["model"] == "gpt-4o-mini" and ledger["prompt_version"]
    expected = (ledger["prompt_tokens"] * 0.15 + ledger["completion_tokens"] * 0.6) / 1_000_000
    assert ledger["prompt_tokens"] > 0 and ledger["cost"] == pytest.approx(expected, abs=1e-6)
    assert ledger["currency"] == "USD" and ledger["latency_ms"] >= 0
    listed = login(api, member).get(reverse("reports-api:report-list", kwargs={"room_id": incident.id})).json()
    assert listed["results"][0]["ledger_label"].startswith("AI · ") if isinstance(listed, dict) \
        else listed[0]["ledger_label"].startswith("AI · ")


def test_a_report_of_an_archived_room_cannot_be_edited(api, report, commander):
    report.room.status = "archived"
    report.room.save()
    response = login(api, commander).patch(url("report-content", report),
                                           {"base_version": 1, "sections": {"summary": "x"}}, format="json")
    assert response.status_code == 409



def test_the_dashboard_totals_ai_cost_per_month(api, incident, commander, member, outsider, settings,
                                                  django_capture_on_commit_callbacks):
    settings.AI_PRICES = {"gpt-4o-mini": {"input": 0.15, "output": 0.6, "currency": "USD"}}
    with FakeAIServer() as ai:
        settings.AI_PROVIDER, settings.OPENAI_BASE_URL, settings.OPENAI_API_KEY = "openai", ai.base_url, "sk-test"
        settings.OPENAI_MODEL, settings.OPENAI_STREAM = "gpt-4o-mini", False
        report = generate(incident, commander, django_capture_on_commit_callbacks)
    months = login(api, member).get(reverse("reports-api:ledger-months") + "?months=3").json()["months"]
    assert len(months) == 3
    this_month = months[0]
    assert this_month["versions"] == 1 and this_month["tokens"] == report.ledger["prompt_tokens"] + \
        report.ledger["completion_tokens"]
    assert this_month["label"].startswith("US$")
    # Someone outside the room does not see its cost.
    assert login(api, outsider).get(reverse("reports-api:ledger-months")).json()["months"][0]["versions"] == 0
    assert api.get(reverse("reports-api:ledger-months") + "?months=99").status_code == 400
