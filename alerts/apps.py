from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AlertsConfig(AppConfig):
    name = "alerts"
    verbose_name = _("Alerts")

    def ready(self):
        # The live event this app sends is declared on import (docs/events.md lists it).
        from alerts import events  # noqa: F401
