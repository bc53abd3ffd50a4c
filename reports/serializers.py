from django.urls import reverse
from rest_framework import serializers

from reports import evidence, ledger
from reports.models import Report, ReportKind, ReportStep, ReportVersion


class ReportGenerateInputSerializer(serializers.Serializer):
    language = serializers.ChoiceField(choices=["zh-hant", "en"], required=False)
    kind = serializers.ChoiceField(choices=[ReportKind.INCIDENT, ReportKind.POSTMORTEM], required=False,
                                   default=ReportKind.INCIDENT)


class ReportGenerateOutputSerializer(serializers.Serializer):
    report_id = serializers.UUIDField()
    status = serializers.CharField()
    created = serializers.BooleanField(help_text="False when a generation already in flight was returned.")
    url = serializers.CharField()
    warning = serializers.CharField(required=False)


class ReportPersonSerializer(serializers.Serializer):
    """Who asked for a report (named apart from incidents' fuller Person in the schema)."""

    id = serializers.IntegerField()
    name = serializers.CharField(source="label")


class ReportListSerializer(serializers.ModelSerializer):
    stage = serializers.CharField(source="get_status_display", read_only=True)
    requested_by = ReportPersonSerializer(read_only=True)
    url = serializers.SerializerMethodField()
    download_url = serializers.SerializerMethodField()
    duration_seconds = serializers.SerializerMethodField()
    ledger_label = serializers.SerializerMethodField(help_text='"AI · 1,234 tokens · NT$0.42"; empty without AI.')
    review_url = serializers.SerializerMethodField()
    cost_label = serializers.SerializerMethodField()

    class Meta:
        model = Report
        fields = [
            "id", "kind", "language", "title", "status", "stage", "step", "percent", "error_message", "provider",
            "prompt_tokens", "completion_tokens", "document_size", "duration_seconds",
            "requested_by", "created_at", "started_at", "completed_at", "url", "download_url",
            "version", "state", "ledger", "ledger_label", "cost_label", "review_url",
        ]

    def get_ledger_label(self, report) -> str:
        return ledger.label(report.ledger)

    def get_cost_label(self, report) -> str:
        """What the AI cost for this report ("US$0.02"); empty when unpriced or written offline."""
        entry = report.ledger or {}
        return ledger.money(entry.get("cost"), entry.get("currency", ""))

    def get_review_url(self, report) -> str | None:
        """The page where people edit, compare and sign the report off (completed room reports)."""
        if not report.version or report.room_id is None:
            return None
        return reverse("reports:report-review", kwargs={"room_id": report.room_id, "report_id": report.id})

    def get_duration_seconds(self, report) -> float | None:
        """Time from the first stage to completion (what the person waited)."""
        if not (report.started_at and report.completed_at):
            return None
        return round((report.completed_at - report.started_at).total_seconds(), 1)

    def get_url(self, report) -> str:
        return reverse("reports-api:report-detail", kwargs={"room_id": report.room_id, "report_id": report.id})

    def get_download_url(self, report) -> str | None:
        return report.download_url


class StepSerializer(serializers.ModelSerializer):
    duration_seconds = serializers.FloatField(read_only=True, allow_null=True)

    class Meta:
        model = ReportStep
        fields = ["key", "label", "status", "started_at", "finished_at", "duration_seconds"]


def step_tree(steps) -> list[dict]:
    """Steps as a tree (report -> stage -> section), without the prompts and raw answers kept for operators."""
    nodes = {s.id: {**StepSerializer(s).data, "children": []} for s in steps}
    roots = []
    for s in steps:
        (nodes[s.parent_id]["children"] if s.parent_id in nodes else roots).append(nodes[s.id])
    return roots


class ReportDetailSerializer(ReportListSerializer):
    steps = serializers.SerializerMethodField()
    total_tokens = serializers.IntegerField(read_only=True)
    approved_by = ReportPersonSerializer(read_only=True, allow_null=True)
    citations = serializers.SerializerMethodField(help_text="Per section, the ids of the room messages it cites.")

    class Meta(ReportListSerializer.Meta):
        fields = ReportListSerializer.Meta.fields + [
            "fallback_reason", "prompt_tokens", "completion_tokens", "total_tokens", "llm_message_id",
            "llm_conversation_id", "document_size", "steps", "content", "final_version", "approved_by",
            "approved_at", "citations",
        ]

    def get_citations(self, report) -> dict[str, list[int]]:
        return evidence.cited((report.content or {}).get("sections") or {})

    def get_steps(self, report) -> list[dict]:
        return step_tree(list(report.steps.all()))


class ReportVersionSerializer(serializers.ModelSerializer):
    author = ReportPersonSerializer(read_only=True, allow_null=True)
    download_url = serializers.CharField(read_only=True)
    ledger_label = serializers.SerializerMethodField()

    class Meta:
        model = ReportVersion
        fields = ["id", "number", "source", "changed_sections", "author", "created_at", "document_size", "download_url",
                  "ledger", "ledger_label"]

    def get_ledger_label(self, version) -> str:
        return ledger.label(version.ledger)


class ReportContentInputSerializer(serializers.Serializer):
    base_version = serializers.IntegerField(min_value=1, max_value=2**31 - 1)
    sections = serializers.DictField(help_text="Only the sections given change; each is checked against the kind's "
                                               "schema (prose: a string; tables: rows of the kind's fields, timeline "
                                               "rows may carry evidence: [message ids]).")


class SectionRegenerateInputSerializer(serializers.Serializer):
    instruction = serializers.CharField(required=False, allow_blank=True, max_length=1000)
