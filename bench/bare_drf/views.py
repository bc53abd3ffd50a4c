from rest_framework import generics, serializers
from rest_framework.pagination import CursorPagination

from bench.bare_drf.models import Message, Person, Room


class PersonSerializer(serializers.ModelSerializer):
    class Meta:
        model = Person
        fields = ["id", "username", "display_name", "job_title"]


class RoomSerializer(serializers.ModelSerializer):
    created_by = PersonSerializer(allow_null=True)

    class Meta:
        model = Room
        fields = ["id", "title", "severity", "category", "status", "created_by", "created_at", "resolved_at",
                  "member_count"]


class MessageSerializer(serializers.ModelSerializer):
    sender = PersonSerializer(allow_null=True)

    class Meta:
        model = Message
        fields = ["id", "kind", "body", "sender", "created_at"]


class RoomList(generics.ListAPIView):
    serializer_class = RoomSerializer
    queryset = Room.objects.select_related("created_by").order_by("-created_at")


class MessagePages(CursorPagination):
    ordering = ("created_at", "id")
    page_size = 100


class MessageList(generics.ListAPIView):
    serializer_class = MessageSerializer
    pagination_class = MessagePages

    def get_queryset(self):
        return Message.objects.filter(room_id=self.kwargs["room_id"]).select_related("sender")
