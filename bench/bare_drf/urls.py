from django.urls import path

from bench.bare_drf import views

urlpatterns = [
    path("api/rooms/", views.RoomList.as_view()),
    path("api/rooms/<uuid:room_id>/messages/", views.MessageList.as_view()),
]
