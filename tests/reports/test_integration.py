"""The whole chain for real: the API on uvicorn, a Celery worker over Redis, S3 storage, LibreOffice."""

import io
import subprocess
import time
from datetime import timedelta

import boto3
import pytest
from django.conf import settings
from docx import Document
from docx.oxml.ns import qn

from incidents.models import MemberRole, Message, MessageKind
from reports.models import Report, ReportStatus, ReportStep
from tests import factories
from tests.services import have, login_client, require

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]
ZH_TITLES = ["事件摘要", "時間軸", "參與人員", "處理過程", "目前狀態", "最終處置結果"]


def s3(s3_server):
    return boto3.client("s3", endpoint_url=s3_server["endpoint"], region_name="us-east-1",
                        aws_access_key_id="testing", aws_secret_access_key="testing")


def wait_for_report(report_id, *, timeout=90) -> Report:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        report = Report.objects.get(id=report_id)
        if not report.is_in_flight:
            return report
        time.sleep(0.2)
    raise AssertionError(f"report {report_id} still {Report.objects.get(id=report_id).status} after {timeout} s")


@pytest.fixture
def live_room(s3_server):
    commander = factories.make_user(username="ic-live", display_name="陳愛麗 Alice Chen")
    responder = factories.make_user(username="bob-live", display_name="王小明 Bob Wang")
    room = factories.make_room(commander=commander, title="郵件伺服器中斷 Mail outage", category="Email")
    factories.add_member(room, responder, MemberRole.RESPONDER)
    room.status, room.resolved_at = "resolved", room.created_at + timedelta(minutes=90)
    room.resolution_summary = "修正 DNS resolver 並清空佇列。"
    room.save()
    factories.add_messages(room, commander, 5, body="監控告警 {i}：佇列暴增")
    factories.add_messages(room, responder, 5, start=room.created_at + timedelta(minutes=20), body="處理中 {i}")
    Message.objects.create(room=room, kind=MessageKind.STATUS, body="Resolved after 90 min",
                           created_at=room.resolved_at)
    # The worker reads files from S3: put the screenshot where the row says it is.
    data = factories.png_bytes(1280, 720)
    image = factories.add_raw_file(room, responder, name="queue-dashboard.png", data=data, content_type="image/png",
                                   width=1280, height=720)
    s3(s3_server).put_object(Bucket=s3_server["bucket"], Key=image.file.name, Body=data)
    return room


def generate_through_the_api(asgi_server, room, username):
    client = login_client(asgi_server["url"], username, factories.PASSWORD)
    headers = {"X-CSRFToken": client.cookies.get("csrftoken"), "Referer": asgi_server["url"] + "/"}
    response = client.post(f"/api/rooms/{room.id}/reports/generate", json={}, headers=headers)
    assert response.status_code == 202, response.text
    assert response.json()["status"] == "pending"
    return client, response.json()["report_id"]


def test_a_report_is_written_on_a_real_worker_stored_in_s3_and_downloaded(
    celery_worker, asgi_server, s3_server, live_room
):
    client, report_id = generate_through_the_api(asgi_server, live_room, "bob-live")
    report = wait_for_report(report_id)
    assert report.status == ReportStatus.COMPLETED, (report.error_message, report.error_detail,
                                                     celery_worker.output()[-3000:])
    key = f"reports/{live_room.id}/{report_id}.docx"
    assert report.document.name == key
    stored = s3(s3_server).get_object(Bucket=s3_server["bucket"], Key=key)["Body"].read()

    detail = client.get(f"/api/rooms/{live_room.id}/reports/{report_id}").json()
    assert detail["status"] == "completed" and detail["percent"] == 100
    download = client.get(detail["download_url"])
    assert download.status_code == 200
    assert "filename*=utf-8''%E4%BA%8B%E4%BB%B6%E5%A0%B1%E5%91%8A" in download.headers["content-disposition"]
    assert download.content == stored

    document = Document(io.BytesIO(download.content))
    headings = [p.text for p in document.paragraphs if p.style.name == "Heading 1"]
    assert headings[:6] == ZH_TITLES
    assert len(document.tables) >= 3
    assert len(document.inline_shapes) == 1
    fonts = {el.get(qn("w:eastAsia")) for el in document.element.body.iter(qn("w:rFonts"))}
    assert settings.REPORT_EAST_ASIAN_FONT in fonts  # 微軟正黑體 unless configured
    # One step row per stage: nothing ran twice.
    assert list(ReportStep.objects.filter(report_id=report_id, parent=None).values_list("key", flat=True)) == [
        "collect_data", "generate_content", "assemble_document", "publish"]
    assert "reports.publish" in celery_worker.output()


def test_libreoffice_opens_the_report_and_finds_the_chinese_headings(
    celery_worker, asgi_server, s3_server, live_room, tmp_path
):
    require(have("libreoffice") and have("pdftotext"), "LibreOffice and pdftotext")
    client, report_id = generate_through_the_api(asgi_server, live_room, "ic-live")
    assert wait_for_report(report_id).status == ReportStatus.COMPLETED
    docx = tmp_path / "report.docx"
    docx.write_bytes(client.get(f"/api/rooms/{live_room.id}/reports/{report_id}/download").content)
    subprocess.run(
        ["libreoffice", "--headless", "--norestore", f"-env:UserInstallation=file://{tmp_path}/lo-profile",
         "--convert-to", "pdf", "--outdir", str(tmp_path), str(docx)],
        check=True, capture_output=True, timeout=120,
    )
    text = subprocess.run(["pdftotext", str(tmp_path / "report.pdf"), "-"], check=True, capture_output=True,
                          text=True).stdout
    for title in ZH_TITLES:
        assert title in text
    assert "郵件伺服器中斷" in text
