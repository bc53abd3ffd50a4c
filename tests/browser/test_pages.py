"""What people see at a desk and on a phone: the room list and room page at 1366x900 and
390x844, "add as task" remembered across reloads, the operator's admin and daily reports.

Real Chromium against a real uvicorn (the stack of test_room_page); screenshots of each page
at both sizes land in test-artifacts/browser/.
"""

import re
import uuid

import pytest
from django.contrib.auth.models import Group
from playwright.sync_api import expect

from accounts.operators import OPERATORS_GROUP, ensure_operators_group
from incidents.models import ActionItem, IncidentRoom, MemberRole, Message, MessageKind, RoomStatus
from reports.models import Report, ReportKind, ReportStatus
from tests.browser.test_room_page import ARTIFACTS, browser, log_in, stack  # noqa: F401 - shared fixtures
from tests.factories import add_member, add_messages, make_room, make_user

pytestmark = [pytest.mark.browser, pytest.mark.integration, pytest.mark.django_db(transaction=True)]

DESK = {"width": 1366, "height": 900}
PHONE = {"width": 390, "height": 844}
SIZES = {"desk": DESK, "phone": PHONE}
NOTES_TEXT = (
    "## 問題摘要\n印表機佇列卡住。\n\n## 處理步驟\n- 重新啟動列印服務\n\n## 解決方式\n清除佇列後恢復。\n\n"
    "## 後續步驟\n- 為列印佇列長度加上告警\n- 更新列印伺服器的修補程式\n"
)
NEXT_STEPS = ["為列印佇列長度加上告警", "更新列印伺服器的修補程式"]


@pytest.fixture
def open_page(browser, stack):  # noqa: F811 - the fixture imported above
    contexts = []

    def open_page(size, locale="zh-TW"):
        context = browser.new_context(viewport=SIZES[size], locale=locale)
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(20_000)
        return page

    yield open_page
    for context in contexts:
        context.close()


def shot(page, name):
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def overflow(page) -> dict:
    return page.evaluate("({scroll: document.documentElement.scrollWidth, inner: window.innerWidth})")


def busy_room():
    commander = make_user(username=f"ic-{uuid.uuid4().hex[:6]}", display_name="陳指揮官 Commander Chen")
    responder = make_user(display_name="王小明 Bob Wang")
    room = make_room(
        title="核心交換器 BGP 中斷，臺北總部與新竹辦公室之間的連線全部中斷 Core switch BGP down",
        commander=commander, category="Network", severity="sev1",
    )
    add_member(room, responder, MemberRole.RESPONDER)
    add_messages(room, commander, 6, body="更新 {i}：BGP session 在 CORE-SW-01 與 ISP 之間反覆建立又中斷，正在檢查光纖模組與設定差異。")
    Message.objects.create(room=room, sender=responder, kind=MessageKind.TEXT,
                           body="Checked https://grafana.example.com/d/core-network/bgp-sessions?orgId=1&from=now-6h — "
                                "flapping every 90 seconds since 09:12.")
    Message.objects.create(room=room, sender=commander, kind=MessageKind.TEXT,
                           body="\n".join(f"log line {i}: BGP neighbor 203.0.113.{i % 250} state Idle" for i in range(60)))
    make_room(title="郵件延遲 Mail delay", commander=commander, category="Email", severity="sev3")
    resolved = make_room(title="印表機離線 Printer offline", commander=commander, category="Printer", severity="sev4")
    IncidentRoom.objects.filter(id=resolved.id).update(status=RoomStatus.RESOLVED)
    return commander, room


