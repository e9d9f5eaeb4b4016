"""`POST /api/get_jwt_token/` as in reference 000: username and password (JSON or form) in,
`{"token": ...}` out (plus `refresh`, for `POST /api/refresh_jwt_token/`)."""

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework_simplejwt.serializers import TokenObtainPairSerializer, TokenRefreshSerializer
from rest_framework_simplejwt.views import TokenViewBase


class ObtainTokenSerializer(TokenObtainPairSerializer):
    token = serializers.CharField(read_only=True)
    refresh = serializers.CharField(read_only=True)

    def validate(self, attrs):
        data = super().validate(attrs)
        return {"token": data["access"], "refresh": data["refresh"]}


class RefreshTokenSerializer(TokenRefreshSerializer):
    token = serializers.CharField(read_only=True)

    def validate(self, attrs):
        data = super().validate(attrs)
        return {"token": data["access"], **({"refresh": data["refresh"]} if "refresh" in data else {})}


class _TokenView(TokenViewBase):
    authentication_classes = []
    permission_classes = [AllowAny]


@extend_schema(
    tags=["auth"],
    responses={200: ObtainTokenSerializer, 401: OpenApiResponse(description="Wrong credentials")},
    auth=[],
)
class ObtainJSONWebToken(_TokenView):
    serializer_class = ObtainTokenSerializer


@extend_schema(
    tags=["auth"], responses={200: RefreshTokenSerializer, 401: OpenApiResponse(description="Invalid token")}, auth=[]
)
class RefreshJSONWebToken(_TokenView):
    serializer_class = RefreshTokenSerializer
