"""`/api/management/v2/bulk_operations/` (reference 004 "Bulk Operation", this API's conventions)."""

import django_filters
from django.core.exceptions import ValidationError as DjangoValidationError
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from apps.accounts import permissions
from apps.accounts.api.base import (
    FilterSet,
    FleetScopedMixin,
    ModelSerializer,
    OnlyFleetDefault,
    ScopedHyperlinkedRelatedField,
)
from apps.accounts.models import Fleet
from signage.api.filters import StrictBooleanFilter
from signage.bounds import instant_clean

from . import services
from .models import (
    MAX_BATCH_DELAY,
    MAX_BATCH_SIZE,
    MAX_RESULT_TIMEOUT,
    MAX_STOP_THRESHOLD,
    MIN_RESULT_TIMEOUT,
    BulkOperation,
    BulkOperationDevice,
    BulkOperationState,
    BulkOperationType,
    TargetState,
)


class BulkRollingUpdateSerializer(serializers.Serializer):
    batch_size = serializers.IntegerField(
        min_value=1, max_value=MAX_BATCH_SIZE, required=False, help_text="Players per batch (default 100)"
    )
    batch_delay = serializers.IntegerField(
        min_value=0, max_value=MAX_BATCH_DELAY, required=False,
        help_text="Seconds between a batch's last result and the next batch",
    )  # fmt: skip
    stop_threshold = serializers.IntegerField(
        min_value=1, max_value=MAX_STOP_THRESHOLD, required=False, allow_null=True,
        help_text="Stop once this many players failed (null: never)",
    )  # fmt: skip
    result_timeout = serializers.IntegerField(
        min_value=MIN_RESULT_TIMEOUT, max_value=MAX_RESULT_TIMEOUT, required=False,
        help_text="Seconds a player has to report a command's result before it counts as failed (default 900)",
    )  # fmt: skip


class BulkScheduleSerializer(serializers.Serializer):
    start_at = serializers.DateTimeField(allow_null=True, required=False, help_text="Not before (ISO 8601)")

    def validate_start_at(self, value):
        if value is None:
            return None
        try:
            return instant_clean(value)
        except DjangoValidationError as error:
            raise serializers.ValidationError(error.messages[0]) from None


class BulkProgressSerializer(serializers.Serializer):
    total = serializers.IntegerField()
    successful = serializers.IntegerField()
    failed = serializers.IntegerField()
    skipped = serializers.IntegerField()
    pending = serializers.IntegerField(help_text="Without a result yet (awaiting_result included)")
    awaiting_result = serializers.IntegerField(help_text="Sent, result not in yet")


@extend_schema_field(BulkProgressSerializer)
class ProgressField(serializers.Field):
    def __init__(self, **kwargs):
        super().__init__(source="*", read_only=True, **kwargs)

    def to_representation(self, operation):
        return {name: getattr(operation, name) for name in BulkProgressSerializer().fields}


@extend_schema_field(BulkRollingUpdateSerializer)
class RollingField(serializers.Field):
    def __init__(self, **kwargs):
        super().__init__(source="*", read_only=True, **kwargs)

    def to_representation(self, operation):
        return {name: getattr(operation, name) for name in BulkRollingUpdateSerializer().fields}


class BulkOperationSerializer(ModelSerializer):
    fleet = ScopedHyperlinkedRelatedField(view_name="fleet-detail", read_only=True)
    devices = serializers.ListField(source="device_ids", child=serializers.IntegerField(), read_only=True,
                                    allow_null=True, help_text="The players listed at creation (or null)")  # fmt: skip
    filter = serializers.JSONField(read_only=True, allow_null=True)
    data = serializers.JSONField(read_only=True)
    schedule = serializers.SerializerMethodField()
    rolling_update = RollingField()
    progress = ProgressField()
    is_running = serializers.BooleanField(read_only=True)

    class Meta:
        model = BulkOperation
        fields = ["url", "id", "fleet", "name", "operation_type", "data", "filter", "devices", "schedule",
                  "rolling_update", "state", "is_running", "stop_reason", "progress", "batches", "created_at",
                  "started_at", "paused_at", "resumed_at", "stopped_at", "finished_at", "archived_at"]  # fmt: skip
        read_only_fields = fields
        field_queries = {
            "devices": {"only": ["device_ids"]},
            "schedule": {"only": ["start_at"]},
            "is_running": {"only": ["state"]},
            "rolling_update": {"only": ["batch_size", "batch_delay", "stop_threshold", "result_timeout"]},
            "progress": {"only": ["total", "successful", "failed", "skipped", "pending", "awaiting_result"]},
        }

    @extend_schema_field(BulkScheduleSerializer)
    def get_schedule(self, operation) -> dict:
        return {"start_at": serializers.DateTimeField().to_representation(operation.start_at)}


class BulkOperationCreateSerializer(serializers.Serializer):
    fleet = ScopedHyperlinkedRelatedField(
        view_name="fleet-detail", queryset=Fleet.objects.all(), default=OnlyFleetDefault(),
        help_text="Required when you belong to several fleets",
    )  # fmt: skip
    name = serializers.CharField(max_length=200)
    operation_type = serializers.ChoiceField(choices=BulkOperationType.choices)
    data = serializers.JSONField(
        required=False,
        help_text='SEND_COMMAND {"type", "payload"}; REBOOT {}; SET_VOLUME {"volume": 0-100}; SET_BRIGHTNESS '
        '{"brightness": 0-100}; SET_APPLICATION_VERSION {"version"}; ASSIGN_TAG / UNASSIGN_TAG {"tag": id}; '
        'ASSIGN_POLICY {"policy": id, "priority"}; UNASSIGN_POLICY {"policy": id}',
    )
    filter = serializers.JSONField(
        required=False,
        help_text='Players selected when the operation starts: {"tags": [ids] (all of them), "places": [ids], '
        '"screen_groups": [ids], "models": [texts], "application_versions": [texts]}; {} is every player',
    )
    devices = serializers.ListField(
        child=serializers.CharField(max_length=300), required=False, max_length=services.MAX_IDS,
        help_text="Or: these players (ids or URLs) of the fleet",
    )  # fmt: skip
    schedule = BulkScheduleSerializer(required=False)
    rolling_update = BulkRollingUpdateSerializer(required=False)


