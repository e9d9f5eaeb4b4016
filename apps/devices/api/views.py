from datetime import timedelta

from django.http import Http404
from django.utils import timezone
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import Throttled
from rest_framework.generics import get_object_or_404
from rest_framework.response import Response

from apps.accounts import scoping
from apps.accounts.api.base import FleetScopedMixin

from .. import services
from ..filters import DeviceFilter
from ..models import Device, TelemetryType
from ..pairing import PairingThrottled, pair_with_code
from ..policies import delivery
from ..policies import services as policy_services
from ..policies.api import (
    DevicePolicyAssignSerializer,
    DevicePolicySerializer,
    DeviceTagAssignSerializer,
    EffectiveSettingsSerializer,
    PolicyStatusSerializer,
    PowerScheduleSerializer,
    TagSerializer,
)
from ..policies.models import Tag
from ..policies.status import STATUS_FIELDS, devices_policy_status
from ..screenshots.models import Screenshot
from ..telemetry import command_counts, telemetry_latest
from .serializers import (
    CommandCountsSerializer,
    CommandSerializer,
    DeviceSerializer,
    LatestTelemetrySerializer,
    LockSerializer,
    NewCommandSerializer,
    PairSerializer,
    ScreenshotSerializer,
    TelemetryRangeSerializer,
    TelemetrySampleSerializer,
)

RANGE_PARAMETERS = [
    OpenApiParameter("since", str, description="ISO 8601 instant, inclusive"),
    OpenApiParameter("until", str, description="ISO 8601 instant, exclusive"),
]


