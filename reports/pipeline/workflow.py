"""The room report's workflow, top to bottom: every stage in order, as Celery runs it.

::

    report_request ──► collect_data ──► generate_content ──► assemble_document ──► publish ──► completed
                                          │  (parallel mode)            ▲
                                          └─► start_sections ──► write_section × N ─┘ (the last one to finish continues)
                       any failure ──► lifecycle.fail ──► failed          stuck ──► lifecycle.reap ──► resume(report)

Only the report id travels through the broker; each task runs one stage of
``reports/pipeline/stages.py`` (which knows nothing of Celery) and the stage
re-reads the row and claims its transition, so a redelivered task does nothing
twice. Transient errors (storage network) are retried with backoff, database errors
(PostgreSQL restarting) on a slower schedule that outlasts a restart;
anything else that escapes a stage ends the report in ``failed`` through
``on_failure``, so no stage can leave a report running. A stage with nothing to
do raises ``StageSkipped``, which stops the rest of the chain.

``run_inline`` runs the same stages in this process (the ``generate_report``
command), so a report written from a terminal is the same report.
"""

from __future__ import annotations

import logging
import random
import time
import traceback

from botocore.exceptions import ConnectionError as BotoConnectionError
from botocore.exceptions import ReadTimeoutError as BotoReadTimeout
from celery import Task, chain, group, shared_task
from celery.exceptions import Ignore
from django.conf import settings
from django.db import InterfaceError, OperationalError, transaction
from kombu.exceptions import OperationalError as BrokerError

from config import metrics
from reports import lifecycle
from reports.models import Report
from reports.pipeline import stages
from reports.pipeline.state import ASSEMBLE, COLLECT, CONTENT, PUBLISH, StageSkipped, first_unfinished_stage

logger = logging.getLogger(__name__)

TRANSIENT_ERRORS = (BotoConnectionError, BotoReadTimeout, ConnectionError)
# PostgreSQL restarting or failing over: retried on their own schedule, long enough to outlast
# a restart (about two minutes in all), and never so fast that the tries are spent in seconds.
DATABASE_ERRORS = (OperationalError, InterfaceError)
DATABASE_MAX_RETRIES = 8
DATABASE_RETRY_MAX_SECONDS = 30


def database_retry_countdown(retries: int) -> float:
    """1, 2, 4, 8, 16, 30, 30, 30 s (plus up to a second of jitter): about 2 minutes over 8 tries."""
    return min(2 ** retries, DATABASE_RETRY_MAX_SECONDS) + random.uniform(0, 1)  # noqa: S311 - jitter, not a secret
# The AI stages stop writing this long before their soft time limit, to save what they have.
AI_DEADLINE_MARGIN_SECONDS = 15


def ai_stage_budget() -> int:
    """Seconds an AI stage may take.

    Every attempt (the first and AI_MAX_RETRIES more) may use its full timeout, and the
    answer may need one repair request of the same length (hence × 2); 60 s covers the
    backoff between attempts and the database work. The budget must end before the reaper
    would think the stage stuck (REPORT_STUCK_AFTER_SECONDS, less 90 s for the hard limit's
    30 s and the reaper's own minute), and never drops under a minute.
    """
    timeout = max(settings.DIFY_TIMEOUT_SECONDS, settings.OPENAI_TIMEOUT_SECONDS)
    budget = int((settings.AI_MAX_RETRIES + 1) * timeout * 2 + 60)
    return max(60, min(budget, settings.REPORT_STUCK_AFTER_SECONDS - 90))


class StageTask(Task):
    """The base of every stage task: retry what is transient, fail the report on anything else."""

    abstract = True
    autoretry_for = TRANSIENT_ERRORS
    retry_backoff = 2
    retry_backoff_max = 60
    retry_jitter = True
    max_retries = 3
    acks_late = True
    reject_on_worker_lost = True

    def __call__(self, *args, **kwargs):
        try:
            return super().__call__(*args, **kwargs)
        except DATABASE_ERRORS as exc:
            if self.request.called_directly:
                raise
            logger.warning("%s: database unavailable (%r); retry %d of %d", self.name, exc,
                           self.request.retries + 1, DATABASE_MAX_RETRIES)
            # The stage re-runs from its claim: a report at the stage's own status with its step
            # unfinished is taken up again (state.claim_stage), so nothing is done twice.
            raise self.retry(exc=exc, countdown=database_retry_countdown(self.request.retries),
                             max_retries=DATABASE_MAX_RETRIES) from exc

    def on_failure(self, exc, task_id, args, kwargs, einfo):
        report_id = args[0] if args else kwargs.get("report_id")
        if report_id is not None:
            lifecycle.fail_for(report_id, exc, detail=f"{self.name}\n\n{einfo.traceback if einfo else ''}")

    def deadline(self) -> float:
        """When the AI writer must have answered (monotonic clock)."""
        return time.monotonic() + (self.soft_time_limit or ai_stage_budget()) - AI_DEADLINE_MARGIN_SECONDS


