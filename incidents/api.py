"""The room API for integrations. Views authenticate, validate, call one service, serialize.

Every room-scoped URL answers 404 to anyone who is not in the room (operators
see every room), so that a room's existence is never disclosed.
"""

import django_filters
from django.db.models import Q
from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound
from rest_framework.pagination import CursorPagination
from rest_framework.parsers import MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from config.errors import ServiceError
from incidents import selectors, services
from incidents.models import IncidentRoom, MemberRole, RoomFile, RoomStatus, Severity
from incidents.serializers import (
    ActionItemInputSerializer,
    ActionItemSerializer,
    FileSerializer,
    FileUploadSerializer,
    MemberInputSerializer,
    MemberSerializer,
    MessageInputSerializer,
    MessageSerializer,
    ResolveSerializer,
    RoomCreateSerializer,
    RoomDetailSerializer,
    RoomListSerializer,
    RoomUpdateSerializer,
)


class RoomFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=RoomStatus.choices)
    severity = django_filters.ChoiceFilter(choices=Severity.choices)
    category = django_filters.CharFilter(lookup_expr="iexact")
    created_after = django_filters.IsoDateTimeFilter(field_name="created_at", lookup_expr="gte")
    created_before = django_filters.IsoDateTimeFilter(field_name="created_at", lookup_expr="lt")
    search = django_filters.CharFilter(method="filter_search", help_text="Words in the title, description or category.")

    class Meta:
        model = IncidentRoom
        fields = ["status", "severity", "category"]

    def filter_search(self, queryset, name, value):
        return queryset.filter(Q(title__icontains=value) | Q(description__icontains=value) | Q(category__icontains=value))


def room_for(request, room_id) -> IncidentRoom:
    return selectors.room_for_user_or_404(user=request.user, room_id=room_id)


def room_detail_data(request, room) -> dict:
    room = selectors.room_with_members(room=room)
    room.member_count = len(room.member_list)
    membership = next((m for m in room.member_list if m.user_id == request.user.id), None)
    room.my_role = membership.role if membership else None
    # services.can_manage's rule, read from the members just loaded instead of another query.
    room.can_manage = selectors.user_sees_all_rooms(request.user) or room.my_role == MemberRole.COMMANDER
    return RoomDetailSerializer(room).data


class RoomViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    """Incident rooms the caller is in (operators: all rooms)."""

    serializer_class = RoomListSerializer
    filterset_class = RoomFilter
    lookup_field = "id"
    # A whole UUID: 36 hex digits and dashes in any order reached UUID() and answered 500.
    lookup_value_regex = "[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
    queryset = IncidentRoom.objects.none()  # for the schema; requests use get_queryset

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return self.queryset
        return selectors.room_list_for_user(user=self.request.user)

    def filter_queryset(self, queryset):
        # With no filter in the query string the FilterSet (a form built and validated per
        # request) would change nothing: a tenth of the room list's server time.
        if not self.request.query_params.keys() & RoomFilter.base_filters.keys():
            return queryset
        return super().filter_queryset(queryset)

    @extend_schema(request=RoomCreateSerializer, responses={201: RoomDetailSerializer})
    def create(self, request):
        data = RoomCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        room = services.room_create(created_by=request.user, **data.validated_data)
        return Response(room_detail_data(request, room), status=status.HTTP_201_CREATED)

    @extend_schema(responses=RoomDetailSerializer)
    def retrieve(self, request, id=None):
        return Response(room_detail_data(request, room_for(request, id)))

    @extend_schema(request=RoomUpdateSerializer, responses=RoomDetailSerializer)
    def partial_update(self, request, id=None):
        room = room_for(request, id)
        data = RoomUpdateSerializer(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        room = services.room_update(room=room, by=request.user, **data.validated_data)
        return Response(room_detail_data(request, room))

    @extend_schema(request=ResolveSerializer, responses=RoomDetailSerializer)
    @action(detail=True, methods=["post"])
    def resolve(self, request, id=None):
        room = room_for(request, id)
        data = ResolveSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        room = services.room_resolve(room=room, by=request.user, **data.validated_data)
        return Response(room_detail_data(request, room))

    @extend_schema(request=None, responses=RoomDetailSerializer)
    @action(detail=True, methods=["post"])
    def reopen(self, request, id=None):
        room = services.room_reopen(room=room_for(request, id), by=request.user)
        return Response(room_detail_data(request, room))

    @extend_schema(request=None, responses=RoomDetailSerializer)
    @action(detail=True, methods=["post"])
    def archive(self, request, id=None):
        room = services.room_archive(room=room_for(request, id), by=request.user)
        return Response(room_detail_data(request, room))


class RoomMembersView(APIView):
    @extend_schema(responses=MemberSerializer(many=True))
    def get(self, request, room_id):
        room = room_for(request, room_id)
        return Response(MemberSerializer(selectors.room_members(room=room), many=True).data)

    @extend_schema(request=MemberInputSerializer, responses={201: MemberSerializer})
    def post(self, request, room_id):
        room = room_for(request, room_id)
        data = MemberInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        member = services.member_add(room=room, by=request.user, **data.validated_data)
        return Response(MemberSerializer(member).data, status=status.HTTP_201_CREATED)


class RoomMemberView(APIView):
    @extend_schema(request=None, responses={204: None})
    def delete(self, request, room_id, user_id):
        room = room_for(request, room_id)
        member = get_object_or_404(selectors.room_members(room=room), user_id=user_id)
        services.member_remove(room=room, user=member.user, by=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


class TimelinePagination(CursorPagination):
    ordering = ("created_at", "id")
    page_size = 100
    page_size_query_param = "page_size"
    max_page_size = 500

    def decode_cursor(self, request):
        # A forged cursor (base64 of "p=2026") reached the query as a time and answered 500.
        try:
            cursor = super().decode_cursor(request)
        except NotFound:
            cursor = False
        if cursor is not False and (cursor is None or cursor.position is None or _parse_time(cursor.position)):
            return cursor
        raise ServiceError(_("The cursor is not valid; start again from the first page."), code="invalid_cursor",
                           details={"cursor": [_("Invalid cursor.")]})


def _parse_time(value):
    """An aware-or-naive datetime from ISO 8601 text, or None (also for 2026-13-45 and +99:00)."""
    try:
        return parse_datetime(value)
    except (ValueError, OverflowError):
        return None


# The query parameters that page next to one message (keyset pages), instead of the cursor's.
ANCHORS = ("before", "after", "around")


def _anchor_param(request) -> tuple[str, int] | None:
    """Which of before/after/around was given and its message id; a clear 400 for anything else."""
    given = [name for name in ANCHORS if name in request.query_params]
    if not given:
        return None
    others = [name for name in ("cursor", "since") if name in request.query_params]
    if len(given) > 1 or others:
        raise ServiceError(
            _("Give only one of before, after and around, and neither cursor nor since with it."),
            details={name: [_("Use this parameter alone.")] for name in given + others},
        )
    name, value = given[0], request.query_params[given[0]].strip()
    # ASCII digits that fit a bigint: "²".isdigit() is true and int() refuses it.
    if not (value.isascii() and value.isdigit() and len(value) <= 18):
        raise ServiceError(_("`%(name)s` must be a message id (a whole number).") % {"name": name},
                           details={name: [_("A message id is a whole number.")]})
    return name, int(value)


class RoomMessagesView(APIView):
    pagination_class = TimelinePagination

    @extend_schema(
        parameters=[
            OpenApiParameter("since", str, description="Only messages after this ISO 8601 time."),
            OpenApiParameter("cursor", str, description="Cursor from the previous page's next link."),
            OpenApiParameter("before", int, description="The page of messages just before this message id "
                                                         "(its `previous` link goes further back)."),
            OpenApiParameter("after", int, description="The page of messages just after this message id."),
            OpenApiParameter("around", int, description="This message with its neighbours: half a page before it, "
                                                         "it, and the rest after (a report's citation)."),
            OpenApiParameter("page_size", int),
        ],
        responses=MessageSerializer(many=True),
    )
    def get(self, request, room_id):
        room = room_for(request, room_id)
        anchor = _anchor_param(request)
        if anchor is not None:
            return self._next_to(request, room, *anchor)
        messages = selectors.room_timeline(room=room)
        since = request.query_params.get("since")
        if since:
            moment = _parse_time(since.replace(" ", "+"))
            if moment is None:
                raise ServiceError(_("`since` must be an ISO 8601 time."), details={"since": [_("Invalid time.")]})
            messages = messages.filter(created_at__gt=moment)
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(messages, request, view=self)
        return paginator.get_paginated_response(MessageSerializer(page, many=True).data)

    def _next_to(self, request, room, name, message_id):
        """A keyset page before, after or around one message, with ``previous`` / ``next`` links like the cursor's."""
        message = selectors.room_message(room=room, message_id=message_id)
        if message is None:
            raise ServiceError(_("There is no message %(id)s in this room.") % {"id": message_id},
                               code="unknown_message", details={name: [_("No message with this id in this room.")]})
        size = self.pagination_class().get_page_size(request)
        older = newer = False
        if name == "before":
            page, older = selectors.room_messages_before(room=room, anchor=message, limit=size)
            newer = True
        elif name == "after":
            page, newer = selectors.room_messages_after(room=room, anchor=message, limit=size)
            older = True
        else:
            half = max((size - 1) // 2, 0)
            before, older = selectors.room_messages_before(room=room, anchor=message, limit=half)
            after, newer = selectors.room_messages_after(room=room, anchor=message, limit=size - half, inclusive=True)
            page = before + after
        link = lambda key, value: request.build_absolute_uri(  # noqa: E731 - two links, one shape
            f"{request.path}?{key}={value}&page_size={size}")
        return Response({
            "previous": link("before", page[0].id) if page and older else None,
            "next": link("after", page[-1].id) if page and newer else None,
            "results": MessageSerializer(page, many=True).data,
        })

    @extend_schema(request=MessageInputSerializer, responses={201: MessageSerializer})
    def post(self, request, room_id):
        room = room_for(request, room_id)
        data = MessageInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        message = services.message_post(room=room, sender=request.user, body=data.validated_data["body"])
        return Response(MessageSerializer(message).data, status=status.HTTP_201_CREATED)


class RoomFilesView(APIView):
    parser_classes = [MultiPartParser]

    @extend_schema(responses=FileSerializer(many=True))
    def get(self, request, room_id):
        room = room_for(request, room_id)
        return Response(FileSerializer(selectors.room_files(room=room), many=True).data)

    @extend_schema(request=FileUploadSerializer, responses={201: FileSerializer})
    def post(self, request, room_id):
        room = room_for(request, room_id)
        data = FileUploadSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        room_file = services.file_upload(room=room, uploaded_by=request.user, uploaded=data.validated_data["file"])
        return Response(FileSerializer(room_file).data, status=status.HTTP_201_CREATED)


def _room_file(request, room_id, file_id) -> RoomFile:
    room = room_for(request, room_id)
    return get_object_or_404(RoomFile, room=room, id=file_id)


def _stream(field, *, filename, content_type, as_attachment):
    try:
        handle = field.storage.open(field.name, "rb")
    except (FileNotFoundError, OSError):
        raise Http404 from None
    response = FileResponse(handle, as_attachment=as_attachment, filename=filename, content_type=content_type)
    response["Cache-Control"] = "private, max-age=300"
    return response


class RoomFileDownloadView(APIView):
    @extend_schema(responses={(200, "application/octet-stream"): bytes})
    def get(self, request, room_id, file_id):
        room_file = _room_file(request, room_id, file_id)
        # Images open in the browser; everything else downloads, never rendered as a page.
        return _stream(
            room_file.file, filename=room_file.original_name, content_type=room_file.content_type,
            as_attachment=not room_file.is_image,
        )


class RoomFileThumbnailView(APIView):
    @extend_schema(responses={(200, "image/png"): bytes})
    def get(self, request, room_id, file_id):
        room_file = _room_file(request, room_id, file_id)
        if not room_file.thumbnail:
            raise Http404
        return _stream(room_file.thumbnail, filename="thumbnail.png", content_type="image/png", as_attachment=False)


class RoomActionItemsView(APIView):
    """Follow-up work of a room."""

    @extend_schema(responses=ActionItemSerializer(many=True))
    def get(self, request, room_id):
        room = room_for(request, room_id)
        return Response(ActionItemSerializer(selectors.room_action_items(room=room), many=True).data)

    @extend_schema(request=ActionItemInputSerializer, responses={201: ActionItemSerializer, 200: ActionItemSerializer})
    def post(self, request, room_id):
        room = room_for(request, room_id)
        data = ActionItemInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        fields = {k: v for k, v in data.validated_data.items() if k != "status"}
        if "notes_version" in fields:
            item, created = services.action_item_from_notes(room=room, by=request.user, **fields)
            return Response(ActionItemSerializer(item).data,
                            status=status.HTTP_201_CREATED if created else status.HTTP_200_OK)
        item = services.action_item_create(room=room, by=request.user, **fields)
        return Response(ActionItemSerializer(item).data, status=status.HTTP_201_CREATED)


class RoomActionItemView(APIView):
    def _item(self, request, room_id, item_id):
        room = room_for(request, room_id)
        return get_object_or_404(selectors.room_action_items(room=room), id=item_id)

    @extend_schema(request=ActionItemInputSerializer, responses=ActionItemSerializer)
    def patch(self, request, room_id, item_id):
        item = self._item(request, room_id, item_id)
        data = ActionItemInputSerializer(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        fields = {k: v for k, v in data.validated_data.items() if k != "source"}
        item = services.action_item_update(item=item, by=request.user, **fields)
        return Response(ActionItemSerializer(item).data)

    @extend_schema(request=None, responses={204: None})
    def delete(self, request, room_id, item_id):
        services.action_item_delete(item=self._item(request, room_id, item_id), by=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)
