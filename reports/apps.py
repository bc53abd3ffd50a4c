from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ReportsConfig(AppConfig):
    name = "reports"
    verbose_name = _("Reports")

    def ready(self):
        from django.db.models.signals import post_migrate

        from reports.daily.schedule import ensure_schedule_after_migrate

        # The 08:00 daily report entry in django-celery-beat, created once its tables exist.
        post_migrate.connect(ensure_schedule_after_migrate, sender=self, dispatch_uid="reports.daily_schedule")

        from incidents.signals import room_resolved
        from reports.receivers import on_room_resolved

        # Every resolution gets ticket notes, streamed to the room, and long incidents a
        # postmortem (the decision goes to the room's timeline); both from a worker.
        room_resolved.connect(on_room_resolved, dispatch_uid="reports.after_resolve")
