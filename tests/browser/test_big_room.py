"""A long room in the browser: the page shows the newest messages, scrolling up loads older ones, and a
citation far back (/rooms/<id>/#m123) opens that message with its neighbours; live messages still arrive
once the timeline is back at the newest end. Real Chromium, uvicorn, channels-redis."""

from datetime import timedelta

import pytest
from django.utils import timezone

from incidents import services, views
from incidents.models import Message
from tests.browser.test_alerts_panel import page  # noqa: F401 - a page on the plain ASGI server
from tests.browser.test_room_page import browser, log_in, open_room, plain_page, shot  # noqa: F401 - the shared Chromium
from tests.factories import add_messages, make_room, make_user

pytestmark = [pytest.mark.browser, pytest.mark.integration, pytest.mark.django_db(transaction=True)]

MESSAGES = 1200


@pytest.fixture
def long_room(db):
    commander = make_user(username="ic-long", display_name="指揮官 Long")
    room = make_room(title="告警風暴 Alert storm", commander=commander, created_at=timezone.now() - timedelta(days=2))
    add_messages(room, commander, MESSAGES, start=room.created_at, step=timedelta(seconds=30), body="告警 {i} alert fired")
    return commander, room, list(Message.objects.filter(room=room).order_by("created_at", "id").values_list("id", flat=True))


def rendered_ids(page):
    return page.eval_on_selector_all("#timeline li.msg", "items => items.map(li => Number(li.dataset.id))")


def test_scrolling_up_loads_older_messages_in_order(page, asgi_server, long_room):
    commander, room, ids = long_room
    log_in(page, asgi_server["url"], commander.username)
    open_room(page, asgi_server["url"], room)
    assert rendered_ids(page) == ids[-views.ROOM_PAGE_MESSAGES:]
    assert page.is_visible("#timeline-older")
    shot(page, "big-room-01-newest")
    for _ in range(2):
        before = len(rendered_ids(page))
        page.eval_on_selector("#timeline", "t => { t.scrollTop = 0; t.dispatchEvent(new Event('scroll')); }")
        page.locator("#timeline li.msg").nth(before).wait_for(state="attached")  # the page's CSP forbids eval
    shown = rendered_ids(page)
    assert shown == ids[-len(shown):] and len(shown) == views.ROOM_PAGE_MESSAGES + 200
    # The reader stays where they were: the message that was at the top is still in view, not the oldest one.
    top = page.eval_on_selector("#timeline", "t => t.scrollTop")
    assert top > 0
    shot(page, "big-room-02-older-loaded")


def test_a_citation_far_back_opens_with_its_neighbours_and_the_live_end_comes_back(page, asgi_server, long_room):
    commander, room, ids = long_room
    cited = ids[100]
    log_in(page, asgi_server["url"], commander.username)
    page.goto(f"{asgi_server['url']}/rooms/{room.id}/#m{cited}")
    page.wait_for_selector("#live-state.live")
    page.wait_for_selector(f'#timeline li.msg.cited[data-id="{cited}"]')
    shown = rendered_ids(page)
    assert cited in shown and shown == ids[ids.index(shown[0]):ids.index(shown[0]) + len(shown)]
    assert ids[-1] not in shown
    assert page.locator(f'#timeline li[data-id="{cited}"]').is_visible()
    assert page.is_visible("#timeline-latest")
    shot(page, "big-room-03-citation-far-back")

    # While an old stretch is shown, a live message is not glued under it...
    services.message_post(room=room, sender=commander, body="新訊息 while reading history")
    page.wait_for_timeout(500)
    assert "while reading history" not in page.inner_text("#timeline")
    # ...and "Jump to the latest" brings back the newest end, with it.
    page.click("#timeline-latest button")
    page.wait_for_selector("#timeline li.msg:last-child:has-text('while reading history')")
    assert page.is_hidden("#timeline-latest")
    # Posted through the server (this test process has no channel layer of its own), so the
    # message must arrive live over the page's socket or in the re-read after it connects.
    page.evaluate("(url) => window.Warroom.api(url, {method: 'POST', json: {body: '再一則 live again'}})",
                  f"/api/rooms/{room.id}/messages/")
    page.wait_for_selector("#timeline li.msg:last-child:has-text('live again')")
    shot(page, "big-room-04-back-to-latest")

    # A citation to a message that is not in this room says so.
    page.evaluate("location.hash = '#m999999999'")
    page.wait_for_selector(".toast.error")
