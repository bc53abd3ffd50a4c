"""Produce (or backfill) the daily report of one day by hand."""

from datetime import date

from django.core.management.base import BaseCommand, CommandError

from reports import kpis
from reports.daily.producer import daily_report_produce, deliver_daily_report


class Command(BaseCommand):
    help = "Write the daily KPI report of a day (default: yesterday, Asia/Taipei) unless it exists, and deliver it."

    def add_arguments(self, parser):
        parser.add_argument("--date", dest="day", help="The day to report on, YYYY-MM-DD (Asia/Taipei). Default: yesterday.")
        parser.add_argument("--force", action="store_true", help="Write the day again even if its report exists.")
        parser.add_argument("--no-deliver", action="store_true", help="Do not send it by email, Telegram or webhook.")

    def handle(self, *args, day=None, force=False, no_deliver=False, **options):
        try:
            day = date.fromisoformat(day) if day else kpis.report_day_for()
        except ValueError:
            raise CommandError(f"--date must look like 2026-03-10, not {day!r}") from None
        try:
            run = daily_report_produce(day=day, force=force, deliver=False)
        except Exception as exc:  # noqa: BLE001 - the cause is logged and kept on the report
            raise CommandError(f"The daily report of {day} failed: {type(exc).__name__}: {exc}") from exc
        if run.produced:
            report = run.report
            self.stdout.write(self.style.SUCCESS(
                f"Daily report {day} written: {report.document.name} ({report.content['health']['label']})"
            ))
            if not no_deliver:
                # Here and now rather than through the queue: a person at the console wants the outcome.
                outcome = deliver_daily_report(str(report.id))
                for channel, result in outcome.items():
                    self.stdout.write(f"  {channel}: {result['status']} after {result['attempts']} tries")
                if not outcome:
                    self.stdout.write("  No delivery channel is configured.")
        else:
            where = f" ({run.report.document.name})" if run.report and run.report.document else ""
            self.stdout.write(f"Daily report {day} not written again: {run.reason}{where}. Use --force to rewrite it.")

