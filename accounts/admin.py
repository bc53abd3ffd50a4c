from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.utils.translation import gettext_lazy as _

from accounts.models import User


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    list_display = ["username", "display_name", "email", "job_title", "office_location", "source", "is_staff", "last_login"]
    list_filter = ["source", "is_staff", "is_superuser", "is_active", "groups"]
    search_fields = ["username", "display_name", "email", "first_name", "last_name", "job_title", "office_location"]
    fieldsets = DjangoUserAdmin.fieldsets + (
        (_("Directory"), {"fields": ("display_name", "office_location", "job_title", "source")}),
    )
    readonly_fields = ["last_login", "date_joined"]
