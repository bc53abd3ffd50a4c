import uuid

from django.conf import settings
from django.db import models
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class ReportKind(models.TextChoices):
    INCIDENT = "incident", _("Incident report")
    POSTMORTEM = "postmortem", _("Postmortem")
    DAILY = "daily", _("Daily report")
    NOTES = "notes", _("Ticket notes")


class ReportStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    COLLECTING_DATA = "collecting_data", _("Collecting data")
    GENERATING_CONTENT = "generating_content", _("Writing content")
    ASSEMBLING_DOCUMENT = "assembling_document", _("Assembling the document")
    COMPLETED = "completed", _("Completed")
    FAILED = "failed", _("Failed")


class ReportState(models.TextChoices):
    DRAFT = "draft", _("Draft")
    FINAL = "final", _("Final")


class VersionSource(models.TextChoices):
    AI = "ai", _("Written by the pipeline")
    EDIT = "edit", _("Edited by a person")
    SECTION_AI = "section_ai", _("Section rewritten by AI")


# Statuses in which a report is still being worked on.
IN_FLIGHT_STATUSES = (
    ReportStatus.PENDING,
    ReportStatus.COLLECTING_DATA,
    ReportStatus.GENERATING_CONTENT,
    ReportStatus.ASSEMBLING_DOCUMENT,
)


def report_document_path(instance, filename):
    if instance.kind == ReportKind.DAILY and instance.period_date:
        return f"reports/daily/{instance.period_date.isoformat()}.docx"
    return f"reports/{instance.room_id}/{instance.id}.docx"


class Report(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    room = models.ForeignKey(
        "incidents.IncidentRoom", on_delete=models.CASCADE, null=True, blank=True, related_name="reports"
    )
    kind = models.CharField(_("kind"), max_length=12, choices=ReportKind.choices, default=ReportKind.INCIDENT)
    status = models.CharField(
        _("status"), max_length=20, choices=ReportStatus.choices, default=ReportStatus.PENDING
    )
    language = models.CharField(_("language"), max_length=10, default="zh-hant")
    # The live position, also sent as report.progress events.
    step = models.CharField(_("current step"), max_length=200, blank=True)
    percent = models.PositiveSmallIntegerField(default=0)
    # For people (short, actionable) and for operators (technical detail, admin only).
    error_message = models.TextField(blank=True)
    error_detail = models.TextField(blank=True)
    # Which writer produced the content: offline, dify, openai or offline-fallback.
    provider = models.CharField(max_length=20, blank=True)
    fallback_reason = models.TextField(blank=True)
    llm_message_id = models.CharField(max_length=200, blank=True)
    llm_conversation_id = models.CharField(max_length=200, blank=True)
    prompt_tokens = models.PositiveIntegerField(default=0)
    completion_tokens = models.PositiveIntegerField(default=0)
    title = models.CharField(max_length=300, blank=True)
    content = models.JSONField(default=dict, blank=True)
    document = models.FileField(upload_to=report_document_path, max_length=300, blank=True)
    document_size = models.PositiveBigIntegerField(null=True, blank=True)
    # The day a daily report covers (Asia/Taipei); empty for room reports.
    period_date = models.DateField(null=True, blank=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="requested_reports"
    )
    created_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    # When the current stage was claimed: the reaper's clock for stuck reports.
    stage_started_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    delivery = models.JSONField(default=dict, blank=True)
    # Review: the latest version's number, draft until a commander (or operator) finalizes it.
    version = models.PositiveIntegerField(default=0)
    state = models.CharField(_("state"), max_length=8, choices=ReportState.choices, default=ReportState.DRAFT)
    final_version = models.PositiveIntegerField(null=True, blank=True)
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="approved_reports"
    )
    approved_at = models.DateTimeField(null=True, blank=True)
    # What the AI cost for the pipeline's content (copied into version 1).
    ledger = models.JSONField(default=dict, blank=True)

    class Meta:
        verbose_name = _("report")
        verbose_name_plural = _("reports")
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["room", "-created_at"], name="report_room_created"),
            models.Index(fields=["status", "stage_started_at"], name="report_status_stage"),
            models.Index(fields=["kind", "created_at"], name="report_kind_created"),
        ]
        constraints = [
            # At most one report of a kind in flight per room: a second request
            # gets the running one back instead of starting another.
            models.UniqueConstraint(
                fields=["room", "kind"],
                condition=models.Q(status__in=IN_FLIGHT_STATUSES),
                name="report_one_in_flight_per_room_kind",
            ),
            models.UniqueConstraint(
                fields=["kind", "period_date"],
                condition=models.Q(period_date__isnull=False),
                name="report_one_per_kind_period",
            ),
        ]

    def __str__(self):
        return self.title or f"{self.get_kind_display()} {self.id}"

    @property
    def is_in_flight(self) -> bool:
        return self.status in IN_FLIGHT_STATUSES

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens

    @property
    def download_url(self) -> str | None:
        """Where a room member downloads the finished document (None until it is completed)."""
        if self.status != ReportStatus.COMPLETED or self.room_id is None:
            return None
        return reverse("reports-api:report-download", kwargs={"room_id": self.room_id, "report_id": self.id})


