"""Uptime of players over the management API (reference 004 "Uptime", "Offline ranges"), in seconds."""

from datetime import timedelta

from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.response import Response

from apps.accounts.api.base import FleetScopedAPIView
from apps.devices.models import Device

from ..uptime import offline_ranges, uptime_summary
from .serializers import ID, CommaListField

MAX_DAYS = 366


class UptimeQuerySerializer(serializers.Serializer):
    since = serializers.DateTimeField(required=False, help_text="Default: 30 days ago")
    until = serializers.DateTimeField(required=False, help_text="Default: now")

    def validate(self, attrs):
        until = attrs.get("until") or timezone.now()
        since = attrs.get("since") or until - timedelta(days=30)
        if until <= since:
            raise serializers.ValidationError({"until": ["Must be after since."]})
        if until - since > timedelta(days=MAX_DAYS):
            raise serializers.ValidationError({"until": [f"The range is too wide: at most {MAX_DAYS} days."]})
        # `until` stays None when not given: the window then ends now (and an offline range may be ongoing).
        return {**attrs, "since": since, "until": attrs.get("until")}


class FleetUptimeQuerySerializer(UptimeQuerySerializer):
    fleet = CommaListField(ID, required=False, help_text="Fleet ids (default: all of yours)")
    device = CommaListField(ID, required=False, help_text="Device ids (default: every device of the fleets)")


class OfflineRangesQuerySerializer(UptimeQuerySerializer):
    limit = serializers.IntegerField(min_value=1, max_value=1000, default=100)


class UptimeSerializer(serializers.Serializer):
    uptime = serializers.FloatField(help_text="Seconds online")
    downtime = serializers.FloatField(help_text="Seconds offline")
    total = serializers.FloatField(help_text="Seconds in the players' windows (since registration, until now)")
    availability_percent = serializers.FloatField(allow_null=True)
    since = serializers.DateTimeField()
    until = serializers.DateTimeField()


class OfflineRangeSerializer(serializers.Serializer):
    since = serializers.DateTimeField()
    until = serializers.DateTimeField()
    seconds = serializers.FloatField()
    ongoing = serializers.BooleanField(help_text="Still offline at the end of the window")


def _read(serializer_class, request):
    data = {key: ",".join(values) for key, values in request.query_params.lists()}
    incoming = serializer_class(data=data)
    incoming.is_valid(raise_exception=True)
    return incoming.validated_data


class DeviceUptimeView(FleetScopedAPIView):
    """A player's uptime, downtime and availability over a period."""

    @extend_schema(parameters=[UptimeQuerySerializer], responses={200: UptimeSerializer})
    def get(self, request, pk):
        data = _read(UptimeQuerySerializer, request)
        device = self.get_scoped_object(Device.objects.all(), pk=pk)
        return Response(uptime_summary(self.scoped(Device.objects.filter(pk=device.pk)), data["since"], data["until"]))


class DeviceOfflineRangesView(FleetScopedAPIView):
    """The periods a player was offline, oldest first."""

    @extend_schema(parameters=[OfflineRangesQuerySerializer], responses={200: OfflineRangeSerializer(many=True)})
    def get(self, request, pk):
        data = _read(OfflineRangesQuerySerializer, request)
        device = self.get_scoped_object(Device.objects.all(), pk=pk)
        return Response(offline_ranges(device, data["since"], data["until"], data["limit"]))


class FleetUptimeView(FleetScopedAPIView):
    """Uptime summed over the players of your fleets (or of `fleet`, or the `device` ids given)."""

    @extend_schema(parameters=[FleetUptimeQuerySerializer], responses={200: UptimeSerializer})
    def get(self, request):
        data = _read(FleetUptimeQuerySerializer, request)
        devices = self.scoped(Device.objects.filter(fleet__isnull=False))
        if data.get("fleet"):
            devices = devices.filter(fleet_id__in=data["fleet"])
        if data.get("device"):
            devices = devices.filter(pk__in=data["device"])
        return Response(uptime_summary(devices, data["since"], data["until"]))
