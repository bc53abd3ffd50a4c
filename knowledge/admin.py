from django.contrib import admin, messages
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from knowledge import services
from knowledge.models import AssistantQuestion, Feedback, KnowledgeChunk, KnowledgeDocument


class KnowledgeChunkInline(admin.TabularInline):
    model = KnowledgeChunk
    extra = 0
    fields = ["ordinal", "heading", "text"]
    readonly_fields = fields
    can_delete = False
    max_num = 0
    show_change_link = True


@admin.register(KnowledgeDocument)
class KnowledgeDocumentAdmin(admin.ModelAdmin):
    list_display = ["title", "kind", "status", "progress", "chunk_count", "format", "uploaded_by", "uploaded_at", "room"]
    list_filter = ["kind", "status", "format"]
    search_fields = ["title", "original_name"]
    raw_id_fields = ["room"]
    # Parsing state is the worker's: shown, never edited here (reparse instead).
    readonly_fields = [
        "format", "size", "status", "progress", "error_message", "error_detail", "chunk_count", "embedding_model",
        "uploaded_by", "uploaded_at", "indexed_at", "source_report_id", "original_name",
    ]
    fields = ["title", "kind", "tags", "file", "room", *readonly_fields]
    inlines = [KnowledgeChunkInline]
    actions = ["reparse"]

    def has_add_permission(self, request):
        # Uploads are sniffed and parsed by the upload page and the API; the admin lists and repairs.
        return False

    @admin.action(description=_("Parse the selected documents again"))
    def reparse(self, request, queryset):
        for document in queryset:
            services.document_reparse(document=document, by=request.user)
        count = queryset.count()
        self.message_user(request, ngettext("%(count)d document queued.", "%(count)d documents queued.", count) % {"count": count},
                          messages.SUCCESS)

    def delete_model(self, request, obj):
        services.document_delete(document=obj, by=request.user)

    def delete_queryset(self, request, queryset):
        for document in queryset:
            services.document_delete(document=document, by=request.user)


@admin.register(KnowledgeChunk)
class KnowledgeChunkAdmin(admin.ModelAdmin):
    list_display = ["document", "ordinal", "heading"]
    search_fields = ["heading", "text"]
    raw_id_fields = ["document"]
    readonly_fields = ["document", "ordinal", "heading", "text", "search_text"]
    exclude = ["embedding"]

    def has_add_permission(self, request):
        return False


@admin.register(AssistantQuestion)
class AssistantQuestionAdmin(admin.ModelAdmin):
    list_display = ["question", "room", "asked_by", "status", "provider", "prompt_version", "created_at"]
    list_filter = ["status", "provider", "prompt_version"]
    search_fields = ["question", "answer"]
    readonly_fields = [f.name for f in AssistantQuestion._meta.fields]

    def has_add_permission(self, request):
        return False


@admin.register(Feedback)
class FeedbackAdmin(admin.ModelAdmin):
    list_display = ["target", "target_id", "rating", "user", "prompt_version", "created_at"]
    list_filter = ["target", "rating", "prompt_version"]
    search_fields = ["comment", "target_id"]
    readonly_fields = [f.name for f in Feedback._meta.fields]

    def has_add_permission(self, request):
        return False
