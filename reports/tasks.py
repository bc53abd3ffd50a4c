"""Every Celery task of reports, for the worker's autodiscovery.

The tasks live beside the work they start, so that no module has to import
this one: the report workflow's stage tasks in ``reports/pipeline/workflow.py``,
ticket notes in ``reports/notes/service.py``, the daily report in
``reports/daily/producer.py`` and the follow-ups of a resolve in
``reports/receivers.py``. The reaper is here because it serves every kind.
"""

from celery import shared_task

from reports import lifecycle, receivers, review  # noqa: F401 - registers after_resolve, regenerate_section
from reports.daily import producer  # noqa: F401 - registers the daily report's tasks
from reports.notes import service  # noqa: F401 - registers reports.write_notes
from reports.pipeline import workflow


@shared_task(name="reports.reap_stuck_reports", soft_time_limit=60, time_limit=90)
def reap_stuck_reports():
    """Resume or fail reports a dead worker left in flight (every minute, see REPORT_REAP_INTERVAL_SECONDS)."""
    return lifecycle.reap(resume=workflow.resume)
