from django.urls import path

from incidents import views

app_name = "incidents"

urlpatterns = [
    path("", views.room_list, name="room-list"),
    path("<uuid:room_id>/", views.room_detail, name="room-detail"),
]
