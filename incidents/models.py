import uuid
from pathlib import PurePosixPath

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils import translation
from django.utils.translation import gettext_lazy as _


class Severity(models.TextChoices):
    SEV1 = "sev1", "SEV1"
    SEV2 = "sev2", "SEV2"
    SEV3 = "sev3", "SEV3"
    SEV4 = "sev4", "SEV4"


class Category(models.Model):
    """One of the short, admin-managed list of categories the room forms offer.

    A room stores the key (or, for older rooms and the API, any text): ``category_labels()``
    maps keys and either label, in any case, to the label in the reader's language, and
    anything unknown is shown as it was typed.
    """

    key = models.SlugField(_("key"), max_length=100, unique=True)
    label_en = models.CharField(_("English label"), max_length=100)
    label_zh_hant = models.CharField(_("Traditional Chinese label"), max_length=100)
    position = models.PositiveSmallIntegerField(_("position"), default=0)
    active = models.BooleanField(_("offered in forms"), default=True)

    class Meta:
        verbose_name = _("category")
        verbose_name_plural = _("categories")
        ordering = ["position", "key"]

    def __str__(self):
        return self.label()

    def label(self, language=None) -> str:
        labels = {"zh-hant": self.label_zh_hant, "en": self.label_en}
        return labels.get(language or translation.get_language() or settings.LANGUAGE_CODE) or self.label_en or self.key


def category_labels(language=None) -> dict[str, str]:
    """Lower-cased key and labels of every category -> its label in ``language`` (default: the active one)."""
    labels = {}
    for category in Category.objects.all():
        label = category.label(language)
        for alias in (category.key, category.label_en, category.label_zh_hant):
            if alias:
                labels[alias.strip().lower()] = label
    return labels


class RoomStatus(models.TextChoices):
    ACTIVE = "active", _("Active")
    RESOLVED = "resolved", _("Resolved")
    ARCHIVED = "archived", _("Archived")


class IncidentRoom(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    title = models.CharField(_("title"), max_length=200)
    description = models.TextField(_("description"), blank=True)
    severity = models.CharField(_("severity"), max_length=8, choices=Severity.choices, default=Severity.SEV3)
    category = models.CharField(_("category"), max_length=100, blank=True)
    status = models.CharField(_("status"), max_length=10, choices=RoomStatus.choices, default=RoomStatus.ACTIVE)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="created_rooms"
    )
    created_at = models.DateTimeField(_("opened at"), default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)
    resolved_at = models.DateTimeField(_("resolved at"), null=True, blank=True)
    # Kept through reopen: a second resolution is not a first one (no second postmortem).
    first_resolved_at = models.DateTimeField(null=True, blank=True, editable=False)
    resolution_summary = models.TextField(_("resolution summary"), blank=True)

    class Meta:
        verbose_name = _("incident room")
        verbose_name_plural = _("incident rooms")
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["status", "-created_at"], name="room_status_created"),
            models.Index(fields=["created_at"], name="room_created"),
            models.Index(fields=["resolved_at"], name="room_resolved"),
            models.Index(fields=["category"], name="room_category"),
            models.Index(fields=["severity"], name="room_severity"),
        ]

    def __str__(self):
        return self.title

    @property
    def is_active(self) -> bool:
        return self.status == RoomStatus.ACTIVE

    @property
    def duration(self):
        """How long the incident has lasted: until resolution, or until now."""
        end = self.resolved_at or timezone.now()
        return end - self.created_at


class MemberRole(models.TextChoices):
    COMMANDER = "commander", _("Commander")
    RESPONDER = "responder", _("Responder")
    SCRIBE = "scribe", _("Scribe")
    LIAISON = "liaison", _("Liaison")
    OBSERVER = "observer", _("Observer")


class RoomMember(models.Model):
    room = models.ForeignKey(IncidentRoom, on_delete=models.CASCADE, related_name="members")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="room_memberships")
    role = models.CharField(_("role"), max_length=12, choices=MemberRole.choices, default=MemberRole.RESPONDER)
    joined_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("room member")
        verbose_name_plural = _("room members")
        ordering = ["joined_at"]
        constraints = [models.UniqueConstraint(fields=["room", "user"], name="room_member_unique")]
        indexes = [models.Index(fields=["user", "room"], name="member_user_room")]

    def __str__(self):
        return f"{self.user} ({self.get_role_display()})"


