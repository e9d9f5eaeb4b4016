from django.core.exceptions import ValidationError as DjangoValidationError
from django.utils import timezone
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response

from apps.accounts.api.base import FleetScopedAPIView
from apps.media.models import public_id
from apps.screens.models import Screen
from signage.api.filters import InstantField

from ..loop import loop_for_screen


def _entry_schema():
    return inline_serializer(
        name="LoopEntry",
        many=True,
        fields={
            "position": serializers.IntegerField(),
            "media": serializers.URLField(),
            "media_id": serializers.CharField(),
            "duration": serializers.FloatField(),
            "broadcast": serializers.URLField(),
            "ad": serializers.URLField(),
            "ad_name": serializers.CharField(),
        },
    )


class ScreenLoopView(FleetScopedAPIView):
    """What a screen plays at an instant (`at`, ISO 8601; default now), in order."""

    @extend_schema(
        parameters=[
            OpenApiParameter(
                "at",
                str,
                description="ISO 8601 datetime (UTC without an offset), 1970 to 9998, e.g. 2026-01-22T12:00:00Z",
            )
        ],
        responses=inline_serializer(
            name="Loop",
            fields={
                "screen": serializers.URLField(),
                "at": serializers.DateTimeField(),
                "total_duration": serializers.FloatField(),
                "entries": _entry_schema(),
            },
        ),
        operation_id="screens_loop_retrieve",
    )
    def get(self, request, pk):
        screen = self.get_scoped_object(Screen.objects.select_related("place"), pk=pk)
        at = timezone.now()
        if "at" in request.query_params:
            try:
                at = InstantField(required=True).clean(request.query_params["at"])
            except DjangoValidationError as exc:
                raise ValidationError({"at": exc.messages}) from exc
        entries = loop_for_screen(screen, at)

        def link(name, **kwargs):
            from django.urls import reverse

            return request.build_absolute_uri(reverse(name, kwargs=kwargs))

        return Response(
            {
                "screen": link("screen-detail", pk=screen.pk),
                "at": at.isoformat(),
                "total_duration": sum(entry.duration for entry in entries),
                "entries": [
                    {
                        "position": entry.position,
                        "media": link("media-detail", pk=public_id(entry.media_type, entry.media_id)),
                        "media_id": public_id(entry.media_type, entry.media_id),
                        "duration": entry.duration,
                        "broadcast": link("broadcast-detail", pk=entry.broadcast_id),
                        "ad": link("ad-detail", pk=entry.ad_id),
                        "ad_name": entry.ad_name,
                    }
                    for entry in entries
                ],
            }
        )
