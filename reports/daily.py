"""The daily KPI report: one Report of kind daily per Asia/Taipei day, its .docx, its delivery.

Celery beat runs ``reports.daily_report`` at 08:00 Asia/Taipei (00:00 UTC) from a
django-celery-beat entry that operators see and change in the admin; the entry
is created by ``manage.py setup_schedules`` and after every ``migrate``.

Exactly once per day, however many beats, retries and manual runs: the
(kind, period_date) unique constraint makes one row per day, a conditional
update claims the work on that row (so two processes without a shared cache
still do it once), and a cache lock keeps a second worker from even trying
while the first one runs.

Missed days: beat itself runs a missed 08:00 once when it comes back (its
crontab is due as soon as the last run is older than the last 08:00), and every
scheduled run also produces any day missing among the ``DAILY_REPORT_CATCHUP_DAYS``
before it (from the first daily report on), so a beat that was down for longer
still leaves no gap.
"""

import io
import logging
import traceback
import uuid
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

from celery import shared_task
from django.conf import settings
from django.core.cache import cache
from django.core.files.base import ContentFile
from django.db import OperationalError, connections
from django.db.models import Min, Q
from django.urls import reverse
from django.utils import timezone
from django.utils.html import escape
from PIL import Image, ImageDraw, ImageFont

from incidents.templatetags.warroom import duration
from reports import delivery, kpis
from reports.models import IN_FLIGHT_STATUSES, Report, ReportKind, ReportStatus, report_document_path
from reports.pipeline.docx_builder import DocxBuilder

logger = logging.getLogger(__name__)

TASK_NAME = "reports.daily_report"
SCHEDULE_NAME = "Daily KPI report (08:00 Asia/Taipei)"

# --- The beat entry -----------------------------------------------------------------


def ensure_daily_schedule(*, using="default"):
    """Create the 08:00 Asia/Taipei beat entry if it is missing; never change one an operator edited.

    Returns (periodic_task, created).
    """
    from django_celery_beat.models import CrontabSchedule, PeriodicTask

    existing = PeriodicTask.objects.using(using).filter(name=SCHEDULE_NAME).first()
    if existing is not None:
        return existing, False
    fields = {"minute": "0", "hour": "8", "day_of_week": "*", "day_of_month": "*", "month_of_year": "*",
              "timezone": settings.DAILY_REPORT_TIME_ZONE}
    crontab = CrontabSchedule.objects.using(using).filter(**fields).first()
    if crontab is None:
        crontab = CrontabSchedule.objects.using(using).create(**fields)
    task = PeriodicTask.objects.using(using).create(
        name=SCHEDULE_NAME,
        task=TASK_NAME,
        crontab=crontab,
        description="Writes and delivers yesterday's KPI report; also produces days a stopped beat missed.",
    )
    return task, True


def ensure_schedule_after_migrate(sender, using="default", **kwargs):
    """post_migrate receiver: the entry exists once the beat tables do."""
    from django_celery_beat.models import PeriodicTask

    if PeriodicTask._meta.db_table not in connections[using].introspection.table_names():
        return
    task, created = ensure_daily_schedule(using=using)
    if created and kwargs.get("verbosity", 1) >= 1:
        print(f"  Created the beat entry “{task.name}”.")  # noqa: T201 - migrate's own output style


# --- Producing a day --------------------------------------------------------------------


@dataclass
class DailyRun:
    report: Report | None
    produced: bool  # this call did the work
    reason: str = ""  # why it did not


def _lock_key(day: date) -> str:
    return f"reports:daily:{day.isoformat()}"


def _take_lock(key: str, token: str) -> bool:
    try:
        return cache.add(key, token, timeout=settings.DAILY_REPORT_LOCK_SECONDS)
    except Exception:  # noqa: BLE001 - the database claim below still keeps the work to one worker
        logger.warning("Cache unavailable for the daily report lock %s; relying on the database claim", key)
        return True


def _release_lock(key: str, token: str) -> None:
    try:
        if cache.get(key) == token:
            cache.delete(key)
    except Exception:  # noqa: BLE001 - it expires by itself
        logger.warning("Could not release the daily report lock %s", key)


