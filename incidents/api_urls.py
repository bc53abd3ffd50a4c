from django.urls import path
from rest_framework.routers import SimpleRouter

from incidents import api, stats_api

router = SimpleRouter(trailing_slash=True)
router.register("rooms", api.RoomViewSet, basename="api-room")

urlpatterns = [
    path("rooms/<uuid:room_id>/members/", api.RoomMembersView.as_view(), name="api-room-members"),
    path("rooms/<uuid:room_id>/members/<dbid:user_id>/", api.RoomMemberView.as_view(), name="api-room-member"),
    path("rooms/<uuid:room_id>/messages/", api.RoomMessagesView.as_view(), name="api-room-messages"),
    path("rooms/<uuid:room_id>/files/", api.RoomFilesView.as_view(), name="api-room-files"),
    path("rooms/<uuid:room_id>/files/<uuid:file_id>/download/", api.RoomFileDownloadView.as_view(), name="api-room-file-download"),
    path("rooms/<uuid:room_id>/files/<uuid:file_id>/thumbnail/", api.RoomFileThumbnailView.as_view(), name="api-room-file-thumbnail"),
    path("rooms/<uuid:room_id>/action-items/", api.RoomActionItemsView.as_view(), name="api-room-action-items"),
    path("rooms/<uuid:room_id>/action-items/<dbid:item_id>/", api.RoomActionItemView.as_view(), name="api-room-action-item"),
    path("stats/", stats_api.StatsView.as_view(), name="api-stats"),
    *router.urls,
]
