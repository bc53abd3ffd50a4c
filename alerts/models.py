"""Alert sources, the alerts they send, and the groups that tie alerts to a room."""

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from incidents.models import IncidentRoom, Severity

# Label value (lowercased) -> room severity; a source may replace it.
DEFAULT_SEVERITY_MAP = {
    "critical": Severity.SEV1,
    "major": Severity.SEV2,
    "high": Severity.SEV2,
    "warning": Severity.SEV3,
    "info": Severity.SEV4,
}
# Labels that make up the group key when present; absent ones are skipped.
DEFAULT_GROUP_BY = ["alertname", "service", "cluster"]


def default_group_by() -> list:
    return list(DEFAULT_GROUP_BY)


def default_severity_map() -> dict:
    return {key: str(value) for key, value in DEFAULT_SEVERITY_MAP.items()}


def severity_rank(severity: str) -> int:
    """1 for SEV1 (the worst) to 4 for SEV4; unknown values rank as SEV4."""
    return Severity.values.index(severity) + 1 if severity in Severity.values else len(Severity.values)


class SourceKind(models.TextChoices):
    ALERTMANAGER = "alertmanager", "Prometheus Alertmanager"
    GRAFANA = "grafana", "Grafana"
    GENERIC = "generic", _("Generic webhook")


