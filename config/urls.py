from django.contrib import admin
from django.urls import include, path, register_converter
from django.utils.translation import gettext_lazy as _
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from config import observability, views
from config.converters import DatabaseIdConverter

# Before the includes below, which use it.
register_converter(DatabaseIdConverter, "dbid")

# The operators' admin says whose it is, in every language.
admin.site.site_header = "Warroom"
admin.site.site_title = "Warroom"
admin.site.index_title = _("Operations")

urlpatterns = [
    path("", views.home, name="home"),
    path("healthz", views.healthz, name="healthz"),
    path("readyz", views.readyz, name="readyz"),
    path("metrics", observability.metrics_view, name="metrics"),
    path("admin/", admin.site.urls),
    path("accounts/", include("accounts.urls")),
    path("i18n/", include("django.conf.urls.i18n")),
    path("rooms/", include("incidents.urls")),
    path("reports/", include("reports.urls")),
    path("knowledge/", include("knowledge.urls")),
    path("api/", include("accounts.api_urls")),
    path("api/", include("alerts.api_urls")),
    path("api/", include("reports.api_urls")),
    path("api/", include("reports.notes_urls")),
    path("api/", include("knowledge.api_urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    # The split view serves its script from a URL, so that the CSP needs no inline script.
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="api-schema"), name="api-docs"),
    path("api/", include("incidents.api_urls")),
]

handler404 = "config.views.page_not_found"
handler500 = "config.views.server_error"
handler400 = "config.views.bad_request"
handler403 = "config.views.permission_denied"
