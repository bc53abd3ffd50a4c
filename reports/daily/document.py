"""The daily report in words: its title and summary, the .docx, and the message that delivers it.

Everything here is written in the active language; callers wrap it in
``translation.override(report.language)`` (the producer and the delivery task do).
"""

from datetime import date, timedelta

from django.conf import settings
from django.urls import reverse
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.html import escape
from django.utils.translation import gettext as _
from django.utils.translation import pgettext
from docx.shared import RGBColor

from incidents.timing import human_duration
from knowledge.models import DocumentKind
from reports import delivery, kpis
from reports.daily.charts import MUTED, category_chart, trend_chart
from reports.models import Report
from reports.pipeline.docx_builder import DocxBuilder

HEALTH_COLORS = {kpis.GOOD: (0x1E, 0x7B, 0x34), kpis.WATCH: (0xB2, 0x6A, 0x00), kpis.ATTENTION: (0xB3, 0x26, 0x1E)}
PICTURE_WIDTH_CM = 16.0
TWO_COLUMNS_CM = [10.0, 6.5]


def health_label(level: str) -> str:
    return {
        kpis.GOOD: pgettext("health", "Good"),
        kpis.WATCH: pgettext("health", "Watch"),
        kpis.ATTENTION: pgettext("health", "Attention"),
    }.get(level, level)


def daily_title(day: date) -> str:
    return _("Daily report %(date)s") % {"date": day.isoformat()}


def _number(value, unit="") -> str:
    if value is None:
        return "—"
    text = f"{value:,.1f}".rstrip("0").rstrip(".") if isinstance(value, float) else f"{value:,}"
    return _("%(value)s min") % {"value": text} if unit == "min" else text


def summary_line(content: dict) -> str:
    """One line that says how the day went: the health label, then the figures behind it."""
    return _("Health: %(label)s") % {"label": health_label(content["health"]["label"])} \
        + " · " + summary_figures(content)


def summary_figures(content: dict) -> str:
    figures, health = content["kpis"], content["health"]
    rooms, mttr = figures["rooms"], figures["mttr"]
    if kpis.unavailable(rooms):
        parts = [_("Incidents: unavailable")]
    else:
        parts = [_("opened %(opened)s · resolved %(resolved)s · still open %(open)s") % {
            "opened": rooms["opened"], "resolved": rooms["resolved"], "open": rooms["still_open"]}]
    if not kpis.unavailable(mttr) and mttr["count"]:
        parts.append(_("MTTR %(mean)s (p90 %(p90)s)") % {
            "mean": _number(mttr["mean_minutes"], "min"), "p90": _number(mttr["p90_minutes"], "min")})
    line = " · ".join(parts)
    if health["reasons"]:
        line += f" — {'; '.join(health['reasons'])}"
    return line


def generated_label(content: dict) -> str:
    """When the figures were taken, in the site's time zone."""
    moment = timezone.localtime(parse_datetime(content["generated_at"]))
    return f"{moment:%Y-%m-%d %H:%M} ({settings.TIME_ZONE})"


# --- Delivery ---------------------------------------------------------------------------------


def daily_parcel(report: Report) -> delivery.Parcel:
    content = report.content
    day = report.period_date.isoformat()
    label = content["health"]["label"]
    title = daily_title(report.period_date)
    download = settings.SITE_URL + reverse("reports:daily-download", args=[day])
    summary = summary_line(content)
    document = b""
    if report.document:
        with report.document.open("rb") as handle:
            document = handle.read()
    return delivery.Parcel(
        subject=f"[Warroom] {title} — {health_label(label)}",
        text=f"{title}\n\n{summary}\n\n" + _("Download: %(url)s") % {"url": download} + "\n",
        html=f"<b>{escape(title)}</b>\n{escape(summary)}\n\n"
             f"<a href=\"{escape(download)}\">{escape(_('Download (.docx)'))}</a>",
        payload={
            "event": "report.daily", "report_id": str(report.id), "date": day, "health": label, "summary": summary,
            "download_url": download, "content": content,
        },
        fallback_text=_("Warroom daily report %(date)s: %(health)s. Full delivery failed; open %(url)s")
        % {"date": day, "health": health_label(label), "url": download},
        filename=f"warroom-daily-{day}.docx",
        document=document or None,
    )


# --- The document -------------------------------------------------------------------------------


