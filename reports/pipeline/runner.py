"""Run the whole pipeline in this process (the ``generate_report`` command), stage by stage.

It calls the same stage functions as the Celery tasks and ends a failure the
same way, so a report written from a terminal is the same report.
"""

from __future__ import annotations

import logging
import traceback

from reports.models import Report
from reports.pipeline import stages
from reports.pipeline.state import StageSkipped, report_fail

logger = logging.getLogger(__name__)


def run_inline(report_id) -> Report:
    from reports.tasks import failure_message

    try:
        stages.collect_data(report_id)
        stages.generate_content(report_id, inline=True)
        stages.assemble_document(report_id)
        stages.publish(report_id)
    except StageSkipped as exc:
        logger.info("%s", exc)
    except Exception as exc:  # noqa: BLE001 - every failure ends the report, as on a worker
        language = Report.objects.filter(id=report_id).values_list("language", flat=True).first() or ""
        message, detail = failure_message(exc, language)
        report_fail(report_id, message=message, detail=f"{detail or repr(exc)}\n\n{traceback.format_exc()}")
    return Report.objects.get(id=report_id)