class MessageKind(models.TextChoices):
    TEXT = "text", _("Message")
    SYSTEM = "system", _("System event")
    STATUS = "status", _("Status change")


class Message(models.Model):
    room = models.ForeignKey(IncidentRoom, on_delete=models.CASCADE, related_name="messages")
    sender = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="messages"
    )
    kind = models.CharField(max_length=8, choices=MessageKind.choices, default=MessageKind.TEXT)
    body = models.TextField()
    # A system line's code and parameters (incidents.timeline), rendered in the reader's language;
    # ``body`` then holds the site-language text for search and old readers.
    event = models.CharField(max_length=40, blank=True)
    params = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("message")
        verbose_name_plural = _("messages")
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["room", "created_at", "id"], name="message_timeline")]

    def __str__(self):
        return self.body[:80]


def room_file_path(instance, filename):
    # The uploaded name never reaches the storage path; only its extension does.
    suffix = PurePosixPath(filename).suffix.lower()[:10]
    return f"rooms/{instance.room_id}/files/{instance.id}{suffix}"


class RoomFile(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    room = models.ForeignKey(IncidentRoom, on_delete=models.CASCADE, related_name="files")
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="uploaded_files"
    )
    file = models.FileField(upload_to=room_file_path, max_length=300)
    thumbnail = models.FileField(max_length=300, blank=True)
    # The image as every report embeds it (at most 15 cm at 150 dpi), made once by the worker
    # after the upload commits (incidents.tasks.prepare_report_image); empty until then.
    report_image = models.FileField(max_length=300, blank=True)
    original_name = models.CharField(_("file name"), max_length=255)
    content_type = models.CharField(max_length=100)
    size = models.PositiveBigIntegerField()
    width = models.PositiveIntegerField(null=True, blank=True)
    height = models.PositiveIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("file")
        verbose_name_plural = _("files")
        ordering = ["created_at"]
        indexes = [models.Index(fields=["room", "created_at"], name="file_room_created")]

    def __str__(self):
        return self.original_name

    @property
    def is_image(self) -> bool:
        return self.width is not None


class ActionItemStatus(models.TextChoices):
    OPEN = "open", _("Open")
    DONE = "done", _("Done")


class ActionItem(models.Model):
    """Follow-up work from an incident: added by hand or from notes and reports."""

    class Source(models.TextChoices):
        MANUAL = "manual", _("Added by hand")
        NOTES = "notes", _("From ticket notes")
        REPORT = "report", _("From a report")

    room = models.ForeignKey(IncidentRoom, on_delete=models.CASCADE, related_name="action_items")
    title = models.CharField(_("title"), max_length=300)
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="action_items"
    )
    due_date = models.DateField(_("due date"), null=True, blank=True)
    status = models.CharField(_("status"), max_length=8, choices=ActionItemStatus.choices, default=ActionItemStatus.OPEN)
    source = models.CharField(max_length=8, choices=Source.choices, default=Source.MANUAL)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="created_action_items"
    )
    created_at = models.DateTimeField(default=timezone.now)
    completed_at = models.DateTimeField(null=True, blank=True)
    # The next step of the ticket notes this item was made from: the notes version (a
    # reports.Report id, kept as a plain value so that incidents does not import reports)
    # and the step's position in it. "Add as task" twice gives the same item back.
    notes_version = models.UUIDField(_("ticket notes version"), null=True, blank=True)
    notes_step = models.PositiveSmallIntegerField(_("next step"), null=True, blank=True)

    class Meta:
        verbose_name = _("action item")
        verbose_name_plural = _("action items")
        ordering = ["status", "created_at", "id"]
        indexes = [models.Index(fields=["room", "status"], name="action_item_room_status")]
        constraints = [
            models.UniqueConstraint(
                fields=["room", "notes_version", "notes_step"],
                condition=models.Q(notes_version__isnull=False),
                name="action_item_one_per_notes_step",
            ),
        ]

    def __str__(self):
        return self.title
