from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class IncidentsConfig(AppConfig):
    name = "incidents"
    verbose_name = _("Incidents")

    def ready(self):
        from django.db.models.signals import post_delete

        from incidents.models import IncidentRoom

        post_delete.connect(_room_deleted, sender=IncidentRoom, dispatch_uid="incidents-room-deleted-closes-sockets")


def _room_deleted(sender, instance, **kwargs):
    from django.db import transaction

    from realtime import access

    room_id = instance.pk
    transaction.on_commit(lambda: access.recheck_room(room_id))