def _unavailable(reason: str, part: str = "") -> str:
    if part:
        return _("%(part)s unavailable: %(reason)s") % {"part": part, "reason": reason}
    return _("Unavailable: %(reason)s") % {"reason": reason}


def _section(builder, title: str, section) -> bool:
    """Heading, and a note instead of the figures when the source was unavailable."""
    builder.heading(title, level=1)
    if kpis.unavailable(section):
        builder.note(_unavailable(section.get("reason", "")))
        return False
    return True


def _metric_table(builder, title: str, parts) -> None:
    """One Metric/Value table from several sources; an unavailable source becomes a note above it."""
    builder.heading(title, level=1)
    rows = []
    for name, section, to_rows in parts:
        if kpis.unavailable(section):
            builder.note(_unavailable(section.get("reason", ""), name))
        else:
            rows += to_rows(section)
    if rows:
        builder.table([_("Metric"), _("Value")], rows, TWO_COLUMNS_CM)


def _header(builder, content: dict) -> None:
    day, health = content["period"]["date"], content["health"]["label"]
    builder.heading(_("Daily report · %(date)s") % {"date": day}, level=0)
    summary = builder.paragraph()
    builder.run(summary, _("Health: %(label)s") % {"label": health_label(health)}, bold=True, size=13,
                color=RGBColor(*HEALTH_COLORS[health]))
    builder.run(summary, f"  {summary_figures(content)}")
    builder.paragraph(
        _("Period: %(date)s 00:00–24:00 (%(zone)s) · Generated %(generated)s") % {
            "date": day, "zone": content["period"]["time_zone"], "generated": generated_label(content)},
        size=9, color=RGBColor(*MUTED),
    )


def _incidents(builder, figures: dict) -> None:
    _metric_table(builder, _("Incidents"), [
        (_("Incidents"), figures["rooms"], lambda rooms: [
            [pgettext("daily", "Opened"), _number(rooms["opened"])],
            [pgettext("daily", "Resolved"), _number(rooms["resolved"])],
            [_("Still open at 24:00"), _number(rooms["still_open"])]]),
        ("MTTR", figures["mttr"], lambda mttr: [
            [_("MTTR mean"), _number(mttr["mean_minutes"], "min")],
            ["MTTR p50", _number(mttr["p50_minutes"], "min")], ["MTTR p90", _number(mttr["p90_minutes"], "min")]]),
    ])
    if _section(builder, _("By severity"), figures["severity"]):
        builder.table([_("Severity"), pgettext("daily", "Opened")],
                      [[key.upper(), _number(n)] for key, n in figures["severity"]["counts"].items()], TWO_COLUMNS_CM)


def _categories(builder, figures: dict, day: str) -> None:
    category = figures["category"]
    if _section(builder, _("By category (top 10)"), category):
        rows = [[row["category"], _number(row["count"])] for row in category["top"]]
        if category["others"]:
            rows.append([_("Others"), _number(category["others"])])
        builder.table([_("Category"), pgettext("daily", "Opened")], rows, TWO_COLUMNS_CM)
        builder.picture(category_chart(category["top"], _("Incidents per category · %(date)s") % {"date": day}),
                        PICTURE_WIDTH_CM, _("Figure 1: incidents opened per category"))
    if _section(builder, _("7-day trend"), figures["trend"]):
        builder.picture(trend_chart(figures["trend"]["days"], _("7-day trend · %(date)s") % {"date": day}),
                        PICTURE_WIDTH_CM, _("Figure 2: incidents opened and resolved per day"))


def _longest_open(builder, figures: dict) -> None:
    if not _section(builder, _("Longest-open incidents"), figures["longest_open"]):
        return
    rooms_open = figures["longest_open"]["rooms"]
    if not rooms_open:
        builder.paragraph(_("No incident was open at the end of the day."))
        return
    builder.table(
        [_("Incident"), _("Sev."), _("Opened at"), _("Open for")],
        [[row["title"], row["severity"].upper(), row["opened_at"][:16].replace("T", " "),
          human_duration(timedelta(minutes=row["open_minutes"]))] for row in rooms_open],
        [7.5, 2.2, 3.8, 3.0],
    )


