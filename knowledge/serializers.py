"""Shapes of the knowledge API: input serializers validate, output serializers present."""

from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from knowledge.models import DocumentKind, FeedbackRating, FeedbackTarget, KnowledgeDocument

UPLOAD_KINDS = [(DocumentKind.RUNBOOK.value, DocumentKind.RUNBOOK.label), (DocumentKind.REFERENCE.value, DocumentKind.REFERENCE.label)]


class DocumentUploadSerializer(serializers.Serializer):
    file = serializers.FileField(allow_empty_file=True)
    title = serializers.CharField(max_length=300, required=False, allow_blank=True, default="")
    kind = serializers.ChoiceField(choices=UPLOAD_KINDS, default=DocumentKind.RUNBOOK)
    tags = serializers.CharField(
        required=False, allow_blank=True, default="", help_text=_("Tags separated by commas."),
    )
    room = serializers.UUIDField(required=False, allow_null=True, default=None)

    def validate_tags(self, value):
        return [t.strip() for t in value.replace("，", ",").split(",") if t.strip()]


class RoomBriefSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    title = serializers.CharField()
    status = serializers.CharField()
    category = serializers.CharField()
    resolved_at = serializers.DateTimeField(allow_null=True)
    resolution_summary = serializers.CharField()
    url = serializers.SerializerMethodField()

    def get_url(self, room) -> str:
        return reverse("incidents:room-detail", args=[room.id])


class DocumentSerializer(serializers.ModelSerializer):
    uploaded_by = serializers.SerializerMethodField()
    room = RoomBriefSerializer(allow_null=True)
    kind_label = serializers.CharField(source="get_kind_display")
    status_label = serializers.CharField(source="get_status_display")

    class Meta:
        model = KnowledgeDocument
        fields = [
            "id", "title", "kind", "kind_label", "tags", "format", "original_name", "size", "status", "status_label",
            "progress", "error_message", "chunk_count", "uploaded_by", "uploaded_at", "indexed_at", "room",
            "source_report_id",
        ]

    def get_uploaded_by(self, document) -> str | None:
        return str(document.uploaded_by) if document.uploaded_by_id else None


class OperatorDocumentSerializer(DocumentSerializer):
    """Operators also see the technical detail of a failure."""

    class Meta(DocumentSerializer.Meta):
        fields = [*DocumentSerializer.Meta.fields, "error_detail", "embedding_model"]


class SearchQuerySerializer(serializers.Serializer):
    q = serializers.CharField(max_length=1000, trim_whitespace=True)
    k = serializers.IntegerField(min_value=1, max_value=50, default=5)
    kind = serializers.CharField(required=False, allow_blank=True, default="", help_text=_("Kinds separated by commas."))
    weight = serializers.FloatField(min_value=0.0, max_value=1.0, default=0.7)

    def validate_weight(self, value):
        if value != value:  # NaN passes the range checks
            raise serializers.ValidationError(_("A number between 0 and 1."))
        return value

    def validate_kind(self, value):
        kinds = [k.strip() for k in value.split(",") if k.strip()]
        unknown = [k for k in kinds if k not in DocumentKind.values]
        if unknown:
            raise serializers.ValidationError(
                _("Unknown kind: %(kinds)s. Use %(known)s.") % {"kinds": ", ".join(unknown), "known": ", ".join(DocumentKind.values)}
            )
        return kinds


class HitSerializer(serializers.Serializer):
    chunk_id = serializers.IntegerField(source="chunk.id")
    cite = serializers.SerializerMethodField()
    document_id = serializers.IntegerField(source="chunk.document_id")
    title = serializers.CharField(source="chunk.document.title")
    kind = serializers.CharField(source="chunk.document.kind")
    heading = serializers.CharField(source="chunk.heading")
    snippet = serializers.CharField(help_text=_("HTML: text escaped, matched words in <mark>."))
    score = serializers.FloatField()
    lexical_score = serializers.FloatField(source="lexical")
    semantic_score = serializers.FloatField(source="semantic", allow_null=True)
    room = RoomBriefSerializer(source="chunk.document.room", allow_null=True)

    def get_cite(self, hit) -> str:
        return f"kb:{hit.chunk.id}"


class SearchResultSerializer(serializers.Serializer):
    query = serializers.CharField()
    mode = serializers.ChoiceField(choices=["lexical", "hybrid"])
    weight = serializers.FloatField(allow_null=True)
    note = serializers.CharField()
    results = HitSerializer(many=True, source="hits")


class PastIncidentSerializer(serializers.Serializer):
    room = RoomBriefSerializer()
    score = serializers.FloatField()
    document_id = serializers.IntegerField(allow_null=True)
    document_title = serializers.CharField()
    snippet = serializers.CharField()
    cite = serializers.SerializerMethodField()

    def get_cite(self, past) -> str | None:
        return f"kb:{past.chunk_id}" if past.chunk_id else None


class RelatedSerializer(serializers.Serializer):
    mode = serializers.ChoiceField(choices=["lexical", "hybrid"])
    incidents = PastIncidentSerializer(many=True)
    passages = HitSerializer(many=True)


class QuestionInputSerializer(serializers.Serializer):
    question = serializers.CharField(max_length=2000)


class QuestionSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    question = serializers.CharField()
    status = serializers.CharField()
    answer = serializers.CharField()
    citations = serializers.JSONField()
    provider = serializers.CharField()
    prompt_version = serializers.CharField()
    error_message = serializers.CharField()
    asked_by = serializers.SerializerMethodField()
    created_at = serializers.DateTimeField()
    answered_at = serializers.DateTimeField(allow_null=True)
    url = serializers.SerializerMethodField()
    stream_url = serializers.SerializerMethodField()

    def get_asked_by(self, question) -> str | None:
        return str(question.asked_by) if question.asked_by_id else None

    def get_url(self, question) -> str:
        return reverse("knowledge-api:question-detail", args=[question.room_id, question.id])

    def get_stream_url(self, question) -> str:
        return reverse("knowledge-api:question-stream", args=[question.room_id, question.id])


class FeedbackInputSerializer(serializers.Serializer):
    target = serializers.ChoiceField(choices=FeedbackTarget.choices)
    id = serializers.CharField(max_length=64)
    rating = serializers.ChoiceField(choices=FeedbackRating.choices)
    comment = serializers.CharField(max_length=2000, required=False, allow_blank=True, default="")


class FeedbackSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    target = serializers.CharField()
    target_id = serializers.CharField()
    rating = serializers.CharField()
    comment = serializers.CharField()
    prompt_version = serializers.CharField()
    created_at = serializers.DateTimeField()


class FeedbackQualityQuerySerializer(serializers.Serializer):
    days = serializers.IntegerField(min_value=1, max_value=365, default=30)


class FeedbackQualityRowSerializer(serializers.Serializer):
    target = serializers.CharField()
    target_label = serializers.CharField()
    prompt_version = serializers.CharField()
    up = serializers.IntegerField()
    down = serializers.IntegerField()
    total = serializers.IntegerField()
    up_share = serializers.FloatField()


class FeedbackQualitySerializer(serializers.Serializer):
    days = serializers.IntegerField()
    rows = FeedbackQualityRowSerializer(many=True)