@pytest.mark.parametrize("size", ["desk", "phone"])
def test_room_list_and_room_page_fit_the_screen(open_page, stack, size):
    commander, room = busy_room()
    page = open_page(size)
    log_in(page, stack["url"], commander.username)
    page.wait_for_selector("#rooms td.room-title")
    sizes = overflow(page)
    assert sizes["scroll"] <= sizes["inner"], sizes
    shot(page, f"20-room-list-{size}")

    page.goto(f"{stack['url']}/rooms/{room.id}/")
    page.wait_for_selector("#live-state.live")
    sizes = overflow(page)
    assert sizes["scroll"] <= sizes["inner"], sizes
    widths = page.evaluate("""() => [...document.querySelectorAll('#timeline li.msg.kind-text .body')]
        .map(b => b.getBoundingClientRect().width)""")
    assert widths, "no message on the page"
    # A 60-line paste is folded behind "Show more" and opens on demand.
    long_message = page.locator("#timeline li.msg", has_text="log line 59")
    folded = long_message.locator(".body").bounding_box()["height"]
    long_message.locator(".show-more").click()
    assert long_message.locator(".body").bounding_box()["height"] > folded * 1.3
    assert "顯示較少" in long_message.locator(".show-more").inner_text()
    long_message.locator(".show-more").click()
    if size == "phone":
        # The text column of a message takes most of the screen, not a 3-character strip.
        assert min(widths) >= 0.6 * sizes["inner"], (widths, sizes)
        # The top bar is one line: the menu folds away until asked for.
        assert not page.is_visible("#topmenu")
        page.click("#menu-toggle")
        assert page.is_visible("#topmenu .topnav")
        shot(page, f"21-room-page-{size}-menu")
        page.click("#menu-toggle")
    else:
        assert page.is_visible("#topmenu .topnav")
    shot(page, f"21-room-page-{size}")


def test_a_search_with_no_match_says_so(open_page, stack):
    commander, _room = busy_room()
    page = open_page("phone")
    log_in(page, stack["url"], commander.username)
    page.goto(f"{stack['url']}/rooms/?q=nothing-like-this")
    assert "沒有符合" in page.inner_text("#rooms-empty")
    assert page.locator("#rooms-empty").get_by_text("開啟一個").count() == 0
    shot(page, "22-room-list-no-match-phone")
    # Responders have neither the daily reports nor the admin in their menu.
    assert page.locator("#nav-daily").count() == 0 and page.locator("#nav-admin").count() == 0


def notes_room():
    commander = make_user(username=f"ic-{uuid.uuid4().hex[:6]}", display_name="林指揮官 Lin")
    room = make_room(title="印表機佇列卡住 Print queue stuck", commander=commander, category="Printer")
    add_messages(room, commander, 3, body="列印更新 {i}")
    IncidentRoom.objects.filter(id=room.id).update(status=RoomStatus.RESOLVED, resolution_summary="清除佇列")
    notes = Report.objects.create(
        room=room, kind=ReportKind.NOTES, status=ReportStatus.COMPLETED, provider="offline", language="zh-hant",
        requested_by=commander, content={"text": NOTES_TEXT, "next_steps": NEXT_STEPS},
    )
    return commander, room, notes


def test_add_as_task_twice_makes_one_task_and_says_added_after_reload(open_page, stack):
    commander, room, notes = notes_room()
    page = open_page("desk")
    log_in(page, stack["url"], commander.username)
    page.goto(f"{stack['url']}/rooms/{room.id}/")
    page.wait_for_selector("#notes-next-list .add-task")
    # Each next step is shown once: in the list, not again in the text above it.
    assert "為列印佇列長度加上告警" not in page.inner_text("#notes-text")
    assert page.locator("#notes-next-list li").count() == 2
    page.click("#notes-next-list .add-task >> nth=0")
    page.wait_for_selector("#notes-next-list .add-task.added")
    page.wait_for_selector("#task-list li")

    page.reload()
    page.wait_for_selector("#notes-next-list .add-task.added")
    first = page.locator("#notes-next-list .add-task >> nth=0")
    assert "已加入" in first.inner_text() and first.is_disabled()
    assert "新增為任務" in page.locator("#notes-next-list .add-task >> nth=1").inner_text()
    # The same request again (another tab, a double tap) gives the same task back.
    status = page.evaluate(f"""async () => (await fetch('/api/rooms/{room.id}/action-items/', {{
        method: 'POST', credentials: 'same-origin',
        headers: {{'Content-Type': 'application/json', 'X-CSRFToken': window.Warroom.cookie('csrftoken')}},
        body: JSON.stringify({{title: '為列印佇列長度加上告警', source: 'notes', notes_version: '{notes.id}', notes_step: 0}})
    }})).status""")
    assert status == 200
    assert ActionItem.objects.filter(room=room).count() == 1
    item = ActionItem.objects.get(room=room)
    assert (item.notes_version, item.notes_step, item.title) == (notes.id, 0, NEXT_STEPS[0])
    assert page.inner_text("#tasks-count") == "1"
    shot(page, "23-notes-and-tasks-desk")
    page.set_viewport_size(PHONE)
    shot(page, "23-notes-and-tasks-phone")


