"""The beat entry of the daily report: 08:00 in DAILY_REPORT_TIME_ZONE, created once, never overwritten.

Celery beat runs ``reports.daily_report`` from a django-celery-beat entry that
operators see and change in the admin; the entry is created by ``manage.py
setup_schedules`` and after every ``migrate``.
"""

from django.conf import settings
from django.db import connections
from django_celery_beat.models import CrontabSchedule, PeriodicTask

TASK_NAME = "reports.daily_report"
SCHEDULE_NAME = "Daily KPI report (08:00 Asia/Taipei)"
DAILY_AT = {"minute": "0", "hour": "8", "day_of_week": "*", "day_of_month": "*", "month_of_year": "*"}


def ensure_daily_schedule(*, using="default"):
    """Create the 08:00 beat entry if it is missing; never change one an operator edited.

    Returns (periodic_task, created).
    """
    existing = PeriodicTask.objects.using(using).filter(name=SCHEDULE_NAME).first()
    if existing is not None:
        return existing, False
    fields = {**DAILY_AT, "timezone": settings.DAILY_REPORT_TIME_ZONE}
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
    if PeriodicTask._meta.db_table not in connections[using].introspection.table_names():
        return
    task, created = ensure_daily_schedule(using=using)
    if created and kwargs.get("verbosity", 1) >= 1:
        print(f"  Created the beat entry “{task.name}”.")  # noqa: T201 - migrate's own output style
