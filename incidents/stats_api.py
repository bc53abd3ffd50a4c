from django.core.cache import cache
from drf_spectacular.utils import OpenApiParameter, OpenApiTypes, extend_schema
from rest_framework.response import Response
from rest_framework.views import APIView

from config.errors import ServiceError
from incidents.selectors import rooms_visible_to, user_sees_all_rooms
from incidents.stats import RANGES, room_statistics

CACHE_SECONDS = 60


class StatsView(APIView):
    """Incident statistics over the rooms the caller may see, cached for a minute."""

    @extend_schema(
        parameters=[OpenApiParameter("range", str, enum=list(RANGES), default="7d")],
        responses=OpenApiTypes.OBJECT,
    )
    def get(self, request):
        range_name = request.query_params.get("range", "7d")
        if range_name not in RANGES:
            raise ServiceError("`range` must be one of 7d, 30d, 90d.", details={"range": ["Invalid choice."]})
        scope = "all" if user_sees_all_rooms(request.user) else f"user:{request.user.pk}"
        key = f"stats:{range_name}:{scope}"
        data = cache.get(key)
        if data is None:
            data = room_statistics(rooms=rooms_visible_to(request.user), days=RANGES[range_name])
            cache.set(key, data, CACHE_SECONDS)
        return Response(data)
