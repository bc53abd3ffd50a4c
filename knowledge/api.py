"""The knowledge API: documents, search, and what is related to a room.

Documents and search are open to everyone who is logged in (the knowledge base is
shared); uploading is for operators and incident commanders; a room's related panel
answers 404 to anyone not in the room.
"""

from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.generics import ListAPIView
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.response import Response
from rest_framework.throttling import ScopedRateThrottle
from rest_framework.views import APIView

from config.errors import NotFound, ServiceError
from incidents.selectors import room_for_user_or_404, room_get_for_user, user_sees_all_rooms
from knowledge import embeddings, related, search, selectors, services
from knowledge.models import DocumentKind, DocumentStatus
from knowledge.serializers import (
    DocumentSerializer,
    DocumentUploadSerializer,
    OperatorDocumentSerializer,
    RelatedSerializer,
    SearchQuerySerializer,
    SearchResultSerializer,
)


def _document_data(request, document):
    serializer = OperatorDocumentSerializer if user_sees_all_rooms(request.user) else DocumentSerializer
    return serializer(document).data


def _document_or_404(document_id):
    document = selectors.document_get(document_id=document_id)
    if document is None:
        raise NotFound(_("No such document."))
    return document


class DocumentListView(ListAPIView):
    """Knowledge documents, newest first; ``kind`` and ``status`` filter them."""

    serializer_class = DocumentSerializer
    parser_classes = [MultiPartParser, FormParser]
    filter_backends = []

    def get_serializer_class(self):
        if getattr(self, "swagger_fake_view", False) or not user_sees_all_rooms(self.request.user):
            return DocumentSerializer
        return OperatorDocumentSerializer

    @extend_schema(parameters=[
        OpenApiParameter("kind", str, enum=DocumentKind.values), OpenApiParameter("status", str, enum=DocumentStatus.values),
    ])
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    def get_queryset(self):
        kind = self.request.query_params.get("kind", "")
        state = self.request.query_params.get("status", "")
        return selectors.document_list(
            kind=kind if kind in DocumentKind.values else "", status=state if state in DocumentStatus.values else "",
        )

    @extend_schema(request=DocumentUploadSerializer, responses={201: DocumentSerializer})
    def post(self, request):
        data = DocumentUploadSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        fields = dict(data.validated_data)
        room_id = fields.pop("room")
        room = None
        if room_id is not None:
            room = room_get_for_user(user=request.user, room_id=room_id)
            if room is None:
                raise ServiceError(_("No such room."), details={"room": [_("No such room.")]})
        document = services.document_upload(uploaded_by=request.user, uploaded=fields.pop("file"), room=room, **fields)
        return Response(_document_data(request, document), status=status.HTTP_201_CREATED)


class DocumentDetailView(APIView):
    @extend_schema(responses=DocumentSerializer)
    def get(self, request, document_id):
        return Response(_document_data(request, _document_or_404(document_id)))

    @extend_schema(request=None, responses={204: None})
    def delete(self, request, document_id):
        services.document_delete(document=_document_or_404(document_id), by=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


class DocumentReparseView(APIView):
    @extend_schema(request=None, responses={202: DocumentSerializer})
    def post(self, request, document_id):
        document = services.document_reparse(document=_document_or_404(document_id), by=request.user)
        return Response(_document_data(request, document), status=status.HTTP_202_ACCEPTED)


def _note(result) -> str:
    if result.mode == "hybrid":
        return ""
    if result.note == "embeddings_unavailable":
        return _("The embeddings server did not answer: results are ranked by their words only.")
    if not embeddings.enabled():
        return _("Semantic search is not configured: results are ranked by their words only.")
    return ""


class SearchView(APIView):
    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "knowledge_search"

    @extend_schema(parameters=[SearchQuerySerializer], responses=SearchResultSerializer)
    def get(self, request):
        data = SearchQuerySerializer(data=request.query_params)
        data.is_valid(raise_exception=True)
        params = data.validated_data
        result = search.search(params["q"], k=params["k"], kinds=params["kind"], weight=params["weight"])
        result.note = _note(result)
        return Response(SearchResultSerializer(result).data)


class RoomRelatedView(APIView):
    @extend_schema(responses=RelatedSerializer)
    def get(self, request, room_id):
        room = room_for_user_or_404(user=request.user, room_id=room_id)
        return Response(RelatedSerializer(related.room_related(room=room, user=request.user)).data)
