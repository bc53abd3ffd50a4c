"""Write a room's report from a terminal: the same pipeline, run in this process, with a progress bar."""

import sys

from django.core.exceptions import ValidationError
from django.core.files.storage import default_storage
from django.core.management.base import BaseCommand, CommandError

from incidents.models import IncidentRoom
from reports.models import ReportKind, ReportStatus
from reports.events import add_progress_listener, remove_progress_listener
from reports.pipeline.workflow import run_inline
from reports.prompts import LANGUAGES
from reports.services import report_create

# The progress bar's width in characters (each one is 100 / BAR_WIDTH percent).
BAR_WIDTH = 25
# How much of the operator detail a failure prints.
MAX_DETAIL_CHARS = 2000


class Command(BaseCommand):
    help = "Generate a room's report now, in this process, and print where the .docx is."

    def add_arguments(self, parser):
        parser.add_argument("room_id")
        parser.add_argument("--language", choices=LANGUAGES, default=None)
        parser.add_argument("--kind", choices=[ReportKind.INCIDENT, ReportKind.POSTMORTEM], default=ReportKind.INCIDENT)

    def handle(self, *args, room_id, language, kind, **options):
        try:
            room = IncidentRoom.objects.get(id=room_id)
        except (IncidentRoom.DoesNotExist, ValidationError, ValueError):
            raise CommandError(f"No room with id {room_id}.") from None
        report, created = report_create(room=room, requested_by=None, kind=kind, language=language)
        if not created:
            raise CommandError(
                f"A {kind} report for this room is already being written ({report.id}, {report.status})."
            )
        self.stdout.write(f"Report {report.id} for “{room.title}”")
        tty = getattr(self.stdout, "isatty", lambda: False)()

        def draw(built):
            payload = built.payload
            percent = int(payload.get("percent", 0) or 0)
            step = payload.get("step") or payload.get("status", "")
            done = percent * BAR_WIDTH // 100
            bar = "█" * done + "░" * (BAR_WIDTH - done)
            line = f"[{bar}] {percent:3d}%  {step}"
            if tty:
                self.stdout.write(f"\r\033[K{line}", ending="")
                self.stdout.flush()
            else:
                self.stdout.write(line)

        add_progress_listener(draw)
        try:
            report = run_inline(report.id)
        finally:
            remove_progress_listener(draw)
        if tty:
            self.stdout.write("")
        if report.status != ReportStatus.COMPLETED:
            raise CommandError(f"The report failed: {report.error_message}\n{report.error_detail[:MAX_DETAIL_CHARS]}")
        try:
            where = default_storage.path(report.document.name)
        except NotImplementedError:
            where = default_storage.url(report.document.name)
        self.stdout.write(self.style.SUCCESS(f"Written by: {report.provider}"))
        self.stdout.write(self.style.SUCCESS(f"Report written to {where}"))
        sys.stdout.flush()