class DeviceViewSet(
    FleetScopedMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.UpdateModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    """Players of your fleets (reference 002 "Devices"); commands are asynchronous (reference 004)."""

    queryset = Device.objects.all()
    serializer_class = DeviceSerializer
    filterset_class = DeviceFilter
    search_fields = ["uuid", "name", "barcode", "sticker", "serial_number"]
    ordering_fields = ["name", "last_seen_at", "created"]
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]

    def perform_update(self, serializer):
        services.device_update(device=serializer.instance, **serializer.validated_data)

    @extend_schema(request=PairSerializer, responses={200: DeviceSerializer})
    @action(detail=False, methods=["post"])
    def pair(self, request):
        """Pair the device that shows `pairing_code` with one of your screens."""
        incoming = PairSerializer(data=request.data, context=self.get_serializer_context())
        incoming.is_valid(raise_exception=True)
        data = dict(incoming.validated_data)
        self.require_role(data["screen"].fleet)
        try:
            device = pair_with_code(request, **data)
        except PairingThrottled:
            raise Throttled(wait=60) from None
        return Response(self.get_serializer(device).data)

    @extend_schema(request=NewCommandSerializer, responses={201: CommandSerializer})
    @action(detail=True, methods=["post"])
    def command(self, request, pk=None):
        """Queue a command: the device gets it on its next heartbeat and reports the result."""
        device = self.get_object()
        incoming = NewCommandSerializer(data=request.data)
        incoming.is_valid(raise_exception=True)
        command = services.command_create(
            device=device,
            kind=incoming.validated_data["type"],
            payload=incoming.validated_data.get("payload"),
            author=request.user,
        )
        return Response(CommandSerializer(command).data, status=status.HTTP_201_CREATED)

    @extend_schema(responses={200: CommandSerializer(many=True)})
    @action(detail=True, methods=["get"])
    def commands(self, request, pk=None):
        """The device's commands, newest first: pending while neither succeeded_at nor failed_at is set."""
        device = self.get_object()
        page = self.paginate_queryset(device.commands.order_by("-created_at", "id"))
        return self.get_paginated_response(CommandSerializer(page, many=True).data)

    @extend_schema(responses={200: ScreenshotSerializer(many=True)})
    @action(detail=True, methods=["get"])
    def screenshots(self, request, pk=None):
        """The device's screenshots in its current fleet, newest first (an empty page when it has none).
        `POST devices/{id}/command/` with `{"type": "screenshot"}` asks for a new one."""
        # The device's fleet only (get_object would load what the device's own representation reads).
        device = get_object_or_404(scoping.scope_queryset(Device.objects.only("pk", "fleet"), request.user), pk=pk)
        self.check_object_permissions(request, device)
        shots = Screenshot.objects.of_fleet(device.fleet_id).filter(device=device).order_by("-taken_at", "-id")
        page = self.paginate_queryset(shots)
        return self.get_paginated_response(ScreenshotSerializer(page, many=True, context={"request": request}).data)

    @extend_schema(request=LockSerializer, responses={200: DeviceSerializer})
    @action(detail=True, methods=["post"])
    def lock(self, request, pk=None):
        device = self.get_object()
        incoming = LockSerializer(data=request.data)
        incoming.is_valid(raise_exception=True)
        device = services.device_lock(device=device, pin=incoming.validated_data["pin"], author=request.user)
        return Response(self.get_serializer(device).data)

    @extend_schema(request=None, responses={200: DeviceSerializer})
    @action(detail=True, methods=["post"])
    def unlock(self, request, pk=None):
        device = services.device_lock(device=self.get_object(), pin=None, author=request.user)
        return Response(self.get_serializer(device).data)

    @extend_schema(responses={200: LatestTelemetrySerializer})
    @action(detail=True, methods=["get"])
    def telemetry(self, request, pk=None):
        """The newest telemetry of each type (reference 004 "Get Device Latest Telemetries")."""
        device = self.get_object()
        latest = {sample.type: TelemetrySampleSerializer(sample).data for sample in telemetry_latest(device)}
        return Response({"device": device.pk, "telemetries": latest})

    @extend_schema(
        parameters=[OpenApiParameter("type", str, OpenApiParameter.PATH, enum=TelemetryType.values), *RANGE_PARAMETERS],
        responses={200: TelemetrySampleSerializer(many=True)},
    )
    @action(detail=True, methods=["get"], url_path=r"telemetry/(?P<type>[A-Za-z_]{1,32})", url_name="telemetry-history")
    def telemetry_history(self, request, pk=None, type=None):
        """The history of one telemetry type, newest first, optionally between `since` and `until`."""
        device = self.get_object()
        kind = type.upper()
        if kind not in TelemetryType.values:
            raise Http404
        bounds = TelemetryRangeSerializer(data=request.query_params)
        bounds.is_valid(raise_exception=True)
        samples = device.telemetry.filter(type=kind).order_by("-created_at", "-id")
        if "since" in bounds.validated_data:
            samples = samples.filter(created_at__gte=bounds.validated_data["since"])
        if "until" in bounds.validated_data:
            samples = samples.filter(created_at__lt=bounds.validated_data["until"])
        page = self.paginate_queryset(samples)
        return self.get_paginated_response(TelemetrySampleSerializer(page, many=True).data)

    @extend_schema(parameters=RANGE_PARAMETERS, responses={200: CommandCountsSerializer})
    @action(detail=True, methods=["get"])
    def command_counts(self, request, pk=None):
        """Failed commands and screenshots taken between `since` (default: a day ago) and `until` (now)."""
        device = self.get_object()
        bounds = TelemetryRangeSerializer(data=request.query_params)
        bounds.is_valid(raise_exception=True)
        until = bounds.validated_data.get("until") or timezone.now()
        since = bounds.validated_data.get("since") or until - timedelta(days=1)
        counts = command_counts([device.pk], since=since, until=until)[device.pk]
        return Response({"since": since, "until": until, **counts})

    # --- tags and policies of the player (reference 004 "Device/Tag", "Device/Policy") ---------------

    @extend_schema(responses={200: TagSerializer(many=True)})
    @action(detail=True, methods=["get"])
    def tags(self, request, pk=None):
        """The player's tags."""
        device = self.get_object()
        tags = Tag.objects.of_fleet(device.fleet_id).filter(device_tags__device=device).order_by("name", "id")
        page = self.paginate_queryset(tags)
        return self.get_paginated_response(TagSerializer(page, many=True, context=self.get_serializer_context()).data)

    @extend_schema(request=DeviceTagAssignSerializer, responses={201: TagSerializer})
    @tags.mapping.post
    def tag_assign(self, request, pk=None):
        """Tag the player (a tag of its fleet); tagging it twice changes nothing."""
        device = self.get_object()
        incoming = DeviceTagAssignSerializer(data=request.data, context=self.get_serializer_context())
        incoming.is_valid(raise_exception=True)
        tag = incoming.validated_data["tag"]
        policy_services.tag_assign(tag=tag, devices=[device])
        return Response(TagSerializer(tag, context=self.get_serializer_context()).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=None, responses={204: None})
    @action(detail=True, methods=["delete"], url_path=r"tags/(?P<tag_id>[0-9]{1,18})", url_name="tag-unassign")
    def tag_unassign(self, request, pk=None, tag_id=None):
        """Take a tag off the player; like every DELETE, done when the player does not have it (any more)."""
        device = self.get_object()
        policy_services.tag_unassign(tag_ids=[int(tag_id)], devices=[device])
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(responses={200: DevicePolicySerializer(many=True)})
    @action(detail=True, methods=["get"])
    def policies(self, request, pk=None):
        """The player's policies, highest priority first."""
        device = self.get_object()
        assigned = device.device_policies.select_related("policy").order_by("-priority", "policy_id")
        page = self.paginate_queryset(assigned)
        return self.get_paginated_response(
            DevicePolicySerializer(page, many=True, context=self.get_serializer_context()).data
        )

    @extend_schema(request=DevicePolicyAssignSerializer, responses={201: DevicePolicySerializer})
    @policies.mapping.post
    def policy_assign(self, request, pk=None):
        """Assign a policy of the player's fleet with `priority`; assigning it again changes the priority."""
        device = self.get_object()
        incoming = DevicePolicyAssignSerializer(data=request.data, context=self.get_serializer_context())
        incoming.is_valid(raise_exception=True)
        policy = incoming.validated_data["policy"]
        policy_services.policy_assign(policy=policy, devices=[device], priority=incoming.validated_data["priority"])
        assigned = device.device_policies.select_related("policy").get(policy=policy)
        return Response(
            DevicePolicySerializer(assigned, context=self.get_serializer_context()).data,
            status=status.HTTP_201_CREATED,
        )

    @extend_schema(request=None, responses={204: None})
    @action(
        detail=True, methods=["delete"], url_path=r"policies/(?P<policy_id>[0-9]{1,18})", url_name="policy-unassign"
    )
    def policy_unassign(self, request, pk=None, policy_id=None):
        """Take a policy off the player; like every DELETE, done when the player does not have it (any more)."""
        device = self.get_object()
        policy_services.policy_unassign(policy_ids=[int(policy_id)], devices=[device])
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(responses={200: EffectiveSettingsSerializer})
    @action(detail=True, methods=["get"], url_path="settings", url_name="settings")
    def effective_settings(self, request, pk=None):
        """The player's effective settings: per item type, the value of its active policy of highest
        priority (ties: the older policy, the smaller id)."""
        device = self.get_object()
        effective = policy_services.effective_settings(device_ids=[device.pk])[device.pk]
        return Response({"device": device.pk, "settings": effective})

    @extend_schema(responses={200: PolicyStatusSerializer})
    @action(detail=True, methods=["get"])
    def policy_status(self, request, pk=None):
        """Per item of the player's effective policy: desired, reported (telemetry, or the settings it
        fetched), `state` (ok, violation, unknown, applied, pending) and `in_violation`."""
        device = self.get_object()
        loaded = delivery.in_hand(device).only(*STATUS_FIELDS).get()
        return Response({"device": device.pk, "items": devices_policy_status([loaded])[device.pk]})

    def _power_schedule(self, device):
        _, settings, sources, _ = delivery.devices_settings(delivery.in_hand(device))[device.pk]
        zone = (settings["datetime"] or {}).get("timezone") or "UTC"
        return Response(
            {
                "power_actions_schedule": device.power_actions_schedule,
                "timers": device.timers,
                "effective": {name: settings[name] for name in delivery.POWER_FIELDS},
                "sources": {name: sources.get(name) for name in delivery.POWER_FIELDS},
                "timezone": zone,
                "upcoming_power_actions": delivery.power_actions_upcoming(
                    schedule=settings["power_actions_schedule"] or [], zone=zone
                ),
            }
        )

    @extend_schema(responses={200: PowerScheduleSerializer})
    @action(detail=True, methods=["get"])
    def power_schedule(self, request, pk=None):
        """The player's own scheduled power actions and timers (reference 004 6.6, 6.7), what is in
        effect (a policy's items win), in which time zone, and the actions due in the next 48 h (UTC)."""
        return self._power_schedule(self.get_object())

    @extend_schema(request=PowerScheduleSerializer, responses={200: PowerScheduleSerializer})
    @power_schedule.mapping.post
    def power_schedule_set(self, request, pk=None):
        """Replace the player's own `power_actions_schedule` and/or `timers` (those given)."""
        device = self.get_object()
        incoming = PowerScheduleSerializer(data=request.data)
        incoming.is_valid(raise_exception=True)
        delivery.device_power_schedule_set(device=device, **incoming.validated_data)
        return self._power_schedule(device)

    @extend_schema(request=None, responses={200: PowerScheduleSerializer})
    @action(detail=True, methods=["post"], url_path="power_schedule/from_opening_hours")
    def power_schedule_from_opening_hours(self, request, pk=None):
        """Display on when the screen opens, off when it closes, from its opening hours (other actions stay)."""
        device = delivery.device_power_schedule_from_opening_hours(device=self.get_object())
        return self._power_schedule(device)