def daily_report_produce(*, day: date, force=False, deliver=True, requested_by=None) -> DailyRun:
    """Produce the daily report of ``day`` unless it exists; ``force`` writes it again (same row)."""
    key, token = _lock_key(day), uuid.uuid4().hex
    if not _take_lock(key, token):
        existing = Report.objects.filter(kind=ReportKind.DAILY, period_date=day).first()
        return DailyRun(existing, False, "another worker is producing this day")
    try:
        return _produce(day, force=force, deliver=deliver, requested_by=requested_by)
    finally:
        _release_lock(key, token)


def _claim(report: Report, *, force: bool) -> bool:
    """Move the row to collecting_data if nobody else is at work on it (one UPDATE, so one winner)."""
    now = timezone.now()
    stuck = now - timedelta(seconds=settings.REPORT_STUCK_AFTER_SECONDS)
    claimable = Q(status__in=[ReportStatus.PENDING, ReportStatus.FAILED]) | Q(
        status__in=IN_FLIGHT_STATUSES, stage_started_at__lt=stuck
    )
    if force:
        claimable |= Q(status=ReportStatus.COMPLETED)
    return bool(
        Report.objects.filter(claimable, pk=report.pk).update(
            status=ReportStatus.COLLECTING_DATA, step="Collecting the figures", percent=10, started_at=now,
            stage_started_at=now, completed_at=None, error_message="", error_detail="", attempts=report.attempts + 1,
        )
    )


def _produce(day, *, force, deliver, requested_by) -> DailyRun:
    report, _ = Report.objects.get_or_create(
        kind=ReportKind.DAILY,
        period_date=day,
        defaults={"title": daily_title(day), "requested_by": requested_by, "language": settings.REPORT_LANGUAGE},
    )
    if not _claim(report, force=force):
        report.refresh_from_db()
        reason = "already produced" if report.status == ReportStatus.COMPLETED else "in progress elsewhere"
        return DailyRun(report, False, reason)
    try:
        window = kpis.day_window(day)
        figures = kpis.collect_kpis(window)
        content = {
            "period": {"date": day.isoformat(), "start": window.start.isoformat(), "end": window.end.isoformat(),
                       "time_zone": settings.DAILY_REPORT_TIME_ZONE},
            "generated_at": timezone.now().isoformat(),
            "health": kpis.health_of(figures),
            "kpis": figures,
        }
        Report.objects.filter(pk=report.pk).update(
            status=ReportStatus.ASSEMBLING_DOCUMENT, step="Assembling the document", percent=60,
            stage_started_at=timezone.now(),
        )
        document = build_daily_docx(content)
        report.refresh_from_db()
        path = report_document_path(report, "")
        if report.document.storage.exists(path):
            # A forced re-run replaces the day's file instead of writing a suffixed copy beside it.
            report.document.storage.delete(path)
        report.document.save(f"{day.isoformat()}.docx", ContentFile(document), save=False)
        report.content = content
        report.title = daily_title(day)
        report.status = ReportStatus.COMPLETED
        report.step, report.percent = "", 100
        report.document_size = len(document)
        report.completed_at = timezone.now()
        report.delivery = {}
        report.save()
    except Exception as exc:
        logger.exception("The daily report of %s failed", day)
        Report.objects.filter(pk=report.pk).update(
            status=ReportStatus.FAILED,
            error_message="The daily report could not be written; the next run tries again.",
            error_detail="".join(traceback.format_exception(exc))[-5000:],
        )
        raise
    logger.info("Daily report %s produced (%s)", day, content["health"]["label"])
    if deliver:
        deliver_daily_report.delay(str(report.id))
    return DailyRun(report, True)


def missing_days(target: date) -> list[date]:
    """Days before ``target`` (within the catch-up span, from the first daily report on) with no completed report."""
    first = Report.objects.filter(kind=ReportKind.DAILY).aggregate(first=Min("period_date"))["first"]
    if first is None:
        return []
    candidates = [target - timedelta(days=n) for n in range(settings.DAILY_REPORT_CATCHUP_DAYS, 0, -1)]
    done = set(
        Report.objects.filter(kind=ReportKind.DAILY, status=ReportStatus.COMPLETED, period_date__in=candidates)
        .values_list("period_date", flat=True)
    )
    return [day for day in candidates if day >= first and day not in done]