class BulkResumeSerializer(serializers.Serializer):
    rolling_update = BulkRollingUpdateSerializer(required=False, help_text="New rolling settings (optional)")


class BulkOperationDeviceSerializer(serializers.ModelSerializer):
    device = ScopedHyperlinkedRelatedField(view_name="device-detail", read_only=True)
    id = serializers.IntegerField(source="device_id", read_only=True)
    uuid = serializers.CharField(source="device.uuid", read_only=True)
    name = serializers.CharField(source="device.name", read_only=True)
    command = serializers.UUIDField(source="command_id", read_only=True, allow_null=True)

    class Meta:
        model = BulkOperationDevice
        fields = ["device", "id", "uuid", "name", "state", "batch", "reason", "command", "sent_at", "finished_at"]
        read_only_fields = fields


class BulkOperationFilter(FilterSet):
    archived = StrictBooleanFilter(field_name="archived_at", lookup_expr="isnull", exclude=True)
    state = django_filters.ChoiceFilter(choices=BulkOperationState.choices)
    operation_type = django_filters.ChoiceFilter(choices=BulkOperationType.choices)

    class Meta:
        model = BulkOperation
        fields = ["fleet", "state", "operation_type"]


class TargetFilter(FilterSet):
    state = django_filters.ChoiceFilter(choices=TargetState.choices)

    class Meta:
        model = BulkOperationDevice
        fields = ["state"]


class BulkOperationViewSet(
    FleetScopedMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    viewsets.GenericViewSet,
):
    """Bulk operations (reference 004 "Bulk Operation"): one operation over many players, in rolling
    batches, on Celery. The players are resolved when it starts; progress counts them by result."""

    queryset = BulkOperation.objects.all()
    serializer_class = BulkOperationSerializer
    filterset_class = BulkOperationFilter
    search_fields = ["name"]
    ordering_fields = ["created_at", "name", "started_at"]
    http_method_names = ["get", "post", "head", "options"]

    def _answer(self, operation, code=status.HTTP_200_OK):
        return Response(self.get_serializer(operation).data, status=code)

    @extend_schema(request=BulkOperationCreateSerializer, responses={201: BulkOperationSerializer})
    def create(self, request):
        incoming = BulkOperationCreateSerializer(data=request.data, context=self.get_serializer_context())
        incoming.is_valid(raise_exception=True)
        values = dict(incoming.validated_data)
        fleet = values.pop("fleet")
        self.require_role(fleet, permissions.ADD)
        values.update(values.pop("rolling_update", {}))
        values["start_at"] = values.pop("schedule", {}).get("start_at")
        operation = services.bulk_operation_create(fleet=fleet, author=request.user, **values)
        return self._answer(operation, status.HTTP_201_CREATED)

    @extend_schema(request=None, responses={200: BulkOperationSerializer})
    @action(detail=True, methods=["post"])
    def pause(self, request, pk=None):
        """No further batch starts; players already sent still report their results."""
        return self._answer(services.bulk_operation_pause(operation=self.get_object()))

    @extend_schema(request=BulkResumeSerializer, responses={200: BulkOperationSerializer})
    @action(detail=True, methods=["post"])
    def resume(self, request, pk=None):
        """Go on from where it paused, with new rolling settings if given."""
        operation = self.get_object()
        incoming = BulkResumeSerializer(data=request.data)
        incoming.is_valid(raise_exception=True)
        rolling = incoming.validated_data.get("rolling_update")
        return self._answer(services.bulk_operation_resume(operation=operation, rolling_update=rolling))

    @extend_schema(request=None, responses={200: BulkOperationSerializer})
    @action(detail=True, methods=["post"])
    def stop(self, request, pk=None):
        """Stop for good: players not yet sent are skipped."""
        return self._answer(services.bulk_operation_stop(operation=self.get_object()))

    @extend_schema(request=None, responses={200: BulkOperationSerializer})
    @action(detail=True, methods=["post"])
    def archive(self, request, pk=None):
        """Archive a finished or stopped operation."""
        return self._answer(services.bulk_operation_archive(operation=self.get_object()))

    @extend_schema(
        parameters=[OpenApiParameter("state", str, enum=TargetState.values, description="Only players in this state")],
        responses={200: BulkOperationDeviceSerializer(many=True)},
    )
    @action(detail=True, methods=["get"], filter_backends=[])  # the list's filters are not this one's
    def devices(self, request, pk=None):
        """The operation's players with their state (`?state=failed`), in the order of their batches."""
        operation = self.get_object()
        targets = TargetFilter(request.query_params, queryset=operation.targets.select_related("device"))
        if not targets.is_valid():
            raise serializers.ValidationError(targets.errors)
        page = self.paginate_queryset(targets.qs.order_by("pk"))
        return self.get_paginated_response(
            BulkOperationDeviceSerializer(page, many=True, context=self.get_serializer_context()).data
        )
