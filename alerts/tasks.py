"""Celery tasks of alerts (beat sends alerts.auto_resolve every ALERT_AUTO_RESOLVE_INTERVAL_SECONDS)."""

from celery import shared_task

from alerts import services


@shared_task(name="alerts.auto_resolve", soft_time_limit=60, time_limit=90)
def auto_resolve():
    """Resolve the rooms whose alerts all cleared a grace period ago and in which nobody acted."""
    return services.alerts_auto_resolve_due()
