"""Knowledge: documents people upload (runbooks, references) and finished reports, cut into searchable chunks."""

import uuid
from pathlib import PurePosixPath

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class DocumentKind(models.TextChoices):
    RUNBOOK = "runbook", _("Runbook")
    REFERENCE = "reference", _("Reference")
    INCIDENT_REPORT = "incident_report", _("Incident report")
    POSTMORTEM = "postmortem", _("Postmortem")


# The kinds written by Warroom from a room's report, one document per room and kind.
REPORT_KINDS = (DocumentKind.INCIDENT_REPORT, DocumentKind.POSTMORTEM)


class DocumentStatus(models.TextChoices):
    UPLOADED = "uploaded", _("Uploaded")
    PARSING = "parsing", _("Parsing")
    INDEXED = "indexed", _("Indexed")
    FAILED = "failed", _("Failed")


class DocumentFormat(models.TextChoices):
    MARKDOWN = "markdown", "Markdown"
    TEXT = "text", _("Plain text")
    PDF = "pdf", "PDF"
    DOCX = "docx", "Word (.docx)"
    HTML = "html", "HTML"


def document_file_path(instance, filename):
    # The uploaded name never reaches the storage path; only its extension does.
    suffix = PurePosixPath(filename).suffix.lower()[:10]
    return f"knowledge/{instance.file_key}{suffix}"


class KnowledgeDocument(models.Model):
    title = models.CharField(_("title"), max_length=300)
    kind = models.CharField(_("kind"), max_length=16, choices=DocumentKind.choices, default=DocumentKind.RUNBOOK)
    tags = models.JSONField(_("tags"), default=list, blank=True)
    file = models.FileField(upload_to=document_file_path, max_length=300)
    file_key = models.UUIDField(default=uuid.uuid4, editable=False)
    original_name = models.CharField(_("file name"), max_length=255, blank=True)
    format = models.CharField(_("format"), max_length=10, choices=DocumentFormat.choices)
    size = models.PositiveBigIntegerField(default=0)
    status = models.CharField(_("status"), max_length=10, choices=DocumentStatus.choices, default=DocumentStatus.UPLOADED)
    progress = models.PositiveSmallIntegerField(_("progress"), default=0)
    # For people (short, in their language when written); the technical detail is for operators.
    error_message = models.CharField(_("error"), max_length=500, blank=True)
    error_detail = models.TextField(_("error detail"), blank=True)
    chunk_count = models.PositiveIntegerField(_("chunks"), default=0)
    # The embeddings model whose vectors the chunks hold ("" when they have none).
    embedding_model = models.CharField(max_length=200, blank=True)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="knowledge_documents"
    )
    uploaded_at = models.DateTimeField(_("uploaded at"), default=timezone.now)
    indexed_at = models.DateTimeField(_("indexed at"), null=True, blank=True)
    room = models.ForeignKey(
        "incidents.IncidentRoom", on_delete=models.SET_NULL, null=True, blank=True, related_name="knowledge_documents"
    )
    # The report this document was written from; a plain UUID so that knowledge never imports reports.
    source_report_id = models.UUIDField(null=True, blank=True, editable=False)

    class Meta:
        verbose_name = _("knowledge document")
        verbose_name_plural = _("knowledge documents")
        ordering = ["-uploaded_at", "-id"]
        constraints = [
            # A room's incident report (or postmortem) is indexed once: a newer version replaces it.
            models.UniqueConstraint(
                fields=["room", "kind"], condition=Q(kind__in=["incident_report", "postmortem"]) & Q(room__isnull=False),
                name="knowledge_one_report_document_per_room_kind",
            ),
        ]
        indexes = [
            models.Index(fields=["kind", "status"], name="knowledge_doc_kind_status"),
            models.Index(fields=["status", "uploaded_at"], name="knowledge_doc_status_uploaded"),
        ]

    def __str__(self):
        return self.title


class KnowledgeChunk(models.Model):
    document = models.ForeignKey(KnowledgeDocument, on_delete=models.CASCADE, related_name="chunks")
    ordinal = models.PositiveIntegerField()
    heading = models.CharField(max_length=500, blank=True)
    text = models.TextField()
    # What the lexical index reads: the text normalised into words and CJK character bigrams
    # (knowledge/text.py); PostgreSQL indexes it as a tsvector, SQLite as an FTS5 table.
    search_text = models.TextField(blank=True)
    # float32 vector of the embeddings model named on the document, or null.
    embedding = models.BinaryField(null=True, blank=True)

    class Meta:
        verbose_name = _("knowledge chunk")
        verbose_name_plural = _("knowledge chunks")
        ordering = ["document", "ordinal"]
        constraints = [models.UniqueConstraint(fields=["document", "ordinal"], name="knowledge_chunk_ordinal_unique")]

    def __str__(self):
        return f"{self.document_id}#{self.ordinal} {self.heading}"[:100]


class QuestionStatus(models.TextChoices):
    PENDING = "pending", _("Waiting")
    ANSWERING = "answering", _("Answering")
    ANSWERED = "answered", _("Answered")
    FAILED = "failed", _("Failed")


class AssistantQuestion(models.Model):
    """A question a member asked the room assistant, and its answer with citations.

    The conversation of one person in one room is their questions in that room, in order.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    room = models.ForeignKey("incidents.IncidentRoom", on_delete=models.CASCADE, related_name="assistant_questions")
    asked_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="assistant_questions")
    question = models.TextField(_("question"))
    # The language the asker reads; the answer is written in it.
    language = models.CharField(max_length=10, default="zh-hant")
    status = models.CharField(_("status"), max_length=10, choices=QuestionStatus.choices, default=QuestionStatus.PENDING)
    answer = models.TextField(_("answer"), blank=True)
    # [{"ref": "m123", "kind": "message", "id": 123, "label": "..."} | {"ref": "kb:45", "kind": "knowledge", ...}]
    citations = models.JSONField(default=list, blank=True)
    provider = models.CharField(max_length=20, blank=True)
    prompt_version = models.CharField(max_length=40, blank=True)
    error_message = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    answered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("assistant question")
        verbose_name_plural = _("assistant questions")
        ordering = ["created_at"]
        indexes = [models.Index(fields=["room", "asked_by", "created_at"], name="assistant_conversation")]

    def __str__(self):
        return self.question[:80]


class FeedbackTarget(models.TextChoices):
    REPORT_VERSION = "report_version", _("Report version")
    NOTES = "notes", _("Ticket notes")
    ANSWER = "answer", _("Assistant answer")


class FeedbackRating(models.TextChoices):
    UP = "up", "👍"
    DOWN = "down", "👎"


class Feedback(models.Model):
    """👍/👎 on one AI output, with who, when and the prompt version that produced it; one per person and output."""

    target = models.CharField(_("target"), max_length=16, choices=FeedbackTarget.choices)
    target_id = models.CharField(max_length=64)
    room = models.ForeignKey("incidents.IncidentRoom", on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="ai_feedback")
    rating = models.CharField(_("rating"), max_length=4, choices=FeedbackRating.choices)
    comment = models.TextField(_("comment"), blank=True)
    prompt_version = models.CharField(_("prompt version"), max_length=40, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("feedback")
        verbose_name_plural = _("feedback")
        ordering = ["-created_at"]
        constraints = [models.UniqueConstraint(fields=["target", "target_id", "user"], name="feedback_one_per_user_output")]
        indexes = [models.Index(fields=["target", "created_at"], name="feedback_target_created")]

    def __str__(self):
        return f"{self.target}:{self.target_id} {self.rating}"
