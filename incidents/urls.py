from django.urls import path

from incidents import views

app_name = "incidents"

urlpatterns = [
    path("", views.room_list, name="room-list"),
    path("new/", views.room_create, name="room-create"),
    path("dashboard/", views.dashboard, name="dashboard"),
    path("<uuid:room_id>/", views.room_detail, name="room-detail"),
]
