"""What a responder sees, in a real browser: Debian's Chromium driven by Playwright against
a real uvicorn, a real Celery worker over Redis, S3 (moto) and a local server speaking DIFY.

Screenshots of every step are saved under test-artifacts/browser/.
"""

import io
import json
import os
import re
from pathlib import Path

import pytest
from docx import Document

from incidents.models import IncidentRoom, MemberRole, RoomStatus
from reports.models import Report, ReportKind
from tests.factories import PASSWORD, add_member, add_messages, make_room, make_user
from tests.fakes.ai_server import DEFAULT_ANSWER, FakeAIServer, Reply
from tests.services import BIN, ROOT, Process, free_port, require, start_celery_worker, wait_until

pytestmark = [pytest.mark.browser, pytest.mark.integration, pytest.mark.django_db(transaction=True)]

CHROMIUM = "/usr/lib/chromium/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
        "--disable-component-update", "--no-first-run", "--disable-sync", "--metrics-recording-only", "--mute-audio"]
ARTIFACTS = ROOT / "test-artifacts" / "browser"
NOTES_ANSWER = (
    "## 問題摘要\n新竹辦公室 VPN 延遲超過 300 ms，ISP 線路掉包。\n\n"
    "## 處理步驟\n- 檢查新竹上行線路\n- 開立 ISP 障礙單 #88213\n- 將流量切換到備援線路\n\n"
    "## 解決方式\nISP 更換故障的光纖模組，延遲恢復正常。\n\n"
    "## 後續步驟\n- 新增上行線路掉包率告警\n- 與 ISP 檢討備援切換時間\n"
)


def sibling_redis(url):
    """Another database of the same Redis, so that no other test's worker takes these tasks."""
    base, _, db = url.rpartition("/")
    return f"{base}/{(int(db or 0) + 1) % 16}"


@pytest.fixture(scope="module")
def stack(service_env, redis_url, service_log_dir):
    require(Path(CHROMIUM).exists(), "Debian's chromium (apt-get install chromium)")
    import redis

    own_redis = sibling_redis(redis_url)
    redis.Redis.from_url(own_redis).flushdb()
    with FakeAIServer() as ai:
        env = {
            **service_env,
            "REDIS_URL": own_redis,
            "AI_PROVIDER": "dify",
            "DIFY_BASE_URL": ai.base_url,
            "DIFY_API_KEY": "app-browser",
            "DIFY_TIMEOUT_SECONDS": "20",
            "POSTMORTEM_MIN_MINUTES": "100000",
        }
        worker = start_celery_worker(env, service_log_dir, name="browser-worker", concurrency=3)
        port = free_port()
        server = Process(
            "browser-uvicorn",
            [str(BIN / "uvicorn"), "config.asgi:application", "--host", "127.0.0.1", "--port", str(port), "--lifespan", "on"],
            env=env, log_dir=service_log_dir,
        ).start()
        base = f"http://127.0.0.1:{port}"
        import httpx

        wait_until(lambda: httpx.get(f"{base}/healthz").status_code == 200, timeout=60, what="uvicorn",
                   process=server.popen, log=server.log)
        yield {"url": base, "ai": ai, "worker": worker, "server": server}
        server.stop()
        worker.stop()
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        for process in (server, worker):
            (ARTIFACTS / process.log.name).write_text(process.output())


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    # Playwright's sync API keeps an event loop running in this thread; the ORM
    # calls these tests make between browser steps are ordinary blocking calls.
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        yield chromium
        chromium.close()
    if previous is None:
        os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
    else:
        os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@pytest.fixture
def page(browser, stack):
    context = browser.new_context(viewport={"width": 1300, "height": 1000}, locale="zh-TW", accept_downloads=True)
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=stack["url"])
    page = context.new_page()
    page.set_default_timeout(30_000)
    yield page
    context.close()


@pytest.fixture
def plain_page(browser, asgi_server):
    """A desk-size page in Traditional Chinese for tests against the plain test server (no AI stack)."""
    context = browser.new_context(viewport={"width": 1300, "height": 1000}, locale="zh-TW")
    page = context.new_page()
    page.set_default_timeout(30_000)
    yield page
    context.close()


def shot(page, name):
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def log_in(page, base, username):
    page.goto(f"{base}/accounts/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    shot(page, "01-login")
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(r".*/rooms/$"))


def open_room(page, base, room):
    page.goto(f"{base}/rooms/{room.id}/")
    page.wait_for_selector("#live-state.live")


# Records every state the progress dialog's stage list goes through.
WATCH_STAGES = """() => {
  window.__stages = [];
  const record = () => {
    const current = document.querySelector('#progress-stages li.current');
    const done = [...document.querySelectorAll('#progress-stages li.done')].map(li => li.dataset.stage);
    window.__stages.push({current: current ? current.dataset.stage : null, done});
  };
  new MutationObserver(record).observe(document.getElementById('progress-stages'), {subtree: true, attributes: true});
}"""


def resolved_room_with_people():
    commander = make_user(username="ic", display_name="指揮官 Chen")
    responder = make_user(username="resp", display_name="處理人員 Wang")
    room = make_room(title="郵件閘道中斷 Mail outage", commander=commander, category="Email", severity="sev2")
    add_member(room, responder, MemberRole.RESPONDER)
    add_messages(room, commander, 12, body="更新 {i}：佇列處理中 queue draining")
    IncidentRoom.objects.filter(id=room.id).update(status=RoomStatus.RESOLVED, resolution_summary="修正 DNS 設定")
    return commander, room


