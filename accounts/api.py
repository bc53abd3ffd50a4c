from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView


class MeOutputSerializer(serializers.Serializer):
    username = serializers.CharField()
    display_name = serializers.CharField(source="label")
    email = serializers.EmailField()
    office_location = serializers.CharField()
    job_title = serializers.CharField()
    is_staff = serializers.BooleanField()


class MeApi(APIView):
    """The caller: who a token or a session acts as."""

    @extend_schema(responses=MeOutputSerializer)
    def get(self, request):
        return Response(MeOutputSerializer(request.user).data)
