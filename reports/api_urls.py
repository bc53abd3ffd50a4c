from django.urls import path

from reports import api

app_name = "reports-api"

urlpatterns = [
    path("reports/ledger", api.LedgerMonthsView.as_view(), name="ledger-months"),
    path("rooms/<uuid:room_id>/reports", api.ReportListView.as_view(), name="report-list"),
    path("rooms/<uuid:room_id>/reports/generate", api.ReportGenerateView.as_view(), name="report-generate"),
    path("rooms/<uuid:room_id>/reports/<uuid:report_id>", api.ReportDetailView.as_view(), name="report-detail"),
    path("rooms/<uuid:room_id>/reports/<uuid:report_id>/download", api.ReportDownloadView.as_view(),
         name="report-download"),
    path("rooms/<uuid:room_id>/reports/<uuid:report_id>/versions", api.ReportVersionsView.as_view(),
         name="report-versions"),
    path("rooms/<uuid:room_id>/reports/<uuid:report_id>/content", api.ReportContentView.as_view(),
         name="report-content"),
    path("rooms/<uuid:room_id>/reports/<uuid:report_id>/sections/<slug:key>/regenerate",
         api.SectionRegenerateView.as_view(), name="report-section-regenerate"),
    path("rooms/<uuid:room_id>/reports/<uuid:report_id>/diff", api.ReportDiffView.as_view(), name="report-diff"),
    path("rooms/<uuid:room_id>/reports/<uuid:report_id>/finalize", api.ReportFinalizeView.as_view(),
         name="report-finalize"),
]
