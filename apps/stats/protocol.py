from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.response import Response

from apps.ads.models import Ad, Broadcast
from apps.devices.protocol import DeviceView

from .services import play_events_ingest


class PlayEventSerializer(serializers.Serializer):
    id = serializers.UUIDField(help_text="The player's own event id: sending it again stores nothing new")
    media = serializers.CharField(max_length=40, help_text="content_id, e.g. picture-12")
    ad = serializers.UUIDField(required=False, allow_null=True)
    broadcast = serializers.UUIDField(required=False, allow_null=True)
    started_at = serializers.DateTimeField()
    duration = serializers.FloatField(min_value=0, max_value=86400)


class StatsSerializer(serializers.Serializer):
    events = PlayEventSerializer(many=True, max_length=5000)

    def validate(self, attrs):
        device = self.context["device"]
        ads = {e["ad"] for e in attrs["events"] if e.get("ad")}
        broadcasts = {e["broadcast"] for e in attrs["events"] if e.get("broadcast")}
        # Only the device's own fleet's campaigns: another fleet's id is a 400, not a stored link.
        if ads and Ad.objects.filter(pk__in=ads, fleet_id=device.fleet_id).count() != len(ads):
            raise serializers.ValidationError({"events": ["An event names a campaign of another fleet."]})
        if broadcasts and Broadcast.objects.filter(pk__in=broadcasts, ad__fleet_id=device.fleet_id).count() != len(
            broadcasts
        ):
            raise serializers.ValidationError({"events": ["An event names a broadcast of another fleet."]})
        return attrs


class StatsView(DeviceView):
    """Proof of play: displays in batches, stored idempotently by event id."""

    @extend_schema(
        request=StatsSerializer,
        responses=inline_serializer(
            name="StatsReceived", fields={"received": serializers.IntegerField(), "stored": serializers.IntegerField()}
        ),
    )
    def post(self, request):
        incoming = StatsSerializer(data=request.data, context={"device": request.auth})
        incoming.is_valid(raise_exception=True)
        events = incoming.validated_data["events"]
        stored = play_events_ingest(device=request.auth, events=events)
        return Response({"received": len(events), "stored": stored})
