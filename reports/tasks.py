"""Thin Celery tasks: take a report id, run one stage.

Every task shares :class:`ReportTask`: transient errors (database, storage
network) are retried with backoff and jitter; anything else that escapes a
stage ends the report in ``failed`` through ``on_failure``, so no stage can
leave a report running. A stage with nothing to do (claimed elsewhere,
already done) raises ``Ignore``, which also stops the rest of the chain.
"""

from __future__ import annotations

import logging
import time

from botocore.exceptions import ConnectionError as BotoConnectionError
from botocore.exceptions import ReadTimeoutError as BotoReadTimeout
from celery import Task, shared_task
from celery.exceptions import Ignore, SoftTimeLimitExceeded
from django.conf import settings
from django.db import InterfaceError, OperationalError, transaction

from reports.pipeline import reaper, stages
from reports.pipeline.state import GENERIC_FAILURE, ReportFailure, StageSkipped, report_fail

logger = logging.getLogger(__name__)

TRANSIENT_ERRORS = (OperationalError, InterfaceError, BotoConnectionError, BotoReadTimeout, ConnectionError)

TIMEOUT_MESSAGE = ("報告產生時間過長而被中止，請重新產生。The report took too long and was stopped; try again.",
                   "The report took too long and was stopped; try again.")


def _ai_budget() -> int:
    """Seconds one AI stage may need: every attempt at its full deadline, a repair, and some slack."""
    timeout = max(settings.DIFY_TIMEOUT_SECONDS, settings.OPENAI_TIMEOUT_SECONDS)
    budget = int((settings.AI_MAX_RETRIES + 1) * timeout * 2 + 60)
    # Must end before the reaper would consider the stage stuck.
    return max(60, min(budget, settings.REPORT_STUCK_AFTER_SECONDS - 90))


def failure_message(exc, language: str) -> tuple[str, str]:
    english = language == "en"
    if isinstance(exc, ReportFailure):
        return exc.message, exc.detail
    if isinstance(exc, SoftTimeLimitExceeded):
        return TIMEOUT_MESSAGE[1 if english else 0], "SoftTimeLimitExceeded"
    return GENERIC_FAILURE if english else f"報告產生失敗，請再試一次；若仍失敗請通知管理員。{GENERIC_FAILURE}", ""


class ReportTask(Task):
    abstract = True
    autoretry_for = TRANSIENT_ERRORS
    retry_backoff = 2
    retry_backoff_max = 60
    retry_jitter = True
    max_retries = 3
    acks_late = True
    reject_on_worker_lost = True

    def on_failure(self, exc, task_id, args, kwargs, einfo):
        report_id = args[0] if args else kwargs.get("report_id")
        if report_id is None:
            return
        from reports.models import Report

        language = Report.objects.filter(id=report_id).values_list("language", flat=True).first() or ""
        message, detail = failure_message(exc, language)
        detail = f"{self.name}: {detail or repr(exc)}\n\n{einfo.traceback if einfo else ''}"
        report_fail(report_id, message=message, detail=detail)


def _run(stage, report_id, *args, **kwargs):
    try:
        return stage(report_id, *args, **kwargs)
    except StageSkipped as exc:
        logger.info("%s", exc)
        raise Ignore() from exc


@shared_task(base=ReportTask, bind=True, name="reports.collect_data", soft_time_limit=60, time_limit=90)
def collect_data(self, report_id):
    _run(stages.collect_data, report_id)


@shared_task(base=ReportTask, bind=True, name="reports.generate_content",
             soft_time_limit=_ai_budget(), time_limit=_ai_budget() + 30)
def generate_content(self, report_id):
    deadline = time.monotonic() + (self.soft_time_limit or _ai_budget()) - 15
    _run(stages.generate_content, report_id, deadline=deadline)


@shared_task(base=ReportTask, bind=True, name="reports.write_section",
             soft_time_limit=_ai_budget(), time_limit=_ai_budget() + 30)
def write_section(self, report_id, key):
    deadline = time.monotonic() + (self.soft_time_limit or _ai_budget()) - 15
    _run(stages.write_section, report_id, key, deadline=deadline)
    if stages.finish_sections(report_id):
        from reports.pipeline.chain import after_content

        transaction.on_commit(lambda: after_content(report_id).apply_async())


@shared_task(base=ReportTask, bind=True, name="reports.assemble_document", soft_time_limit=120, time_limit=150)
def assemble_document(self, report_id):
    _run(stages.assemble_document, report_id)


@shared_task(base=ReportTask, bind=True, name="reports.publish", soft_time_limit=60, time_limit=90)
def publish_report(self, report_id):
    _run(stages.publish, report_id)


@shared_task(name="reports.reap_stuck_reports", soft_time_limit=60, time_limit=90)
def reap_stuck_reports():
    from reports.notes import fail_stuck_notes

    return {**reaper.reap_stuck_reports(), "notes_failed": fail_stuck_notes()}
