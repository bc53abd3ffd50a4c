from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from reports.delivery import delivery_summary_html
from reports.models import Report, ReportStep


class ReportStepInline(admin.TabularInline):
    model = ReportStep
    extra = 0
    fields = ["key", "label", "parent", "status", "started_at", "finished_at"]
    readonly_fields = fields
    can_delete = False
    max_num = 0
    show_change_link = True


@admin.register(Report)
class ReportAdmin(admin.ModelAdmin):
    list_display = ["__str__", "kind", "status", "room", "period_date", "provider", "percent", "created_at", "completed_at"]
    list_filter = ["kind", "status", "provider", "created_at"]
    search_fields = ["title", "room__title", "error_message"]
    date_hierarchy = "created_at"
    list_select_related = ["room", "requested_by"]
    raw_id_fields = ["room", "requested_by"]
    # The pipeline owns these; operators read them.
    readonly_fields = [
        "id", "status", "step", "percent", "error_message", "error_detail", "provider", "fallback_reason",
        "llm_message_id", "llm_conversation_id", "prompt_tokens", "completion_tokens", "content", "document",
        "document_size", "created_at", "started_at", "completed_at", "stage_started_at", "attempts", "delivery",
        "delivery_outcome",
    ]
    inlines = [ReportStepInline]

    @admin.display(description=_("Delivery outcome"))
    def delivery_outcome(self, report):
        return delivery_summary_html(report.delivery)


@admin.register(ReportStep)
class ReportStepAdmin(admin.ModelAdmin):
    list_display = ["key", "report", "status", "started_at", "finished_at"]
    list_filter = ["status"]
    search_fields = ["key", "label", "report__title"]
    raw_id_fields = ["report", "parent"]
    readonly_fields = ["report", "parent", "key", "label", "status", "started_at", "finished_at", "detail"]
