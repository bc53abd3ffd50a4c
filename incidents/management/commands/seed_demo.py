"""Seed the demo: three people, a resolved incident with a real timeline, an active one.

Safe to run again: people get their demo password back, rooms are made once.
"""

import io
import math
import random
from datetime import timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.files.base import ContentFile
from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from PIL import Image, ImageDraw

from accounts.operators import ensure_operators_group
from incidents.files import thumbnail_png
from incidents.models import IncidentRoom, MemberRole, Message, MessageKind, RoomFile, RoomMember, RoomStatus, Severity

DEMO_PASSWORD = "warroom-demo"
RESOLVED_TITLE = "郵件伺服器中斷 Mail gateway outage"
ACTIVE_TITLE = "VPN 連線緩慢 VPN latency spike"

PEOPLE = [
    # username, display name, job title, office, staff
    ("operator", "值班主管 Operator", "NOC Lead", "Taipei HQ 3F", True),
    ("alice", "陳愛麗 Alice Chen", "Incident Analyst", "Taipei HQ 5F", False),
    ("bob", "王小明 Bob Wang", "Site Reliability Engineer", "Hsinchu Office", False),
]

# (minutes after opening, sender, kind, body): ~40 lines over 90 minutes.
RESOLVED_TIMELINE = [
    (0, "alice", "system", ("opened", {"who": "alice"})),
    (1, "alice", "text", "監控告警：mail-gw-01 SMTP 佇列超過 5,000 封，外寄信件延遲。"),
    (2, "alice", "text", "Customers report outbound mail stuck since 09:40."),
    (3, "alice", "system", ("joined", {"who": "bob", "role": MemberRole.RESPONDER})),
    (4, "bob", "text", "收到，我先看 mail-gw-01 的系統資源。"),
    (6, "bob", "text", "CPU 98%, disk /var/spool at 97% full."),
    (7, "alice", "text", "Severity raised: 影響全公司外寄郵件。"),
    (8, "alice", "system", ("severity", {"who": "alice", "old": "SEV3", "new": "SEV2"})),
    (10, "bob", "text", "Spool directory has 48 GB of deferred messages; most from one internal sender."),
    (12, "alice", "text", "是哪個寄件者？可能是行銷系統的批次寄送。"),
    (13, "bob", "text", "Yes, newsletter@corp — a batch job retried in a loop after a DNS failure."),
    (15, "alice", "text", "先暫停行銷系統的排程，我聯絡行銷部。"),
    (17, "operator", "system", ("joined", {"who": "operator", "role": MemberRole.OBSERVER})),
    (18, "operator", "text", "Please post an update for the service desk every 15 minutes."),
    (20, "alice", "text", "Service desk 公告已發布：外寄郵件延遲，工程師處理中。"),
    (22, "bob", "text", "Paused the campaign scheduler. Queue growth stopped at 51,230."),
    (25, "bob", "text", "DNS resolver on mail-gw-01 was pointing at the decommissioned 10.0.8.53."),
    (27, "alice", "text", "這解釋了 DNS 失敗。誰負責 resolver 設定？"),
    (28, "bob", "text", "Config management; the change to retire 10.0.8.53 missed this host."),
    (31, "bob", "text", "Updated /etc/resolv.conf to the current resolvers; dig works again."),
    (33, "alice", "text", "截圖：佇列長度開始下降。"),
    (34, "alice", "system", ("uploaded", {"who": "alice", "name": "queue-dashboard.png"})),
    (36, "bob", "text", "Flushing deferred queue in batches of 2,000 to avoid rate limits at the provider."),
    (40, "alice", "text", "第一批 2,000 封已送達，對方伺服器沒有退信。"),
    (45, "bob", "text", "Queue at 38,000 and falling ~1,500/min."),
    (48, "operator", "text", "Service desk asks for an ETA."),
    (49, "alice", "text", "預估 25 分鐘內清空佇列。"),
    (55, "bob", "text", "Deleted 12,000 duplicate newsletter messages after marketing confirmed."),
    (60, "bob", "text", "Queue at 9,400."),
    (63, "alice", "text", "行銷部確認可以在明天重新寄送電子報。"),
    (68, "bob", "text", "Queue empty. Disk /var/spool at 41%."),
    (70, "alice", "text", "抽樣檢查：外寄延遲回到 2 秒以內。"),
    (74, "bob", "text", "Added an alert on deferred queue > 1,000 and on resolver failures."),
    (78, "alice", "text", "Service desk 公告更新：服務已恢復。"),
    (80, "operator", "text", "Thanks both. Please make sure the config management gap gets an action item."),
    (83, "bob", "text", "Opened CHG-2291 to audit every host for the retired resolver."),
    (86, "alice", "text", "Root cause: stale DNS resolver + retry loop in the campaign sender."),
    (88, "alice", "text", "準備結案，事件報告稍後產生。"),
    (90, "alice", "status", ("resolved", {"who": "alice", "minutes": 90})),
]

