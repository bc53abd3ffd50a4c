"""The Celery chain of the pipeline: one task per stage, only the report id on the broker."""

from __future__ import annotations

from celery import chain, group
from django.conf import settings

from reports.pipeline.state import STAGE_ORDER


def _tasks():
    from reports import tasks

    return {
        "collect_data": tasks.collect_data,
        "generate_content": tasks.generate_content,
        "assemble_document": tasks.assemble_document,
        "publish": tasks.publish_report,
    }


def report_pipeline(report_id, *, start: str = "collect_data"):
    """The chain from ``start`` to the end.

    In parallel section mode the chain stops after generate_content: the
    section tasks it sends finish the stage, and the last of them sends
    :func:`after_content`.
    """
    tasks = _tasks()
    stages = STAGE_ORDER[STAGE_ORDER.index(start):]
    if settings.REPORT_SECTION_MODE == "parallel" and "generate_content" in stages:
        stages = stages[: stages.index("generate_content") + 1]
    return chain(*[tasks[stage].si(str(report_id)) for stage in stages])


def after_content(report_id):
    tasks = _tasks()
    return chain(tasks["assemble_document"].si(str(report_id)), tasks["publish"].si(str(report_id)))


def section_group(report_id, keys: list[str]):
    from reports import tasks

    return group(tasks.write_section.si(str(report_id), key) for key in keys)
