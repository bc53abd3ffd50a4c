"""Thin Celery tasks of incidents: ids in, the work in incidents/report_images.py."""

from botocore.exceptions import ConnectionError as BotoConnectionError
from celery import shared_task
from django.db import InterfaceError, OperationalError

from incidents import report_images


@shared_task(name="incidents.prepare_report_image", acks_late=True,
             autoretry_for=(OperationalError, InterfaceError, BotoConnectionError, ConnectionError),
             retry_backoff=2, max_retries=3, soft_time_limit=120, time_limit=150)
def prepare_report_image(file_id: str) -> str:
    """The report-ready image of one uploaded image, made once after the upload commits."""
    return report_images.file_prepare_report_image(file_id=file_id)