def test_generate_walks_every_stage_and_downloads_a_docx(page, stack):
    commander, room = resolved_room_with_people()
    # The content call takes a while, so that the dialog is seen mid-way.
    stack["ai"].script[:] = [Reply(answer=DEFAULT_ANSWER, headers_delay=1.5)]
    log_in(page, stack["url"], "ic")
    open_room(page, stack["url"], room)
    page.evaluate(WATCH_STAGES)
    page.click("#generate-report")
    page.wait_for_selector("#progress-dialog[open]")
    page.wait_for_selector('#progress-stages li.current[data-stage="generating_content"]')
    shot(page, "02-generate-progress")
    page.wait_for_selector("#progress-download:not([hidden])", timeout=60_000)
    shot(page, "03-generate-done")
    states = page.evaluate("window.__stages")
    seen = {state["current"] for state in states} | {stage for state in states for stage in state["done"]}
    assert {"collecting_data", "generating_content", "assembling_document", "completed"} <= seen, states
    assert page.locator("#progress-stages li.done").count() == 4

    with page.expect_download() as download_info:
        page.click("#progress-download")
    download = download_info.value
    assert download.suggested_filename.endswith(".docx") and "郵件閘道中斷" in download.suggested_filename
    document = Document(io.BytesIO(Path(download.path()).read_bytes()))
    headings = [p.text for p in document.paragraphs if p.style.name.startswith("Heading")]
    for title in ["事件摘要", "時間軸", "參與人員", "處理過程", "目前狀態", "最終處置結果"]:
        assert any(title in heading for heading in headings), headings
    page.click("#progress-close")
    row = page.locator(f'#report-list li[data-id="{download_info.value.url.split("/")[-2]}"]')
    assert row.get_attribute("data-status") == "completed"
    assert "DIFY" in page.inner_text("#report-list")
    shot(page, "04-report-list")


def test_resolve_is_immediate_and_notes_stream_in(page, stack):
    commander = make_user(username="ic2", display_name="指揮官 Lin")
    room = make_room(title="VPN 連線緩慢 VPN latency", commander=commander, category="Network")
    add_messages(room, commander, 5, body="VPN 更新 {i}")
    # Notes arrive in eight pieces, half a second apart.
    stack["ai"].script[:] = [Reply(answer=NOTES_ANSWER, chunks=8, chunk_delay=0.5)]
    log_in(page, stack["url"], "ic2")
    open_room(page, stack["url"], room)
    page.click("#resolve-open")
    page.fill("#resolve-summary", "ISP 更換光纖模組")
    shot(page, "05-resolve-dialog")
    page.click("#resolve-submit")
    page.wait_for_selector("#room-status[data-status=resolved]")
    # The room is resolved while no note has arrived yet.
    assert page.inner_text("#notes-text") == ""
    assert page.is_visible("#notes-skeleton") or page.inner_text("#notes-text") != ""
    shot(page, "06-resolved-before-notes")
    lengths = []
    for index in range(40):
        text = page.inner_text("#notes-text")
        if text and (not lengths or len(text) > lengths[-1]):
            lengths.append(len(text))
            if len(lengths) in (1, 3):
                shot(page, f"07-notes-streaming-{len(lengths)}")
        if page.is_visible("#notes-copy"):
            break
        page.wait_for_timeout(250)
    page.wait_for_selector("#notes-copy:not([hidden])")
    assert len(lengths) >= 3, lengths  # the text grew in at least three reads
    shot(page, "08-notes-done")
    page.click("#notes-copy")
    copied = page.evaluate("navigator.clipboard.readText()")
    assert copied.strip() == NOTES_ANSWER.strip()
    notes = Report.objects.get(room=room, kind=ReportKind.NOTES)
    assert notes.provider == "dify" and notes.content["next_steps"] == ["新增上行線路掉包率告警", "與 ISP 檢討備援切換時間"]
    # One click turns a next step into a task.
    page.click("#notes-next-list .add-task >> nth=0")
    page.wait_for_selector("#task-list li")
    assert "新增上行線路掉包率告警" in page.inner_text("#task-list")
    shot(page, "09-task-from-notes")


def test_panel_ends_completed_when_the_websocket_dies_mid_generation(page, stack):
    commander, room = resolved_room_with_people()
    stack["ai"].script[:] = [Reply(answer=DEFAULT_ANSWER, headers_delay=3)]
    log_in(page, stack["url"], "ic")
    open_room(page, stack["url"], room)
    page.click("#generate-report")
    page.wait_for_selector("#progress-dialog[open]")
    # Kill the socket for good: no reconnect, so only the page's REST reconcile can finish the story.
    page.evaluate("window.WarroomRoom.connection.close()")
    page.wait_for_selector("#live-state.offline")
    shot(page, "10-socket-killed")
    page.wait_for_selector("#progress-download:not([hidden])", timeout=60_000)
    page.click("#progress-close")
    page.wait_for_selector('#report-list li[data-status="completed"]')
    shot(page, "11-reconciled")
    assert Report.objects.get(room=room, kind=ReportKind.INCIDENT).status == "completed"
