"""A seeded day whose daily-report answers are known, shared by the KPI and daily-report tests.

The day is 2026-03-10 in Asia/Taipei (+08:00, no daylight saving): it runs from
2026-03-09T16:00Z to 2026-03-10T16:00Z. Rooms sit on both sides of each
midnight, and one room is on day D by its UTC date but on D+1 in Taipei.
"""

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from incidents.models import RoomStatus, Severity
from reports.models import Report, ReportKind, ReportStatus
from tests import factories

TAIPEI = ZoneInfo("Asia/Taipei")
DAY = date(2026, 3, 10)


def at(day_offset, hour, minute=0, second=0):
    """An aware datetime on DAY + day_offset, Taipei wall clock."""
    day = DAY + timedelta(days=day_offset)
    return datetime(day.year, day.month, day.day, hour, minute, second, tzinfo=TAIPEI)


def _room(key, opened, resolved=None, *, severity, category):
    return factories.make_room(
        title=f"{key} 事件 incident",
        created_at=opened,
        resolved_at=resolved,
        status=RoomStatus.RESOLVED if resolved else RoomStatus.ACTIVE,
        severity=severity,
        category=category,
    )


def seed_known_day():
    """Create the rooms and reports; return the rooms by key."""
    rooms = {
        # Crosses midnight into DAY: opened the day before, resolved on DAY after 60 min.
        "A": _room("A", at(-1, 23, 30), at(0, 0, 30), severity=Severity.SEV2, category="Network"),
        # Opened exactly at DAY's first instant: on DAY. 240 min.
        "H": _room("H", at(0, 0, 0), at(0, 4, 0), severity=Severity.SEV3, category="Network"),
        "B": _room("B", at(0, 9, 0), at(0, 9, 30), severity=Severity.SEV1, category="Email"),  # 30 min
        "C": _room("C", at(0, 10, 0), at(0, 12, 0), severity=Severity.SEV3, category="Email"),  # 120 min
        # Crosses midnight out of DAY: opened on DAY, still open at its end, resolved on D+1.
        "D": _room("D", at(0, 23, 50), at(1, 0, 20), severity=Severity.SEV3, category="Network"),
        "E": _room("E", at(0, 7, 59), severity=Severity.SEV4, category=""),
        "F": _room("F", at(-3, 8, 0), severity=Severity.SEV2, category="Database"),
        # Opened exactly at DAY's end: belongs to D+1.
        "G": _room("G", at(1, 0, 0), severity=Severity.SEV3, category="Email"),
        # 2026-03-10T17:00Z: DAY by its UTC date, D+1 in Taipei; must not count.
        "J": _room("J", at(1, 1, 0), severity=Severity.SEV2, category="Email"),
        "K": _room("K", at(-2, 10, 0), at(-1, 11, 0), severity=Severity.SEV3, category="Database"),
    }
    reports = [
        (rooms["B"], ReportKind.INCIDENT, ReportStatus.COMPLETED, "dify", 1000, 500, at(0, 9, 40)),
        (rooms["C"], ReportKind.INCIDENT, ReportStatus.FAILED, "openai", 200, 0, at(0, 12, 5)),
        (rooms["H"], ReportKind.POSTMORTEM, ReportStatus.COMPLETED, "offline", 0, 0, at(0, 4, 5)),
        (rooms["A"], ReportKind.NOTES, ReportStatus.PENDING, "", 0, 0, at(0, 0, 31)),
        # The day before: counted nowhere.
        (rooms["K"], ReportKind.INCIDENT, ReportStatus.COMPLETED, "dify", 9999, 9999, at(-1, 11, 5)),
    ]
    for room, kind, status, provider, prompt, completion, created in reports:
        Report.objects.create(
            room=room, kind=kind, status=status, provider=provider, prompt_tokens=prompt,
            completion_tokens=completion, created_at=created, title=f"{kind} {room.title}",
        )
    return rooms
