from django import forms
from django.contrib import admin, messages
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from config.errors import ServiceError

from knowledge import services
from knowledge.models import AssistantQuestion, DocumentKind, Feedback, KnowledgeChunk, KnowledgeDocument


class KnowledgeChunkInline(admin.TabularInline):
    model = KnowledgeChunk
    extra = 0
    fields = ["ordinal", "heading", "text"]
    readonly_fields = fields
    can_delete = False
    max_num = 0
    show_change_link = True


class DocumentAddForm(forms.ModelForm):
    """Adding in the admin goes through the same service as the upload page: sniffed, limited, parsed by a worker."""

    tags_text = forms.CharField(label=_("Tags"), required=False, help_text=_("Separated by commas."))

    class Meta:
        model = KnowledgeDocument
        fields = ["file", "title", "kind"]

    def __init__(self, *args, request=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["title"].required = False
        self.fields["kind"].choices = [(k.value, k.label) for k in (DocumentKind.RUNBOOK, DocumentKind.REFERENCE)]
        self.request = request

    def clean(self):
        cleaned = super().clean()
        if self.errors or self.request is None:
            return cleaned
        tags = [t.strip() for t in cleaned.get("tags_text", "").split(",") if t.strip()]
        try:
            self.document = services.document_upload(
                uploaded_by=self.request.user, uploaded=cleaned["file"], kind=cleaned["kind"], title=cleaned.get("title", ""),
                tags=tags,
            )
        except ServiceError as exc:
            raise forms.ValidationError(exc.message) from exc
        return cleaned


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

    def get_form(self, request, obj=None, **kwargs):
        if obj is not None:
            return super().get_form(request, obj, **kwargs)
        kwargs.update(form=DocumentAddForm, fields=["file", "title", "kind"])
        form = super().get_form(request, obj, **kwargs)

        class WithRequest(form):
            def __init__(self, *args, **inner):
                super().__init__(*args, request=request, **inner)

        return WithRequest

    def get_fields(self, request, obj=None):
        return ["file", "title", "kind", "tags_text"] if obj is None else super().get_fields(request, obj)

    def get_readonly_fields(self, request, obj=None):
        return [] if obj is None else self.readonly_fields

    def get_inlines(self, request, obj):
        return [] if obj is None else self.inlines

    def save_model(self, request, obj, form, change):
        if change:
            super().save_model(request, obj, form, change)
            return
        # The service saved it in clean(); the admin goes on with that row.
        obj.pk = form.document.pk
        obj.__dict__.update({k: v for k, v in form.document.__dict__.items() if not k.startswith("_")})

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
