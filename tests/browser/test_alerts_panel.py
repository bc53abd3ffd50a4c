"""An alert opens a room; its Alerts panel updates live when the alert resolves (real Chromium, uvicorn, Redis)."""

import httpx
import pytest

from alerts.models import Alert, AlertStatus, SourceKind
from alerts.services import alert_source_create
from tests.alerts.payloads import alertmanager, am_alert
from tests.browser.test_room_page import browser, log_in, open_room, plain_page, shot  # noqa: F401 - the shared Chromium
from tests.factories import make_user

pytestmark = [pytest.mark.browser, pytest.mark.integration, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def page(plain_page):
    return plain_page


def test_room_opened_by_an_alert_shows_it_and_updates_live_when_it_resolves(page, asgi_server):
    base = asgi_server["url"]
    oncall = make_user(username="oncall", display_name="值班 On-call")
    source, token = alert_source_create(name="prometheus-browser", kind=SourceKind.ALERTMANAGER, default_members=[oncall])
    bgp = am_alert(fingerprint="b1", instance="CORE-SW-01")
    sneaky = am_alert(fingerprint="b2", instance="CORE-SW-02")
    sneaky["generatorURL"] = "javascript:alert(1)"

    def deliver(*alerts):
        response = httpx.post(f"{base}/api/alerts/alertmanager", json=alertmanager(*alerts),
                              headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == 200, response.text
        return response.json()

    room_id = deliver(bgp, sneaky)["rooms"][0]
    room = Alert.objects.get(fingerprint="b1").room
    assert str(room.id) == room_id

    log_in(page, base, "oncall")
    open_room(page, base, room)
    page.wait_for_selector('#alert-list li[data-status="firing"] >> nth=1')
    shot(page, "alerts-01-room-opened-by-alert")
    assert page.inner_text("#room-title") == "核心交換器 BGP 中斷 BGP down"
    assert page.inner_text("#alerts-firing-count") == "2"
    first = page.locator(f'#alert-list li[data-id="{Alert.objects.get(fingerprint="b1").id}"]')
    assert "instance=CORE-SW-01" in first.inner_text()
    assert first.locator("a.alert-link").first.get_attribute("href").startswith("http://prometheus.example:9090/")
    second = page.locator(f'#alert-list li[data-id="{Alert.objects.get(fingerprint="b2").id}"]')
    assert second.locator("a").count() == 0 and "javascript:alert(1)" in second.inner_text()

    # Resolved by Alertmanager while the page is open: the panel changes without a reload.
    deliver(am_alert(fingerprint="b1", instance="CORE-SW-01", status="resolved"))
    first.and_(page.locator('[data-status="resolved"]')).wait_for()
    assert page.inner_text("#alerts-firing-count") == "1"
    shot(page, "alerts-02-resolved-live")

    second.locator(".ack-alert").click()
    second.locator(".alert-acked").wait_for()
    assert "值班 On-call" in second.inner_text()
    acked = Alert.objects.get(fingerprint="b2")
    assert acked.acknowledged_by == oncall and acked.status == AlertStatus.FIRING
    shot(page, "alerts-03-acknowledged")
