from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from signage.api import ratelimit
from signage.api.authentication import oauth2_token
from signage.api.flex import NestedFlexFieldsMixin, plan_queryset

from .. import scoping
from ..models import Fleet
from .base import ReadOnlyModelViewSet
from .serializers import FleetSerializer


class FleetViewSet(ReadOnlyModelViewSet):
    """The fleets the principal belongs to (every fleet for the operator's staff)."""

    queryset = Fleet.objects.all()
    serializer_class = FleetSerializer
    search_fields = ["name"]
    ordering_fields = ["name", "created", "id"]


def _window(name):
    return inline_serializer(
        name=name,
        fields={
            "limit": serializers.IntegerField(),
            "used": serializers.IntegerField(),
            "remaining": serializers.IntegerField(),
            "reset": serializers.IntegerField(help_text="Unix time at which the window starts again."),
        },
    )


MeSerializer = inline_serializer(
    name="Me",
    fields={
        "principal": inline_serializer(
            name="Principal",
            fields={
                "type": serializers.ChoiceField(choices=["user", "application"]),
                "id": serializers.IntegerField(),
                "username": serializers.CharField(),
                "email": serializers.CharField(),
                "application": inline_serializer(
                    name="PrincipalApplication",
                    fields={
                        "id": serializers.IntegerField(),
                        "name": serializers.CharField(),
                        "client_id": serializers.CharField(),
                    },
                    allow_null=True,
                ),
                "scopes": serializers.ListField(child=serializers.CharField()),
                "expires_at": serializers.DateTimeField(allow_null=True),
            },
        ),
        "fleets": FleetSerializer(many=True),
        "rate_limits": inline_serializer(
            name="RateLimit",
            many=True,
            fields={
                "endpoint": serializers.CharField(),
                "methods": serializers.ListField(child=serializers.CharField()),
                "hourly": _window("RateLimitHourly"),
                "daily": _window("RateLimitDaily"),
            },
        ),
        "features": inline_serializer(
            name="Features",
            fields={"share_of_voice": serializers.BooleanField(), "external_storage": serializers.BooleanField()},
        ),
    },
)


class MeFleetSerializer(NestedFlexFieldsMixin, FleetSerializer):
    pass


class MeView(APIView):
    """Who the request acts as: the principal, its fleets with their plan limits, its rate limits and
    the features enabled for it. Does not count against rate limits."""

    throttle_classes = [ratelimit.RateLimitPeekThrottle]
    router = None  # the management API's router, whose endpoints' rate limits are reported (given by the URLconf)

    @extend_schema(responses=MeSerializer, operation_id="me_retrieve")
    def get(self, request):
        user, token = request.user, oauth2_token(request)
        context = {"request": request, "view": self}
        fleets = list(plan_queryset(scoping.fleets_of(user), MeFleetSerializer(context=context)))
        return Response(
            {
                "principal": self._principal(request, user, token),
                "fleets": MeFleetSerializer(fleets, many=True, context=context).data,
                "rate_limits": ratelimit.report(ratelimit.principal_of(request), self._endpoints()),
                "features": {
                    "share_of_voice": any(fleet.share_of_voice for fleet in fleets),
                    "external_storage": any(fleet.has_external_storage for fleet in fleets),
                },
            }
        )

    @staticmethod
    def _principal(request, user, token):
        expires_at = None
        if token is not None:
            scopes, expires_at = token.scope.split(), token.expires
        else:
            scopes = ["read", "write", "groups"]
            if request.auth is not None and "exp" in getattr(request.auth, "payload", {}):
                from datetime import UTC, datetime

                expires_at = datetime.fromtimestamp(request.auth["exp"], tz=UTC)
        application = token.application if token is not None else None
        return {
            "type": "application" if application else "user",
            "id": user.pk,
            "username": user.get_username(),
            "email": user.email,
            "application": (
                {"id": application.pk, "name": application.name, "client_id": application.client_id}
                if application
                else None
            ),
            "scopes": scopes,
            "expires_at": serializers.DateTimeField().to_representation(expires_at) if expires_at else None,
        }

    def _endpoints(self) -> list[str]:
        return [prefix for prefix, _viewset, _basename in self.router.registry]
