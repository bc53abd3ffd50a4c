"""A real Prometheus Alertmanager (Debian's prometheus-alertmanager) delivers to a running Warroom.

The receiver is the one docs/alerts.md tells people to paste, verbatim but for the address
and the token; the route is a fast one so that the test waits seconds, not minutes.
"""

import re
import shutil
from datetime import datetime, timedelta, timezone as dt_timezone

import httpx
import pytest

from alerts.models import Alert, AlertStatus, SourceKind
from alerts.services import alert_source_create
from incidents.models import IncidentRoom
from tests.services import ROOT, Process, free_port, require, wait_until

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

FAST_ROUTE = """route:
  receiver: warroom
  group_by: [alertname, service]
  group_wait: 1s
  group_interval: 1s
  repeat_interval: 1h
"""


def documented_receiver() -> str:
    text = (ROOT / "docs" / "alerts.md").read_text()
    blocks = re.findall(r"```yaml\n(.*?)```", text, re.S)
    return next(block for block in blocks if block.startswith("receivers:"))


@pytest.fixture
def alertmanager(asgi_server, tmp_path):
    binary = shutil.which("prometheus-alertmanager")
    require(binary, "prometheus-alertmanager (apt-get install prometheus-alertmanager)")
    source, token = alert_source_create(name="prometheus-it", kind=SourceKind.ALERTMANAGER)
    receiver = documented_receiver()
    assert "http://127.0.0.1:8000/api/alerts/alertmanager" in receiver and "<source token>" in receiver
    receiver = receiver.replace("http://127.0.0.1:8000", asgi_server["url"]).replace("<source token>", token)
    (tmp_path / "am.yml").write_text(FAST_ROUTE + receiver)
    port = free_port()
    process = Process(
        "alertmanager",
        [binary, f"--config.file={tmp_path / 'am.yml'}", f"--storage.path={tmp_path / 'data'}",
         f"--web.listen-address=127.0.0.1:{port}", "--cluster.listen-address="],
        env={"PATH": "/usr/bin:/bin"}, log_dir=tmp_path,
    ).start()
    base = f"http://127.0.0.1:{port}"
    wait_until(lambda: httpx.get(f"{base}/-/ready").status_code == 200, timeout=30, what="alertmanager",
               process=process.popen, log=process.log)
    yield {"url": base, "source": source, "process": process}
    process.stop()


def test_alertmanager_fires_then_resolves_into_one_room(alertmanager):
    base = alertmanager["url"]
    alert = {
        "labels": {"alertname": "CoreSwitchBGPDown", "service": "core-network", "severity": "critical", "instance": "CORE-SW-01"},
        "annotations": {"summary": "核心交換器 BGP 中斷"},
        "generatorURL": "http://prom.example/graph",
    }
    assert httpx.post(f"{base}/api/v2/alerts", json=[alert]).status_code == 200
    wait_until(lambda: Alert.objects.filter(source=alertmanager["source"]).exists(), timeout=30,
               what="the firing webhook", process=alertmanager["process"].popen, log=alertmanager["process"].log)
    fired = Alert.objects.get(source=alertmanager["source"])
    assert fired.status == AlertStatus.FIRING and len(fired.fingerprint) == 16  # Alertmanager's own fingerprint
    assert fired.room.title == "核心交換器 BGP 中斷" and fired.room.severity == "sev1"
    assert fired.starts_at is not None and fired.ends_at is None

    ended = (datetime.now(dt_timezone.utc) - timedelta(seconds=1)).isoformat()
    assert httpx.post(f"{base}/api/v2/alerts", json=[{**alert, "endsAt": ended}]).status_code == 200
    wait_until(lambda: Alert.objects.get(pk=fired.pk).status == AlertStatus.RESOLVED, timeout=30,
               what="the resolved webhook", process=alertmanager["process"].popen, log=alertmanager["process"].log)
    assert IncidentRoom.objects.filter(alerts__source=alertmanager["source"]).distinct().count() == 1
    assert Alert.objects.filter(source=alertmanager["source"]).count() == 1
    assert any("CoreSwitchBGPDown" in body or "核心交換器" in body for body in fired.room.messages.values_list("body", flat=True))