def version_document_path(instance, filename):
    return f"reports/{instance.report.room_id}/{instance.report_id}/{filename}"


class ReportVersion(models.Model):
    """One saved state of a room report's content, with its own .docx and what the AI cost for it.

    Version 1 is what the pipeline wrote; every save (an edit, a section rewritten by AI)
    adds the next number. The report's ``content`` and ``document`` are its latest version's.
    """

    report = models.ForeignKey(Report, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField()
    source = models.CharField(max_length=12, choices=VersionSource.choices, default=VersionSource.AI)
    changed_sections = models.JSONField(default=list, blank=True)
    content = models.JSONField(default=dict, blank=True)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="report_versions"
    )
    created_at = models.DateTimeField(default=timezone.now)
    document = models.FileField(upload_to=version_document_path, max_length=300, blank=True)
    document_size = models.PositiveBigIntegerField(null=True, blank=True)
    # The AI ledger of this version: provider, model, prompt version (a hash of the system prompt
    # and schema), tokens, latency and cost; empty for a person's edit.
    ledger = models.JSONField(default=dict, blank=True)

    class Meta:
        verbose_name = _("report version")
        verbose_name_plural = _("report versions")
        ordering = ["report", "number"]
        constraints = [models.UniqueConstraint(fields=["report", "number"], name="report_version_unique_number")]

    def __str__(self):
        return f"{self.report} v{self.number}"

    @property
    def download_url(self) -> str:
        url = reverse("reports-api:report-download", kwargs={"room_id": self.report.room_id, "report_id": self.report_id})
        return f"{url}?version={self.number}"


class StepStatus(models.TextChoices):
    RUNNING = "running", _("Running")
    COMPLETED = "completed", _("Completed")
    FAILED = "failed", _("Failed")
    SKIPPED = "skipped", _("Skipped")


class ReportStep(models.Model):
    """One unit of pipeline work: report -> stage -> section, with timings and AI I/O."""

    report = models.ForeignKey(Report, on_delete=models.CASCADE, related_name="steps")
    parent = models.ForeignKey("self", on_delete=models.CASCADE, null=True, blank=True, related_name="children")
    key = models.CharField(max_length=100)
    label = models.CharField(max_length=200, blank=True)
    status = models.CharField(max_length=10, choices=StepStatus.choices, default=StepStatus.RUNNING)
    started_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)
    # Prompt, raw response, counts: what an operator needs to see what happened.
    detail = models.JSONField(default=dict, blank=True)

    class Meta:
        verbose_name = _("report step")
        verbose_name_plural = _("report steps")
        ordering = ["started_at", "id"]
        constraints = [models.UniqueConstraint(fields=["report", "key"], name="report_step_unique_key")]

    def __str__(self):
        return self.label or self.key

    @property
    def duration_seconds(self):
        if self.finished_at is None:
            return None
        return (self.finished_at - self.started_at).total_seconds()
