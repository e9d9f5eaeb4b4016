from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import Throttled
from rest_framework.response import Response

from signage.api.viewsets import FleetScopedMixin

from .. import services
from ..filters import DeviceFilter
from ..models import Device
from ..pairing import PairingThrottled, pair_with_code
from .serializers import CommandSerializer, DeviceSerializer, LockSerializer, NewCommandSerializer, PairSerializer


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
    search_fields = ["uuid", "name", "barcode", "sticker"]
    ordering_fields = ["name", "last_seen_at", "created"]
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]

    def perform_update(self, serializer):
        services.device_update(device=serializer.instance, values=dict(serializer.validated_data))

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
