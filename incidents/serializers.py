"""Shapes of the room API: input serializers validate, output serializers present."""

from django.contrib.auth import get_user_model
from django.urls import get_script_prefix, reverse
from django.utils.translation import gettext as _
from rest_framework import serializers

from incidents import timeline
from incidents.models import ActionItem, ActionItemStatus, IncidentRoom, MemberRole, Message, RoomFile, RoomMember, Severity


_URL_PLACEHOLDER = "00000000-0000-0000-0000-000000000000"


def room_page_url(room_id) -> str:
    """The room page's URL; reverse() once per script prefix, not once per row of a list."""
    prefix = get_script_prefix()
    template = _room_url_templates.get(prefix)
    if template is None:
        template = _room_url_templates[prefix] = reverse("incidents:room-detail", args=[_URL_PLACEHOLDER])
    return template.replace(_URL_PLACEHOLDER, str(room_id))


_room_url_templates: dict[str, str] = {}


class PersonSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    username = serializers.CharField()
    name = serializers.CharField(source="label")
    job_title = serializers.CharField()


class RoomListSerializer(serializers.ModelSerializer):
    created_by = PersonSerializer(allow_null=True)
    member_count = serializers.IntegerField()
    duration_seconds = serializers.SerializerMethodField()
    url = serializers.SerializerMethodField()

    class Meta:
        model = IncidentRoom
        fields = [
            "id", "title", "severity", "category", "status", "created_by", "created_at", "resolved_at",
            "duration_seconds", "member_count", "url",
        ]

    def get_duration_seconds(self, room) -> int:
        return int(room.duration.total_seconds())

    def get_url(self, room) -> str:
        return room_page_url(room.id)


class MemberSerializer(serializers.ModelSerializer):
    user = PersonSerializer()
    role_label = serializers.CharField(source="get_role_display")

    class Meta:
        model = RoomMember
        fields = ["user", "role", "role_label", "joined_at"]


class RoomDetailSerializer(RoomListSerializer):
    description = serializers.CharField()
    resolution_summary = serializers.CharField()
    members = MemberSerializer(many=True, source="member_list")
    my_role = serializers.CharField(allow_null=True)
    can_manage = serializers.BooleanField()

    class Meta(RoomListSerializer.Meta):
        fields = [*RoomListSerializer.Meta.fields, "description", "resolution_summary", "members", "my_role", "can_manage"]


class RoomCreateSerializer(serializers.Serializer):
    title = serializers.CharField(max_length=200)
    description = serializers.CharField(required=False, allow_blank=True, default="")
    severity = serializers.ChoiceField(choices=Severity.choices, default=Severity.SEV3)
    category = serializers.CharField(required=False, allow_blank=True, max_length=100, default="")


class RoomUpdateSerializer(serializers.Serializer):
    title = serializers.CharField(max_length=200, required=False)
    description = serializers.CharField(required=False, allow_blank=True)
    severity = serializers.ChoiceField(choices=Severity.choices, required=False)
    category = serializers.CharField(required=False, allow_blank=True, max_length=100)


class ResolveSerializer(serializers.Serializer):
    summary = serializers.CharField(max_length=5000)
    notes = serializers.CharField(required=False, allow_blank=True, max_length=20000, default="")


class MemberInputSerializer(serializers.Serializer):
    user = serializers.CharField(help_text="User id, account name or email.")
    role = serializers.ChoiceField(choices=MemberRole.choices, default=MemberRole.RESPONDER)

    def validate_user(self, value):
        User = get_user_model()
        value = value.strip()
        # ASCII digits that fit a bigint: str.isdigit() also accepts "²", which int() refuses.
        is_id = value.isascii() and value.isdigit() and len(value) <= 18
        lookup = {"pk": int(value)} if is_id else (
            {"email__iexact": value} if "@" in value else {"username__iexact": value}
        )
        user = User.objects.filter(is_active=True, **lookup).first()
        if user is None:
            raise serializers.ValidationError(_("No active person with that id, account name or email."))
        return user


class MessageSerializer(serializers.ModelSerializer):
    sender = PersonSerializer(allow_null=True)
    body = serializers.SerializerMethodField(help_text="A system line in the request's language "
                                                       "(Accept-Language); a person's message as written.")

    class Meta:
        model = Message
        fields = ["id", "kind", "body", "event", "params", "sender", "created_at"]

    def get_body(self, message) -> str:
        return timeline.text_of(message)


class MessageInputSerializer(serializers.Serializer):
    # Length is checked by the service, which gives the clearer message.
    body = serializers.CharField(trim_whitespace=False)


class FileSerializer(serializers.ModelSerializer):
    name = serializers.CharField(source="original_name")
    uploaded_by = PersonSerializer(allow_null=True)
    is_image = serializers.BooleanField()
    download_url = serializers.SerializerMethodField()
    thumbnail_url = serializers.SerializerMethodField()

    class Meta:
        model = RoomFile
        fields = [
            "id", "name", "content_type", "size", "is_image", "width", "height", "uploaded_by", "created_at",
            "download_url", "thumbnail_url",
        ]

    def get_download_url(self, room_file) -> str:
        return reverse("api-room-file-download", args=[room_file.room_id, room_file.id])

    def get_thumbnail_url(self, room_file) -> str | None:
        if not room_file.thumbnail:
            return None
        return reverse("api-room-file-thumbnail", args=[room_file.room_id, room_file.id])


class FileUploadSerializer(serializers.Serializer):
    file = serializers.FileField(allow_empty_file=True)


class ActionItemSerializer(serializers.ModelSerializer):
    assignee = PersonSerializer(allow_null=True)

    class Meta:
        model = ActionItem
        fields = ["id", "title", "status", "assignee", "due_date", "source", "notes_version", "notes_step",
                  "created_at", "completed_at"]


class ActionItemInputSerializer(serializers.Serializer):
    title = serializers.CharField(max_length=300)
    assignee = serializers.PrimaryKeyRelatedField(
        queryset=get_user_model().objects.filter(is_active=True), allow_null=True, required=False
    )
    due_date = serializers.DateField(allow_null=True, required=False)
    status = serializers.ChoiceField(choices=ActionItemStatus.choices, required=False)
    source = serializers.ChoiceField(choices=ActionItem.Source.choices, required=False)
    # With both, the item is that next step of that notes version: asking twice returns the first one.
    notes_version = serializers.UUIDField(required=False)
    notes_step = serializers.IntegerField(min_value=0, max_value=1000, required=False)

    def validate(self, attrs):
        if ("notes_version" in attrs) != ("notes_step" in attrs):
            raise serializers.ValidationError({"notes_step": [_("Give both notes_version and notes_step.")]})
        return attrs