@shared_task(name=TASK_NAME, autoretry_for=(OperationalError,), retry_backoff=60, max_retries=3)
def daily_report(day=None):
    """Beat's entry point: yesterday's report, then any missed day; with ``day`` (ISO date), that day only."""
    if day:
        runs = [daily_report_produce(day=date.fromisoformat(day))]
    else:
        target = kpis.report_day_for(timezone.now())
        runs = [daily_report_produce(day=target)]
        runs += [daily_report_produce(day=missed) for missed in missing_days(target)]
    return [
        {"date": run.report.period_date.isoformat() if run.report else None, "produced": run.produced,
         "reason": run.reason}
        for run in runs
    ]


@shared_task(name="reports.deliver_daily_report", soft_time_limit=900, time_limit=960)
def deliver_daily_report(report_id):
    report = Report.objects.filter(pk=report_id, status=ReportStatus.COMPLETED).first()
    if report is None:
        return {}
    return delivery.deliver(report, daily_parcel(report))


# --- Words --------------------------------------------------------------------------------

HEALTH_LABELS = {kpis.GOOD: "良好 Good", kpis.WATCH: "留意 Watch", kpis.ATTENTION: "注意 Attention"}
HEALTH_COLORS = {kpis.GOOD: (0x1E, 0x7B, 0x34), kpis.WATCH: (0xB2, 0x6A, 0x00), kpis.ATTENTION: (0xB3, 0x26, 0x1E)}
UNAVAILABLE = "資料無法取得 Unavailable"


def daily_title(day: date) -> str:
    return f"每日營運報告 Daily report {day.isoformat()}"


def _number(value, unit="") -> str:
    if value is None:
        return "—"
    text = f"{value:,.1f}".rstrip("0").rstrip(".") if isinstance(value, float) else f"{value:,}"
    return f"{text} {unit}".strip()


def summary_line(content: dict) -> str:
    """One line that says how the day went: the health label, then the figures behind it."""
    return f"健康狀態 Health: {HEALTH_LABELS[content['health']['label']]} · {summary_figures(content)}"


def summary_figures(content: dict) -> str:
    figures = content["kpis"]
    health = content["health"]
    parts = []
    rooms, mttr = figures["rooms"], figures["mttr"]
    if kpis.unavailable(rooms):
        parts.append(f"事件數 {UNAVAILABLE}")
    else:
        parts.append(
            f"開啟 opened {rooms['opened']} · 解決 resolved {rooms['resolved']} · 未結案 open {rooms['still_open']}"
        )
    if not kpis.unavailable(mttr) and mttr["count"]:
        parts.append(f"MTTR {_number(mttr['mean_minutes'], 'min')} (p90 {_number(mttr['p90_minutes'], 'min')})")
    line = " · ".join(parts)
    if health["reasons"]:
        line += f" — {'; '.join(health['reasons'])}"
    return line


def daily_parcel(report: Report) -> delivery.Parcel:
    content = report.content
    day = report.period_date.isoformat()
    label = content["health"]["label"]
    download = settings.SITE_URL + reverse("reports:daily-download", args=[day])
    summary = summary_line(content)
    document = b""
    if report.document:
        with report.document.open("rb") as handle:
            document = handle.read()
    return delivery.Parcel(
        subject=f"[Warroom] {daily_title(report.period_date)} — {HEALTH_LABELS[label]}",
        text=f"{daily_title(report.period_date)}\n\n{summary}\n\n下載 Download: {download}\n",
        html=f"<b>{escape(daily_title(report.period_date))}</b>\n{escape(summary)}\n\n"
             f"<a href=\"{escape(download)}\">下載 Download (.docx)</a>",
        payload={
            "event": "report.daily", "report_id": str(report.id), "date": day, "health": label, "summary": summary,
            "download_url": download, "content": content,
        },
        fallback_text=f"Warroom daily report {day}: {label}. Full delivery failed; open {download}",
        filename=f"warroom-daily-{day}.docx",
        document=document or None,
    )


# --- Charts (Pillow; the CJK font when the machine has it) ----------------------------------

CJK_FONT = Path("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc")
CJK_FONT_TC_INDEX = 3  # Noto Sans CJK TC inside the collection
CHART_WIDTH = 1600
INK, GRID, MUTED = (0x22, 0x2B, 0x38), (0xE3, 0xE7, 0xEE), (0x6B, 0x72, 0x80)
BLUE, GREEN = (0x2F, 0x6F, 0xD0), (0x2E, 0x9E, 0x5B)


def _font(size: int):
    if CJK_FONT.exists():
        try:
            return ImageFont.truetype(str(CJK_FONT), size, index=CJK_FONT_TC_INDEX)
        except OSError:
            logger.warning("Could not load %s; charts use Pillow's default font", CJK_FONT)
    return ImageFont.load_default(size=size)


