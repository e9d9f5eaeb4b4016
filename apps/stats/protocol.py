from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.response import Response

from apps.devices.authentication import IsPairedDevice
from apps.devices.protocol import DeviceView

from .services import play_events_ingest

MAX_BATCH = 5000


class PlayEventSerializer(serializers.Serializer):
    id = serializers.UUIDField(help_text="The player's own event id: sending it again stores nothing new")
    media = serializers.CharField(max_length=40, help_text="content_id, e.g. picture-12")
    ad = serializers.UUIDField(required=False, allow_null=True)
    broadcast = serializers.UUIDField(required=False, allow_null=True)
    started_at = serializers.DateTimeField()
    duration = serializers.FloatField(min_value=0, max_value=86400, help_text="Seconds")


class StatsSerializer(serializers.Serializer):
    events = PlayEventSerializer(many=True, max_length=MAX_BATCH)


class StatsView(DeviceView):
    """Proof of play: displays in batches of up to 5,000, all or nothing, idempotent by event id. A batch
    naming a media, campaign or broadcast that is not of the player's fleet, or a date in the future or
    before the player registered, is a 400 naming the events, and nothing of it is stored."""

    permission_classes = [IsPairedDevice]

    @extend_schema(
        request=StatsSerializer,
        responses=inline_serializer(
            name="StatsReceived", fields={"received": serializers.IntegerField(), "stored": serializers.IntegerField()}
        ),
    )
    def post(self, request):
        incoming = StatsSerializer(data=request.data)
        incoming.is_valid(raise_exception=True)
        events = incoming.validated_data["events"]
        stored = play_events_ingest(device=request.auth, events=events)
        return Response({"received": len(events), "stored": stored})