def test_a_resolved_room_without_notes_has_an_empty_state(open_page, stack):
    commander = make_user(username=f"ic-{uuid.uuid4().hex[:6]}")
    room = make_room(title="沒有紀錄 No notes", commander=commander)
    IncidentRoom.objects.filter(id=room.id).update(status=RoomStatus.RESOLVED)
    page = open_page("desk")
    log_in(page, stack["url"], commander.username)
    page.goto(f"{stack['url']}/rooms/{room.id}/")
    page.wait_for_selector("#notes-empty:not([hidden])")
    assert "尚無工單紀錄" in page.inner_text("#notes-empty")


def make_operator():
    operator = make_user(username=f"op-{uuid.uuid4().hex[:6]}", display_name="值班主管 Operator", staff=True)
    # Transactional tests empty the tables the data migration filled: make the group again.
    operator.groups.add(ensure_operators_group())
    return operator


def test_operator_opens_the_report_admin_and_the_beat_schedule(open_page, stack):
    operator = make_operator()
    _commander, room = busy_room()
    Report.objects.create(room=room, kind=ReportKind.INCIDENT, status=ReportStatus.FAILED, requested_by=operator,
                          error_message="AI 逾時", title="核心交換器報告")
    page = open_page("phone")
    log_in(page, stack["url"], operator.username)
    page.click("#menu-toggle")
    page.click("#nav-admin")
    page.wait_for_url(re.compile(r".*/admin/$"))
    assert page.title().endswith("Warroom")
    assert "Django" not in page.inner_text("#header")
    admin_index = page.inner_text("#content")
    assert "報告" in admin_index or "Reports" in admin_index
    shot(page, "24-admin-index-phone")

    response = page.goto(f"{stack['url']}/admin/reports/report/")
    assert response.status == 200
    assert page.locator("#result_list tbody tr").count() == 1
    options = page.locator("select[name=action] option").all_inner_texts()
    assert any("失敗的階段" in option for option in options), options
    shot(page, "25-admin-reports-phone")

    response = page.goto(f"{stack['url']}/admin/django_celery_beat/periodictask/")
    assert response.status == 200
    shot(page, "26-admin-schedule-phone")
    page.set_viewport_size(DESK)
    for name, path in [("24-admin-index", "/admin/"), ("25-admin-reports", "/admin/reports/report/"),
                       ("26-admin-schedule", "/admin/django_celery_beat/periodictask/")]:
        assert page.goto(stack["url"] + path).status == 200
        shot(page, f"{name}-desk")
    assert Group.objects.get(name="Operators").user_set.filter(id=operator.id).exists()


def test_daily_reports_are_reachable_from_the_navigation(open_page, stack):
    operator = make_operator()
    page = open_page("phone")
    log_in(page, stack["url"], operator.username)
    for size in ["phone", "desk"]:
        page.set_viewport_size(SIZES[size])
        page.goto(f"{stack['url']}/rooms/")
        if size == "phone":
            page.click("#menu-toggle")
        page.click("#nav-daily")
        page.wait_for_url(re.compile(r".*/reports/daily/$"))
        assert page.is_visible("#daily-write button[type=submit]")
        sizes = overflow(page)
        assert sizes["scroll"] <= sizes["inner"], sizes
        shot(page, f"27-daily-reports-{size}")


def test_every_page_fits_and_is_photographed(open_page, stack):
    operator = make_operator()
    commander, room = busy_room()
    page = open_page("desk")
    page.goto(f"{stack['url']}/accounts/login/")
    page.fill("#id_username", operator.username)
    page.fill("#id_password", "not-the-password")
    page.click("button[type=submit]")
    page.wait_for_selector(".form-error")
    shot(page, "28-login-wrong-password-desk")
    page.set_viewport_size(PHONE)
    shot(page, "28-login-wrong-password-phone")
    log_in(page, stack["url"], operator.username)
    for (name, path), size in [(page_, size) for size in ["desk", "phone"] for page_ in [
            ("dashboard", "/rooms/dashboard/"), ("new-room", "/rooms/new/"), ("api-docs", "/api/docs/")]]:
        page.set_viewport_size(SIZES[size])
        response = page.goto(stack["url"] + path)
        assert response.status == 200, path
        if name == "dashboard":
            # (Not wait_for_function: its string predicate is an eval, which the CSP refuses.)
            expect(page.locator("#kpi-opened")).not_to_have_text("–")
            page.wait_for_selector("#chart-severity[width]")
            # The charts fill their cards.
            ratios = page.evaluate("""() => [...document.querySelectorAll('.charts .card')].map(card =>
                card.querySelector('canvas').getBoundingClientRect().width / (card.clientWidth - 2))""")
            assert ratios and min(ratios) > 0.85, ratios
        if name == "api-docs":
            page.wait_for_selector(".swagger-ui .info")
        else:
            sizes = overflow(page)
            assert sizes["scroll"] <= sizes["inner"], (path, sizes)
        shot(page, f"29-{name}-{size}")


