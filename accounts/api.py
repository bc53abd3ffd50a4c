from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView


class MeOutputSerializer(serializers.Serializer):
    username = serializers.CharField()
    display_name = serializers.CharField(source="label")
    # Empty for accounts the directory gave no mail (and local service accounts): not always an address.
    email = serializers.CharField(help_text="E-mail address, or an empty string when the account has none.")
    office_location = serializers.CharField()
    job_title = serializers.CharField()
    is_staff = serializers.BooleanField()


class MeApi(APIView):
    """The caller: who a token or a session acts as."""

    @extend_schema(responses=MeOutputSerializer)
    def get(self, request):
        return Response(MeOutputSerializer(request.user).data)
