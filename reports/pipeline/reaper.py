"""The reaper: no report stays in a running stage forever.

A worker killed mid-stage or a broker that lost the message leaves a report
whose stage never finishes. Every minute (``CELERY_BEAT_SCHEDULE``) the
reaper looks for reports whose current stage was claimed more than
``REPORT_STUCK_AFTER_SECONDS`` ago (longer than any stage's hard time limit),
and re-queues the pipeline from the stage that did not finish, at most
``MAX_REQUEUES`` times; after that the report fails with a message.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from reports.models import Report, ReportKind, ReportStatus, ReportStep, StepStatus
from reports.pipeline.state import report_fail
from reports.prompts import normalize_language

logger = logging.getLogger(__name__)

MAX_REQUEUES = 2
RUNNING = [ReportStatus.COLLECTING_DATA, ReportStatus.GENERATING_CONTENT, ReportStatus.ASSEMBLING_DOCUMENT]
STUCK_MESSAGE = (
    "報告產生逾時而被中止，請重新產生。The report stopped making progress and was ended; try again.",
    "The report stopped making progress and was ended; try again.",
)


def stage_to_resume(report: Report) -> str:
    """The first stage of ``report`` that has not finished."""
    done = set(ReportStep.objects.filter(report=report, status=StepStatus.COMPLETED, parent__isnull=True)
               .values_list("key", flat=True))
    for stage in ("collect_data", "generate_content", "assemble_document", "publish"):
        if stage not in done:
            return stage
    return "publish"


def stuck_reports(now=None):
    now = now or timezone.now()
    cutoff = now - timedelta(seconds=settings.REPORT_STUCK_AFTER_SECONDS)
    return Report.objects.filter(
        Q(status__in=RUNNING, stage_started_at__lt=cutoff)
        | Q(status=ReportStatus.PENDING, stage_started_at__lt=cutoff)
        | Q(status=ReportStatus.PENDING, stage_started_at__isnull=True, created_at__lt=cutoff)
    ).exclude(
        # Daily reports re-claim their own rows and ticket notes have their own task:
        # neither goes through the room pipeline this reaper re-queues.
        kind__in=[ReportKind.DAILY, ReportKind.NOTES]
    )


def reap_stuck_reports(*, now=None, report_ids=None) -> dict:
    """Re-queue or fail stuck reports (only ``report_ids`` when given); returns the counts."""
    now = now or timezone.now()
    counts = {"requeued": 0, "failed": 0}
    stuck = stuck_reports(now)
    if report_ids is not None:
        stuck = stuck.filter(id__in=report_ids)
    for report in stuck.order_by("created_at")[:500]:
        if report.attempts >= MAX_REQUEUES:
            zh, en = STUCK_MESSAGE
            if report_fail(report.id, message=en if normalize_language(report.language) == "en" else zh,
                           detail=f"stuck in {report.status} since {report.stage_started_at or report.created_at}; "
                                  f"re-queued {report.attempts} times"):
                counts["failed"] += 1
            continue
        stage = stage_to_resume(report)
        with transaction.atomic():
            # Claim the re-queue so that two reapers never send the same report twice.
            claimed = Report.objects.filter(
                id=report.id, status=report.status, stage_started_at=report.stage_started_at
            ).update(stage_started_at=now, attempts=F("attempts") + 1)
            if not claimed:
                continue
            from reports.pipeline.chain import report_pipeline

            transaction.on_commit(
                lambda report_id=report.id, stage=stage: report_pipeline(report_id, start=stage).apply_async()
            )
        logger.warning("Re-queued report %s from %s (it was stuck in %s)", report.id, stage, report.status)
        counts["requeued"] += 1
    return counts