def _png(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", optimize=True)
    return buffer.getvalue()


def category_chart(categories: list[dict], title: str) -> bytes:
    """Horizontal bars: incidents opened per category."""
    row, top, left, right = 64, 120, 430, 140
    height = top + row * max(len(categories), 1) + 40
    image = Image.new("RGB", (CHART_WIDTH, height), "white")
    draw = ImageDraw.Draw(image)
    draw.text((40, 30), title, font=_font(40), fill=INK)
    if not categories:
        draw.text((left, top + 10), "當日無新事件 No incidents opened", font=_font(30), fill=MUTED)
        return _png(image)
    largest = max(row_["count"] for row_ in categories) or 1
    span = CHART_WIDTH - left - right
    label_font, value_font = _font(28), _font(28)
    for index, item in enumerate(categories):
        y = top + index * row
        name = item["category"] if len(item["category"]) <= 18 else item["category"][:17] + "…"
        draw.text((left - 20, y + row / 2), name, font=label_font, fill=INK, anchor="rm")
        width = max(int(span * item["count"] / largest), 4)
        draw.rectangle((left, y + 12, left + width, y + row - 12), fill=BLUE)
        draw.text((left + width + 14, y + row / 2), str(item["count"]), font=value_font, fill=INK, anchor="lm")
    return _png(image)


def trend_chart(days: list[dict], title: str) -> bytes:
    """Grouped bars per day: opened and resolved over the last seven days."""
    height, top, bottom, left, right = 760, 150, 90, 110, 50
    image = Image.new("RGB", (CHART_WIDTH, height), "white")
    draw = ImageDraw.Draw(image)
    draw.text((40, 30), title, font=_font(40), fill=INK)
    small = _font(26)
    for color, label, x in ((BLUE, "開啟 Opened", CHART_WIDTH - 560), (GREEN, "解決 Resolved", CHART_WIDTH - 300)):
        draw.rectangle((x, 48, x + 30, 78), fill=color)
        draw.text((x + 42, 63), label, font=small, fill=INK, anchor="lm")
    largest = max([max(d["opened"], d["resolved"]) for d in days] + [1])
    step = max(1, -(-largest // 5))  # about five grid lines, at whole numbers
    scale_top = step * -(-largest // step)
    plot_h = height - top - bottom
    for value in range(0, scale_top + 1, step):
        y = height - bottom - plot_h * value / scale_top
        draw.line((left, y, CHART_WIDTH - right, y), fill=GRID, width=2)
        draw.text((left - 16, y), str(value), font=small, fill=MUTED, anchor="rm")
    slot = (CHART_WIDTH - left - right) / max(len(days), 1)
    bar = slot * 0.3
    for index, day in enumerate(days):
        center = left + slot * (index + 0.5)
        for offset, key, color in ((-bar, "opened", BLUE), (0, "resolved", GREEN)):
            value = day[key]
            y = height - bottom - plot_h * value / scale_top
            draw.rectangle((center + offset, y, center + offset + bar, height - bottom), fill=color)
            draw.text((center + offset + bar / 2, y - 6), str(value), font=small, fill=INK, anchor="md")
        draw.text((center, height - bottom + 16), day["date"][5:], font=small, fill=INK, anchor="ma")
    return _png(image)


# --- The document -------------------------------------------------------------------------------


def _section(builder, title: str, section) -> bool:
    """Heading, and a note instead of the figures when the source was unavailable."""
    builder.heading(title, level=1)
    if kpis.unavailable(section):
        builder.note(f"{UNAVAILABLE}: {section.get('reason', '')}")
        return False
    return True


def _metric_table(builder, title: str, parts) -> None:
    """One Metric/Value table from several sources; an unavailable source becomes a note above it."""
    builder.heading(title, level=1)
    rows = []
    for name, section, to_rows in parts:
        if kpis.unavailable(section):
            builder.note(f"{name} {UNAVAILABLE}: {section.get('reason', '')}")
        else:
            rows += to_rows(section)
    if rows:
        builder.table(["指標 Metric", "數值 Value"], rows, [10.0, 6.5])


def build_daily_docx(content: dict) -> bytes:
    figures = content["kpis"]
    day = content["period"]["date"]
    health = content["health"]["label"]
    builder = DocxBuilder(font_east_asia=settings.REPORT_FONT_EAST_ASIA,
                          font_windows=settings.REPORT_FONT_EAST_ASIA_WINDOWS)
    builder.heading(f"每日營運報告 Daily report · {day}", level=0)
    summary = builder.paragraph()
    builder.run(summary, f"健康狀態 Health: {HEALTH_LABELS[health]}", bold=True, size=13,
                color=_rgb(HEALTH_COLORS[health]))
    builder.run(summary, f"  {summary_figures(content)}")
    builder.paragraph(
        f"期間 Period: {day} 00:00–24:00 ({content['period']['time_zone']}) · "
        f"產生於 Generated {content['generated_at'][:16].replace('T', ' ')} UTC",
        size=9, color=_rgb(MUTED),
    )

    _metric_table(builder, "事件 Incidents", [
        ("事件數", figures["rooms"], lambda rooms: [
            ["開啟 Opened", _number(rooms["opened"])], ["解決 Resolved", _number(rooms["resolved"])],
            ["日終仍未結案 Still open at 24:00", _number(rooms["still_open"])]]),
        ("MTTR", figures["mttr"], lambda mttr: [
            ["MTTR 平均 mean", _number(mttr["mean_minutes"], "min")],
            ["MTTR p50", _number(mttr["p50_minutes"], "min")], ["MTTR p90", _number(mttr["p90_minutes"], "min")]]),
    ])

    if _section(builder, "嚴重度 By severity", figures["severity"]):
        counts = figures["severity"]["counts"]
        builder.table(["嚴重度 Severity", "開啟 Opened"], [[key.upper(), _number(n)] for key, n in counts.items()],
                      [10.0, 6.5])

    category = figures["category"]
    if _section(builder, "類別 By category (top 10)", category):
        rows = [[row["category"], _number(row["count"])] for row in category["top"]]
        if category["others"]:
            rows.append(["其他 Others", _number(category["others"])])
        builder.table(["類別 Category", "開啟 Opened"], rows, [10.0, 6.5])
        builder.picture(category_chart(category["top"], f"各類別事件數 Incidents per category · {day}"), 16.0,
                        "圖 1：各類別新開事件數 Figure 1: incidents opened per category")

    if _section(builder, "七日趨勢 7-day trend", figures["trend"]):
        builder.picture(trend_chart(figures["trend"]["days"], f"七日趨勢 7-day trend · {day}"), 16.0,
                        "圖 2：每日開啟與解決的事件 Figure 2: incidents opened and resolved per day")

    if _section(builder, "最久未結案 Longest-open incidents", figures["longest_open"]):
        rooms_open = figures["longest_open"]["rooms"]
        if rooms_open:
            builder.table(
                ["事件 Incident", "嚴重度 Sev.", "開啟於 Opened", "已開啟 Open for"],
                [[row["title"], row["severity"].upper(), row["opened_at"][:16].replace("T", " "),
                  duration(timedelta(minutes=row["open_minutes"]))] for row in rooms_open],
                [7.5, 2.2, 3.8, 3.0],
            )
        else:
            builder.paragraph("日終沒有未結案的事件 No incident was open at the end of the day.")

    _metric_table(builder, "報告 Reports", [
        ("報告數", figures["reports"], lambda reports: [
            ["產生 Generated", _number(reports["generated"])], ["失敗 Failed", _number(reports["failed"])],
            ["進行中 In progress", _number(reports["in_progress"])]]),
        ("事後檢討", figures["postmortems"], lambda postmortems: [
            ["事後檢討 Postmortems produced", _number(postmortems["produced"])]]),
    ])

    if _section(builder, "AI 用量 AI tokens by writer", figures["tokens"]):
        writers = figures["tokens"]["writers"]
        if writers:
            builder.table(
                ["撰寫者 Writer", "報告 Reports", "提示 Prompt", "完成 Completion", "合計 Total"],
                [[w["writer"], _number(w["reports"]), _number(w["prompt_tokens"]), _number(w["completion_tokens"]),
                  _number(w["total_tokens"])] for w in writers],
                [4.5, 2.5, 3.2, 3.2, 3.1],
            )
        else:
            builder.paragraph("當日沒有 AI 撰寫的報告 No AI-written report that day.")
    builder.footer(f"Warroom · {daily_title(date.fromisoformat(day))}")
    return builder.save()


def _rgb(color):
    from docx.shared import RGBColor

    return RGBColor(*color)