def test_every_member_sees_the_notes_being_written(open_page, stack):
    from tests.fakes.ai_server import Reply

    commander = make_user(username=f"ic-{uuid.uuid4().hex[:6]}", display_name="指揮官 Kao")
    responder = make_user(username=f"resp-{uuid.uuid4().hex[:6]}", display_name="處理人員 Hsu")
    room = make_room(title="DNS 解析失敗 DNS failures", commander=commander, category="Network")
    add_member(room, responder, MemberRole.RESPONDER)
    add_messages(room, commander, 3, body="DNS 更新 {i}")
    # The notes take a few seconds to start, so that the skeleton can be seen.
    stack["ai"].script[:] = [Reply(answer=NOTES_TEXT, headers_delay=4, chunks=4, chunk_delay=0.3)]
    watcher = open_page("phone")
    log_in(watcher, stack["url"], responder.username)
    watcher.goto(f"{stack['url']}/rooms/{room.id}/")
    watcher.wait_for_selector("#live-state.live")
    assert not watcher.is_visible("#notes-card")

    resolver = open_page("desk")
    log_in(resolver, stack["url"], commander.username)
    resolver.goto(f"{stack['url']}/rooms/{room.id}/")
    resolver.wait_for_selector("#live-state.live")
    resolver.click("#resolve-open")
    resolver.fill("#resolve-summary", "改用備援 DNS")
    resolver.click("#resolve-submit")
    # The responder did not press Resolve, and still sees the notes being written, then the notes.
    watcher.wait_for_selector("#room-status[data-status=resolved]")
    watcher.wait_for_selector("#notes-skeleton:not([hidden])", timeout=3_000)
    shot(watcher, "30-notes-skeleton-for-members-phone")
    watcher.wait_for_selector("#notes-copy:not([hidden]), #notes-error:not([hidden])", timeout=60_000)
    shot(watcher, "31-notes-written-for-members-phone")
    assert watcher.is_hidden("#notes-error"), watcher.inner_text("#notes-error")
    assert "印表機佇列卡住" in watcher.inner_text("#notes-text")
    assert watcher.is_hidden("#notes-skeleton")


def test_the_english_ui_shows_english_system_lines_live_and_after_reload(open_page, stack):
    commander, room = busy_room()
    newcomer = make_user(display_name="新成員 Newcomer Lee")
    page = open_page("desk", locale="en-US")
    log_in(page, stack["url"], commander.username)
    page.select_option("select[name=language]", "en")
    page.wait_for_load_state()
    page.goto(f"{stack['url']}/rooms/{room.id}/")
    page.wait_for_selector("#live-state.live")
    # A line written while the page is open (the commander adds a member over the API) arrives live
    # in the page's language ...
    csrf = next(c["value"] for c in page.context.cookies() if c["name"] == "csrftoken")
    added = page.request.post(f"{stack['url']}/api/rooms/{room.id}/members/",
                              data={"user": newcomer.id, "role": "observer"},
                              headers={"X-CSRFToken": csrf, "Referer": stack["url"] + "/"})
    assert added.status == 201, added.text()
    line = page.locator("#timeline li.msg.kind-system", has_text="Newcomer Lee")
    expect(line).to_contain_text("joined as Observer")
    # ... and reads the same after a reload; the Chinese stored text is not shown.
    page.reload()
    expect(page.locator("#timeline li.msg.kind-system", has_text="Newcomer Lee")).to_contain_text("joined as Observer")
    assert "身分加入" not in page.inner_text("#timeline")
    # The report language menu starts at the page's language.
    assert page.input_value("#report-language") == "en"
    shot(page, "30-english-system-lines")