ACTIVE_TIMELINE = [
    (0, "bob", "system", ("opened", {"who": "bob"})),
    (2, "bob", "text", "VPN 使用者回報延遲超過 300 ms，主要在新竹辦公室。"),
    (5, "alice", "system", ("joined", {"who": "alice", "role": MemberRole.RESPONDER})),
    (6, "alice", "text", "Checking the Hsinchu uplink; packet loss 4% on the ISP link."),
    (9, "bob", "text", "已開 ISP 障礙單 #88213，等待回覆。"),
]


def system_line(users, event, values) -> str:
    """A timeline event worded exactly as the room services word it, in the site's language."""
    values = {**values, "who": str(users[values["who"]])}
    if "role" in values:
        values["role"] = MemberRole(values["role"]).label
    with translation.override(settings.LANGUAGE_CODE):
        template = {
            "opened": _("%(who)s opened the room"),
            "joined": _("%(who)s joined as %(role)s"),
            "severity": _("%(who)s changed severity from %(old)s to %(new)s"),
            "uploaded": _("%(name)s uploaded by %(who)s"),
            "resolved": _("%(who)s resolved the room after %(minutes)d min"),
        }[event]
        return template % values


def screenshot_png() -> bytes:
    """A queue-length chart that looks like a monitoring screenshot."""
    width, height = 1280, 720
    image = Image.new("RGB", (width, height), (24, 28, 40))
    draw = ImageDraw.Draw(image)
    draw.rectangle((0, 0, width, 48), fill=(36, 42, 60))
    draw.text((20, 16), "mail-gw-01  ·  deferred queue length  ·  last 2 hours", fill=(220, 226, 240))
    left, top, right, bottom = 80, 90, width - 40, height - 70
    for i in range(6):
        y = top + i * (bottom - top) / 5
        draw.line((left, y, right, y), fill=(52, 58, 78))
        draw.text((20, y - 6), f"{(5 - i) * 10}k", fill=(150, 156, 176))
    rng = random.Random(7)
    points = []
    for step in range(121):
        x = left + step * (right - left) / 120
        if step < 30:
            value = 2 + rng.random()
        elif step < 62:
            value = 2 + 49 * (1 - math.exp(-(step - 30) / 8)) + rng.random() * 1.5
        else:
            value = max(0.5, 51 * math.exp(-(step - 62) / 12) + rng.random())
        points.append((x, bottom - value / 50 * (bottom - top)))
    draw.line(points, fill=(98, 170, 255), width=3)
    draw.line((left + 62 * (right - left) / 120, top, left + 62 * (right - left) / 120, bottom), fill=(255, 120, 90))
    draw.text((left + 62 * (right - left) / 120 + 8, top + 8), "resolver fixed", fill=(255, 140, 110))
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


