from django.urls import path

from reports import notes_api

urlpatterns = [
    path("rooms/<uuid:room_id>/notes", notes_api.RoomNotesView.as_view(), name="api-room-notes"),
    path("rooms/<uuid:room_id>/notes/stream", notes_api.notes_stream, name="api-room-notes-stream"),
]
