from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.core.exceptions import NON_FIELD_ERRORS
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from accounts.forms import AdminLoginForm
from accounts.models import ApiToken, User
from accounts.throttle import remember_device
from accounts.services import api_token_create, api_token_revoke

# /admin/login/ takes password guesses like /accounts/login/ does: the same form,
# throttle and counters, and the same 429 once they are used up.
admin.site.login_form = AdminLoginForm
_admin_login = admin.site.login


def _throttled_admin_login(request, extra_context=None):
    response = _admin_login(request, extra_context)
    form = (getattr(response, "context_data", None) or {}).get("form")
    if form is not None and form.has_error(NON_FIELD_ERRORS, "throttled"):
        response.status_code = 429
    elif request.method == "POST" and response.status_code == 302 and request.user.is_authenticated:
        remember_device(request, response, request.POST.get("username", ""))
    return response


admin.site.login = _throttled_admin_login


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    list_display = ["username", "display_name", "email", "job_title", "office_location", "source", "is_staff", "last_login"]
    list_filter = ["source", "is_staff", "is_superuser", "is_active", "groups"]
    search_fields = ["username", "display_name", "email", "first_name", "last_name", "job_title", "office_location"]
    fieldsets = DjangoUserAdmin.fieldsets + (
        (_("Directory"), {"fields": ("display_name", "office_location", "job_title", "source")}),
    )
    readonly_fields = ["last_login", "date_joined"]


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    """Tokens for integrations. The secret is shown once, on creation; only its hash is kept."""

    list_display = ["name", "user", "key_prefix", "created_at", "expires_at", "last_used_at", "revoked_at", "state"]
    list_filter = [("revoked_at", admin.EmptyFieldListFilter), "expires_at"]
    search_fields = ["name", "key_prefix", "user__username", "user__display_name"]
    list_select_related = ["user"]
    autocomplete_fields = ["user"]
    actions = ["revoke"]

    def get_fields(self, request, obj=None):
        if obj is None:
            return ["user", "name", "expires_at"]
        return ["user", "name", "key_prefix", "created_at", "expires_at", "last_used_at", "revoked_at"]

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return []
        return ["user", "key_prefix", "created_at", "last_used_at", "revoked_at"]

    @admin.display(description=_("state"))
    def state(self, obj):
        if obj.revoked_at:
            return _("revoked")
        if obj.expires_at and obj.expires_at <= timezone.now():
            return _("expired")
        return _("active")

    def save_model(self, request, obj, form, change):
        if change:
            super().save_model(request, obj, form, change)
            return
        token, key = api_token_create(user=obj.user, name=obj.name, expires_at=obj.expires_at)
        # The admin goes on with the saved row (its log entry and redirect use obj.pk).
        obj.pk = token.pk
        obj.key_prefix, obj.key_hash, obj.created_at = token.key_prefix, token.key_hash, token.created_at
        obj._state.adding = False
        messages.success(
            request,
            _("Token for %(user)s: %(key)s — copy it now; it is stored hashed and will not be shown again.")
            % {"user": token.user, "key": key},
        )

    @admin.action(description=_("Revoke the selected tokens"))
    def revoke(self, request, queryset):
        count = sum(api_token_revoke(token=token) for token in queryset)
        self.message_user(
            request,
            ngettext("%(count)d token revoked.", "%(count)d tokens revoked.", count) % {"count": count},
            messages.SUCCESS,
        )
