from django.urls import path

from reports import api

app_name = "reports-api"

urlpatterns = [
    path("rooms/<uuid:room_id>/reports", api.ReportListView.as_view(), name="report-list"),
    path("rooms/<uuid:room_id>/reports/generate", api.ReportGenerateView.as_view(), name="report-generate"),
    path("rooms/<uuid:room_id>/reports/<uuid:report_id>", api.ReportDetailView.as_view(), name="report-detail"),
    path("rooms/<uuid:room_id>/reports/<uuid:report_id>/download", api.ReportDownloadView.as_view(),
         name="report-download"),
]
