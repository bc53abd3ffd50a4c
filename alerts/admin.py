from django.contrib import admin, messages
from django.utils.translation import gettext_lazy as _

from alerts import services
from alerts.models import Alert, AlertGroup, AlertSnooze, AlertSource


def _show_token(request, source, key):
    messages.success(
        request,
        _("Token for %(source)s: %(key)s — copy it now; it is stored hashed and will not be shown again.")
        % {"source": source.name, "key": key},
    )


@admin.register(AlertSource)
class AlertSourceAdmin(admin.ModelAdmin):
    """Alert senders. The token is shown once, on creation or rotation; only its hash is kept."""

    list_display = ["name", "kind", "enabled", "snoozed_until", "opens_rooms", "min_severity", "token_prefix"]
    list_filter = ["kind", "enabled", "opens_rooms"]
    search_fields = ["name"]
    readonly_fields = ["token_prefix", "created_at"]
    autocomplete_fields = ["default_commander"]
    filter_horizontal = ["default_members"]
    actions = ["rotate_token"]

    def save_model(self, request, obj, form, change):
        if change:
            return super().save_model(request, obj, form, change)
        key, obj.token_prefix, obj.token_hash = services.token_new()
        super().save_model(request, obj, form, change)
        _show_token(request, obj, key)

    @admin.action(description=_("Rotate the token of the selected sources"))
    def rotate_token(self, request, queryset):
        for source in queryset:
            _show_token(request, source, services.alert_source_rotate_token(source=source))


@admin.register(AlertSnooze)
class AlertSnoozeAdmin(admin.ModelAdmin):
    list_display = ["source", "matchers", "until", "reason", "created_by"]
    list_filter = ["source"]
    readonly_fields = ["created_by", "created_at"]

    def save_model(self, request, obj, form, change):
        if not change:
            obj.created_by = request.user
        super().save_model(request, obj, form, change)


@admin.register(Alert)
class AlertAdmin(admin.ModelAdmin):
    list_display = ["title", "source", "status", "severity", "occurrences", "first_seen", "last_seen", "room", "acknowledged_by"]
    list_filter = ["status", "severity", "source", "attachment"]
    search_fields = ["title", "alertname", "fingerprint"]
    readonly_fields = [f.name for f in Alert._meta.fields]
    list_select_related = ["source", "room", "acknowledged_by"]

    def has_add_permission(self, request):
        return False  # alerts arrive through the receivers


@admin.register(AlertGroup)
class AlertGroupAdmin(admin.ModelAdmin):
    list_display = ["source", "group_key", "room", "opened_at", "last_alert_at", "cleared_at", "auto_resolved_at"]
    list_filter = ["source"]
    readonly_fields = [f.name for f in AlertGroup._meta.fields]

    def has_add_permission(self, request):
        return False