class AlertSource(models.Model):
    """A system that sends alerts, with its own token and rules for turning alerts into rooms."""

    name = models.CharField(_("name"), max_length=100, unique=True)
    kind = models.CharField(_("kind"), max_length=16, choices=SourceKind.choices)
    # The token is shown once; only its SHA-256 is kept (and a prefix to recognise it by).
    token_prefix = models.CharField(_("token prefix"), max_length=12, editable=False, blank=True)
    token_hash = models.CharField(max_length=64, unique=True, editable=False)
    group_by = models.JSONField(
        _("group by labels"), default=default_group_by, blank=True,
        help_text=_("Labels whose values make up the group key; absent labels are skipped."),
    )
    group_window_minutes = models.PositiveIntegerField(
        _("grouping window (minutes)"), default=30,
        help_text=_("A firing alert joins its group's open room if the group's last alert is this recent."),
    )
    severity_label = models.CharField(_("severity label"), max_length=100, default="severity")
    severity_map = models.JSONField(
        _("severity mapping"), default=default_severity_map, blank=True,
        help_text=_("Label value → room severity, e.g. {\"critical\": \"sev1\"}."),
    )
    default_severity = models.CharField(
        _("default severity"), max_length=8, choices=Severity.choices, default=Severity.SEV3
    )
    opens_rooms = models.BooleanField(_("opens rooms"), default=True)
    min_severity = models.CharField(
        _("opens rooms from severity"), max_length=8, choices=Severity.choices, default=Severity.SEV4,
        help_text=_("A new group opens a room only at this severity or worse."),
    )
    default_commander = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+",
        verbose_name=_("default commander"),
    )
    default_members = models.ManyToManyField(
        settings.AUTH_USER_MODEL, blank=True, related_name="+", verbose_name=_("default members")
    )
    enabled = models.BooleanField(_("enabled"), default=True)
    snoozed_until = models.DateTimeField(
        _("snoozed until"), null=True, blank=True, help_text=_("Until then alerts are stored but open no room.")
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        verbose_name = _("alert source")
        verbose_name_plural = _("alert sources")
        ordering = ["name"]

    def __str__(self):
        return self.name

    def is_snoozed(self, now=None) -> bool:
        return self.snoozed_until is not None and self.snoozed_until > (now or timezone.now())


class AlertSnooze(models.Model):
    """Alerts of a source whose labels include all of ``matchers`` open no room until ``until``."""

    source = models.ForeignKey(AlertSource, on_delete=models.CASCADE, related_name="snoozes", verbose_name=_("source"))
    matchers = models.JSONField(_("labels to match"), default=dict, help_text=_("e.g. {\"alertname\": \"DiskFull\"}"))
    until = models.DateTimeField(_("until"))
    reason = models.CharField(_("reason"), max_length=200, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        verbose_name = _("alert snooze")
        verbose_name_plural = _("alert snoozes")
        indexes = [models.Index(fields=["source", "until"], name="alert_snooze_source_until")]

    def __str__(self):
        return f"{self.source}: {self.matchers}"

    def matches(self, labels: dict) -> bool:
        return all(labels.get(key) == str(value) for key, value in (self.matchers or {}).items())


class AlertGroup(models.Model):
    """Alerts of one source with the same group key, and the room they went to."""

    source = models.ForeignKey(AlertSource, on_delete=models.CASCADE, related_name="groups")
    group_key = models.CharField(max_length=500)
    room = models.OneToOneField(IncidentRoom, on_delete=models.CASCADE, related_name="alert_group")
    opened_at = models.DateTimeField(default=timezone.now)
    last_alert_at = models.DateTimeField(default=timezone.now)
    # Set when the room's last firing alert resolved; cleared when one fires again.
    cleared_at = models.DateTimeField(null=True, blank=True)
    # The grace period was looked at once after clearing (resolved, or left open because a person acted).
    clear_settled = models.BooleanField(default=False)
    auto_resolved_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("alert group")
        verbose_name_plural = _("alert groups")
        indexes = [
            models.Index(fields=["source", "group_key", "-last_alert_at"], name="alert_group_lookup"),
            models.Index(fields=["opened_at"], name="alert_group_opened"),
            models.Index(fields=["cleared_at"], name="alert_group_cleared"),
        ]

    def __str__(self):
        return f"{self.source} · {self.group_key}"


class AlertStatus(models.TextChoices):
    FIRING = "firing", _("Firing")
    RESOLVED = "resolved", _("Resolved")


class Attachment(models.TextChoices):
    """How an alert met its room (the converged/opened figures of the daily report)."""

    OPENED = "opened", _("Opened a room")
    GROUPED = "grouped", _("Joined an open room")
    SUPPRESSED = "suppressed", _("Snoozed")
    NONE = "none", _("No room")


class Alert(models.Model):
    source = models.ForeignKey(AlertSource, on_delete=models.CASCADE, related_name="alerts", verbose_name=_("source"))
    fingerprint = models.CharField(max_length=128)
    status = models.CharField(_("status"), max_length=10, choices=AlertStatus.choices, default=AlertStatus.FIRING)
    alertname = models.CharField(_("alert name"), max_length=200, blank=True)
    title = models.CharField(_("title"), max_length=300)
    severity = models.CharField(_("severity"), max_length=8, choices=Severity.choices, default=Severity.SEV3)
    category = models.CharField(_("category"), max_length=100, blank=True)
    group_key = models.CharField(max_length=500, blank=True)
    labels = models.JSONField(_("labels"), default=dict)
    annotations = models.JSONField(_("annotations"), default=dict)
    generator_url = models.CharField(max_length=2000, blank=True)
    dashboard_url = models.CharField(max_length=2000, blank=True)
    starts_at = models.DateTimeField(null=True, blank=True)
    ends_at = models.DateTimeField(null=True, blank=True)
    first_seen = models.DateTimeField(_("first seen"), default=timezone.now)
    last_seen = models.DateTimeField(_("last seen"), default=timezone.now)
    resolved_at = models.DateTimeField(_("resolved at"), null=True, blank=True)
    occurrences = models.PositiveIntegerField(_("occurrences"), default=1)
    room = models.ForeignKey(
        IncidentRoom, on_delete=models.SET_NULL, null=True, blank=True, related_name="alerts", verbose_name=_("room")
    )
    attachment = models.CharField(max_length=10, choices=Attachment.choices, default=Attachment.NONE)
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+",
        verbose_name=_("acknowledged by"),
    )
    acknowledged_at = models.DateTimeField(_("acknowledged at"), null=True, blank=True)

    class Meta:
        verbose_name = _("alert")
        verbose_name_plural = _("alerts")
        ordering = ["-last_seen", "-id"]
        constraints = [models.UniqueConstraint(fields=["source", "fingerprint"], name="alert_source_fingerprint")]
        indexes = [
            models.Index(fields=["room", "status"], name="alert_room_status"),
            models.Index(fields=["first_seen"], name="alert_first_seen"),
            models.Index(fields=["acknowledged_at"], name="alert_acknowledged"),
            models.Index(fields=["status", "-last_seen"], name="alert_status_seen"),
        ]

    def __str__(self):
        return self.title


class AlertDelivery(models.Model):
    """One accepted webhook call: how many alerts it carried and how many were repeats (for the KPIs)."""

    source = models.ForeignKey(AlertSource, on_delete=models.CASCADE, related_name="deliveries")
    received_at = models.DateTimeField(default=timezone.now)
    alert_count = models.PositiveIntegerField(default=0)
    new_count = models.PositiveIntegerField(default=0)
    duplicate_count = models.PositiveIntegerField(default=0)

    class Meta:
        verbose_name = _("alert delivery")
        verbose_name_plural = _("alert deliveries")
        indexes = [models.Index(fields=["received_at"], name="alert_delivery_received")]