def _run(stage, report_id, *args, **kwargs):
    """Run one stage, timed (warroom_report_stage_duration_seconds) and logged with the report's id."""
    started = time.monotonic()
    try:
        result = stage(report_id, *args, **kwargs)
    except StageSkipped as exc:
        metrics.stage_finished(stage=stage.__name__, outcome="skipped", seconds=time.monotonic() - started)
        logger.info("%s", exc)
        raise Ignore() from exc
    except BaseException:
        metrics.stage_finished(stage=stage.__name__, outcome="error", seconds=time.monotonic() - started)
        raise
    seconds = time.monotonic() - started
    metrics.stage_finished(stage=stage.__name__, outcome="ok", seconds=seconds)
    logger.info("Report %s: %s done in %.2f s", report_id, stage.__name__, seconds)
    return result


# --- The tasks: one per stage --------------------------------------------------------------


@shared_task(base=StageTask, bind=True, name="reports.collect_data", soft_time_limit=60, time_limit=90)
def collect_data(self, report_id):
    _run(stages.collect_data, report_id)


@shared_task(base=StageTask, bind=True, name="reports.generate_content",
             soft_time_limit=ai_stage_budget(), time_limit=ai_stage_budget() + 30)
def generate_content(self, report_id):
    _run(stages.generate_content, report_id, deadline=self.deadline())


@shared_task(base=StageTask, bind=True, name="reports.start_sections", soft_time_limit=60, time_limit=90)
def start_sections(self, report_id):
    """Parallel mode's content stage: one ``write_section`` per section, sent once the claim commits."""
    todo = _run(stages.start_sections, report_id)
    if todo:
        transaction.on_commit(lambda: group(write_section.si(report_id, key) for key in todo).apply_async())
    else:
        _continue_after_sections(report_id)


@shared_task(base=StageTask, bind=True, name="reports.write_section",
             soft_time_limit=ai_stage_budget(), time_limit=ai_stage_budget() + 30)
def write_section(self, report_id, key):
    _run(stages.write_section, report_id, key, deadline=self.deadline())
    _continue_after_sections(report_id)


@shared_task(base=StageTask, bind=True, name="reports.assemble_document", soft_time_limit=120, time_limit=150)
def assemble_document(self, report_id):
    _run(stages.assemble_document, report_id)


@shared_task(base=StageTask, bind=True, name="reports.publish", soft_time_limit=60, time_limit=90)
def publish_report(self, report_id):
    _run(stages.publish, report_id)


def _continue_after_sections(report_id) -> None:
    """The fan-in: whichever section finishes last (exactly one wins the claim) sends the rest of the chain."""
    if stages.finish_sections(report_id):
        transaction.on_commit(lambda: report_workflow(report_id, start=ASSEMBLE).apply_async())


# --- The workflow ----------------------------------------------------------------------------


def report_workflow(report_id, *, start: str = COLLECT):
    """The chain of stages from ``start`` (the first, unless the reaper resumes a stuck report)."""
    report_id = str(report_id)
    parallel = settings.REPORT_SECTION_MODE == "parallel"
    stages_in_order = [
        # 1. Snapshot the room (members, timeline, files, action items) into the collect step.
        (COLLECT, collect_data.si(report_id)),
        # 2. The writer drafts the kind's six sections. In parallel mode each section is its own
        #    task, and the chain ends here: the last section to finish sends stages 3 and 4.
        (CONTENT, start_sections.si(report_id) if parallel else generate_content.si(report_id)),
        # 3. Build the .docx (metadata, sections, tables, screenshots) into a staging file.
        (ASSEMBLE, assemble_document.si(report_id)),
        # 4. Store the document under its final name, mark the report completed, tell the room.
        (PUBLISH, publish_report.si(report_id)),
    ]
    keys = [key for key, _signature in stages_in_order]
    chosen = stages_in_order[keys.index(start):]
    if parallel and start in (COLLECT, CONTENT):
        chosen = chosen[: keys.index(CONTENT) - keys.index(start) + 1]
    return chain(*[signature for _key, signature in chosen])


def start(report_id) -> None:
    """Send a new report's workflow; a broker that refuses it ends the report with a message."""
    try:
        report_workflow(report_id).apply_async()
    except BrokerError as exc:
        lifecycle.fail(report_id, message=lifecycle.BROKER_DOWN, detail=f"broker unavailable: {exc!r}")
        logger.error("Could not start report %s: %r", report_id, exc)


def resume(report: Report) -> str:
    """Send a stuck report on from its first unfinished stage (the reaper's need); returns that stage."""
    stage = first_unfinished_stage(report)
    report_workflow(report.id, start=stage).apply_async()
    return stage


def run_inline(report_id) -> Report:
    """Every stage in this process, in order; a failure ends the report as a worker's would."""
    try:
        stages.collect_data(report_id)
        if settings.REPORT_SECTION_MODE == "parallel":
            for key in stages.start_sections(report_id):
                stages.write_section(report_id, key)
            stages.finish_sections(report_id)
        else:
            stages.generate_content(report_id)
        stages.assemble_document(report_id)
        stages.publish(report_id)
    except StageSkipped as exc:
        logger.info("%s", exc)
    except Exception as exc:  # noqa: BLE001 - every failure ends the report, as on a worker
        lifecycle.fail_for(report_id, exc, detail=traceback.format_exc())
    return Report.objects.get(id=report_id)