class Command(BaseCommand):
    help = "Create the demo people and rooms (safe to run again)."

    @transaction.atomic
    def handle(self, *args, **options):
        users = self._people()
        if not IncidentRoom.objects.filter(title=RESOLVED_TITLE).exists():
            self._resolved_room(users)
        if not IncidentRoom.objects.filter(title=ACTIVE_TITLE).exists():
            self._active_room(users)
        self.stdout.write(
            self.style.SUCCESS(
                f"Demo accounts: operator (staff), alice, bob — password: {DEMO_PASSWORD}"
            )
        )

    def _people(self):
        User = get_user_model()
        users = {}
        for username, display_name, job_title, office, staff in PEOPLE:
            user, _ = User.objects.get_or_create(username=username)
            user.display_name = display_name
            user.job_title = job_title
            user.office_location = office
            user.email = f"{username}@example.com"
            user.is_staff = staff
            user.source = User.Source.LOCAL
            user.set_password(DEMO_PASSWORD)
            user.save()
            if staff:
                # Staff alone opens an empty admin: the Operators group holds the permissions.
                user.groups.add(ensure_operators_group())
            users[username] = user
        return users

    def _timeline(self, room, users, lines):
        Message.objects.bulk_create(
            Message(
                room=room,
                sender=None if kind != MessageKind.TEXT else users[sender],
                kind=kind,
                body=body if kind == MessageKind.TEXT else system_line(users, *body),
                created_at=room.created_at + timedelta(minutes=minute, seconds=index % 3 * 11),
            )
            for index, (minute, sender, kind, body) in enumerate(lines)
        )

    def _resolved_room(self, users):
        opened = timezone.now().replace(second=0, microsecond=0) - timedelta(days=1, hours=2)
        room = IncidentRoom.objects.create(
            title=RESOLVED_TITLE,
            description="外寄郵件佇列暴增，客戶信件延遲。Outbound mail queue exploded; customer mail delayed.",
            severity=Severity.SEV2,
            category="Email",
            status=RoomStatus.RESOLVED,
            created_by=users["alice"],
            created_at=opened,
            resolved_at=opened + timedelta(minutes=90),
            first_resolved_at=opened + timedelta(minutes=90),
            resolution_summary="修正 mail-gw-01 的 DNS resolver 設定並分批清空佇列；已新增佇列與 DNS 告警。",
        )
        for username, role, minute in [
            ("alice", MemberRole.COMMANDER, 0),
            ("bob", MemberRole.RESPONDER, 3),
            ("operator", MemberRole.OBSERVER, 17),
        ]:
            RoomMember.objects.create(
                room=room, user=users[username], role=role, joined_at=opened + timedelta(minutes=minute)
            )
        self._timeline(room, users, RESOLVED_TIMELINE)
        data = screenshot_png()
        room_file = RoomFile(
            room=room,
            uploaded_by=users["alice"],
            original_name="queue-dashboard.png",
            content_type="image/png",
            size=len(data),
            width=1280,
            height=720,
            created_at=opened + timedelta(minutes=34),
        )
        room_file.file.save("queue-dashboard.png", ContentFile(data), save=False)
        thumbnail = thumbnail_png(ContentFile(data))
        room_file.thumbnail.name = room_file.thumbnail.storage.save(
            f"rooms/{room.id}/files/{room_file.id}.thumb.png", ContentFile(thumbnail)
        )
        room_file.save()

    def _active_room(self, users):
        opened = timezone.now().replace(second=0, microsecond=0) - timedelta(minutes=12)
        room = IncidentRoom.objects.create(
            title=ACTIVE_TITLE,
            description="新竹辦公室 VPN 延遲。",
            severity=Severity.SEV3,
            category="Network",
            created_by=users["bob"],
            created_at=opened,
        )
        for username, role in [("bob", MemberRole.COMMANDER), ("alice", MemberRole.RESPONDER)]:
            RoomMember.objects.create(room=room, user=users[username], role=role, joined_at=opened)
        self._timeline(room, users, ACTIVE_TIMELINE)
