from django.urls import path

from alerts import api

urlpatterns = [
    path("alerts/alertmanager", api.AlertmanagerReceiver.as_view(), name="api-alerts-alertmanager"),
    path("alerts/grafana", api.GrafanaReceiver.as_view(), name="api-alerts-grafana"),
    path("alerts/generic", api.GenericReceiver.as_view(), name="api-alerts-generic"),
    path("alerts/", api.AlertListView.as_view(), name="api-alerts"),
    path("rooms/<uuid:room_id>/alerts", api.RoomAlertsView.as_view(), name="api-room-alerts"),
    path("rooms/<uuid:room_id>/alerts/<int:alert_id>/ack", api.RoomAlertAckView.as_view(), name="api-room-alert-ack"),
]
