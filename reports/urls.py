from django.urls import path

from reports import views

app_name = "reports"

urlpatterns = [
    path("daily/", views.daily_list, name="daily-list"),
    path("daily/write/", views.daily_write, name="daily-write"),
    path("daily/<str:day>/download/", views.daily_download, name="daily-download"),
    path("rooms/<uuid:room_id>/<uuid:report_id>/", views.report_review, name="report-review"),
]
