from django.contrib import admin, messages
from django.db import transaction
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from reports.daily.producer import deliver_daily_report
from reports.delivery import delivery_summary_html
from reports import ledger
from reports.models import Report, ReportKind, ReportStatus, ReportStep, ReportVersion


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
    actions = ["rerun_from_failed_stage", "resend_daily_report"]

    @admin.action(description=_("Re-run from the failed stage"), permissions=["change"])
    def rerun_from_failed_stage(self, request, queryset):
        from reports.services import report_rerun

        restarted = skipped = 0
        for report in queryset:
            with transaction.atomic():
                stage = report_rerun(report=report)
            if stage:
                restarted += 1
            else:
                skipped += 1
        if restarted:
            self.message_user(request, ngettext(
                "%(count)d report sent through the pipeline again.",
                "%(count)d reports sent through the pipeline again.", restarted) % {"count": restarted},
                messages.SUCCESS)
        if skipped:
            self.message_user(request, ngettext(
                "%(count)d report was not re-run: only failed room reports can be, one at a time per room.",
                "%(count)d reports were not re-run: only failed room reports can be, one at a time per room.",
                skipped) % {"count": skipped}, messages.WARNING)

    @admin.action(description=_("Resend the daily report"), permissions=["change"])
    def resend_daily_report(self, request, queryset):
        daily = list(queryset.filter(kind=ReportKind.DAILY, status=ReportStatus.COMPLETED).values_list("id", flat=True))
        for report_id in daily:
            deliver_daily_report.delay(str(report_id))
        if daily:
            self.message_user(request, ngettext(
                "%(count)d daily report queued for delivery.", "%(count)d daily reports queued for delivery.",
                len(daily)) % {"count": len(daily)}, messages.SUCCESS)
        if len(daily) < queryset.count():
            self.message_user(request, _("Only completed daily reports can be resent."), messages.WARNING)

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


@admin.register(ReportVersion)
class ReportVersionAdmin(admin.ModelAdmin):
    """Every saved version with its AI ledger (provider, model, prompt version, tokens, latency, cost)."""

    list_display = ["report", "number", "source", "author", "created_at", "ledger_summary"]
    list_filter = ["source", "created_at"]
    search_fields = ["report__title", "report__room__title"]
    list_select_related = ["report", "author"]
    readonly_fields = ["report", "number", "source", "changed_sections", "content", "author", "created_at",
                       "document", "document_size", "ledger"]

    @admin.display(description=_("AI ledger"))
    def ledger_summary(self, version):
        return ledger.label(version.ledger) or "—"
