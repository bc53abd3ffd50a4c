"""The shape of an alert for the API and the live event."""

from rest_framework import serializers

from alerts.models import Alert


class AlertSerializer(serializers.ModelSerializer):
    source = serializers.CharField(source="source.name", read_only=True)
    acknowledged_by = serializers.SerializerMethodField()

    class Meta:
        model = Alert
        fields = [
            "id", "source", "source_id", "fingerprint", "status", "title", "alertname", "severity", "category",
            "labels", "annotations", "generator_url", "dashboard_url", "starts_at", "ends_at", "first_seen",
            "last_seen", "resolved_at", "occurrences", "room", "attachment", "acknowledged_by", "acknowledged_at",
        ]
        read_only_fields = fields

    def get_acknowledged_by(self, alert) -> dict | None:
        if alert.acknowledged_by_id is None:
            return None
        return {"id": alert.acknowledged_by_id, "name": str(alert.acknowledged_by)}


class IngestResultSerializer(serializers.Serializer):
    received = serializers.IntegerField()
    new = serializers.IntegerField()
    duplicates = serializers.IntegerField()
    rooms = serializers.ListField(child=serializers.UUIDField())