def _reports(builder, figures: dict) -> None:
    _metric_table(builder, _("Reports"), [
        (_("Reports"), figures["reports"], lambda reports: [
            [pgettext("daily", "Generated"), _number(reports["generated"])],
            [pgettext("daily", "Failed"), _number(reports["failed"])],
            [pgettext("daily", "In progress"), _number(reports["in_progress"])]]),
        (_("Postmortems"), figures["postmortems"], lambda postmortems: [
            [_("Postmortems produced"), _number(postmortems["produced"])]]),
    ])
    if not _section(builder, _("AI tokens by writer"), figures["tokens"]):
        return
    writers = figures["tokens"]["writers"]
    if not writers:
        builder.paragraph(_("No AI-written report that day."))
        return
    builder.table(
        [_("Writer"), _("Reports"), _("Prompt"), _("Completion"), _("Total")],
        [[w["writer"], _number(w["reports"]), _number(w["prompt_tokens"]), _number(w["completion_tokens"]),
          _number(w["total_tokens"])] for w in writers],
        [4.5, 2.5, 3.2, 3.2, 3.1],
    )


def _percent(rate) -> str:
    return "—" if rate is None else f"{rate * 100:.0f}%"


def _alerts(builder, figures: dict) -> None:
    alerts = figures.get("alerts")
    if alerts is None:
        return  # a day written before Warroom received alerts
    _metric_table(builder, _("Alerts"), [
        (_("Alerts"), alerts, lambda a: [
            [_("Alerts received"), _number(a["received"])],
            [_("Unique alerts"), _number(a["unique"])],
            [_("Duplicate deliveries suppressed"), _number(a["duplicates"])],
            [_("Snoozed (stored without a room)"), _number(a["suppressed"])],
            [_("Rooms opened from alerts"), _number(a["rooms_opened"])],
            [_("Alerts grouped into an open room"), _number(a["converged"])],
            [_("Rooms resolved automatically"), _number(a["auto_resolved"])],
            [_("Auto-resolve rate"), _percent(a["auto_resolve_rate"])],
            [_("Rooms handled by a person"), _number(a["handled_by_person"])],
            [_("MTTA (time to acknowledge)"), _number(a["mtta_minutes"], "min")]]),
    ])
    if kpis.unavailable(alerts):
        return
    if alerts["categories"]:
        builder.table([_("Alert category"), _("Alerts")],
                      [[row["category"] or _("Others"), _number(row["count"])] for row in alerts["categories"]],
                      TWO_COLUMNS_CM)
    noisy = [[_("Source: %(name)s") % {"name": row["source"]}, _number(row["count"])] for row in alerts["noisiest_sources"]]
    noisy += [[row["alertname"] or "—", _number(row["count"])] for row in alerts["noisiest_alertnames"]]
    if noisy:
        builder.table([_("Noisiest sources and alerts"), _("Alerts")], noisy, TWO_COLUMNS_CM)


def _knowledge(builder, figures: dict) -> None:
    found = figures.get("knowledge")
    if found is None:
        return  # a day written before Warroom kept a knowledge base
    kinds = dict(DocumentKind.choices)
    _metric_table(builder, _("Knowledge"), [
        (_("Knowledge"), found, lambda k: [
            *[[_("New: %(kind)s") % {"kind": kinds.get(kind, kind)}, _number(count)]
              for kind, count in k["new_by_kind"].items()],
            [_("New knowledge entries"), _number(sum(k["new_by_kind"].values()))],
            [_("Runbooks in all"), _number(k["runbooks"])],
            [_("Assistant questions asked"), _number(k["questions"])],
            [_("Answers rated 👍"), _percent(k["answer_up_share"])
             + (f" ({_number(k['answer_ratings'])})" if k["answer_ratings"] else "")]]),
    ])


def build_daily_docx(content: dict) -> bytes:
    """The day's .docx in the active language: header, incidents, categories, longest open, reports, alerts, knowledge."""
    figures, day = content["kpis"], content["period"]["date"]
    builder = DocxBuilder(font_east_asia=settings.REPORT_FONT_EAST_ASIA,
                          font_windows=settings.REPORT_FONT_EAST_ASIA_WINDOWS)
    _header(builder, content)
    _incidents(builder, figures)
    _categories(builder, figures, day)
    _longest_open(builder, figures)
    _reports(builder, figures)
    _alerts(builder, figures)
    _knowledge(builder, figures)
    builder.footer(f"Warroom · {daily_title(date.fromisoformat(day))}")
    return builder.save()
