"""API of tags and policies (`tags/`, `policies/`) and of their assignment to players (the device
viewset's `tags`/`policies` actions use the serializers here)."""

import django_filters
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.decorators import action
from rest_framework.response import Response

from apps.accounts import permissions
from apps.accounts.api.base import FilterSet, FleetOwnedSerializer, ModelViewSet, ScopedHyperlinkedRelatedField
from apps.accounts.models import Fleet
from signage.api.filters import ModelChoiceFilter, StrictBooleanFilter

from . import services
from .models import PRIORITY_MAX, PRIORITY_MIN, DevicePolicy, Policy, Tag


class TagSerializer(FleetOwnedSerializer):
    """Reference 004 "Tag": `name`, `color`, `parent` (a tag of the same fleet, or null)."""

    fleet = ScopedHyperlinkedRelatedField(view_name="fleet-detail", queryset=Fleet.objects.all())
    parent = ScopedHyperlinkedRelatedField(
        view_name="tag-detail", queryset=Tag.objects.all(), required=False, allow_null=True
    )
    color = serializers.CharField(max_length=7, required=False, allow_blank=True, help_text="#RRGGBB")

    class Meta:
        model = Tag
        fields = ["url", "id", "fleet", "name", "color", "parent", "created_at"]
        read_only_fields = ["created_at"]
        validators = []  # the name's uniqueness under its parent is the service's (a 400 on `name`)


ITEMS_HELP = (
    "`[{type, value}]`, one item per type. Values: VOLUME and BRIGHTNESS 0-100; TIMERS `[{type: TIMER_1..7, "
    "time_on, time_off: HH:MM:SS|null, weekdays: [mon..sun], volume?, level: NATIVE|PROPRIETARY}]`; "
    "POWER_ACTIONS_SCHEDULE `[{power_action, weekdays: [MONDAY..SUNDAY], time: HH:MM:SS}]`; ORIENTATION "
    "LANDSCAPE|LANDSCAPE_FLIPPED|PORTRAIT|PORTRAIT_FLIPPED|AUTO; RESOLUTION `{width, height, framerate?}`; "
    "APPLICATION_VERSION a semantic version; REMOTE_CONTROL true|false; DATETIME `{timezone, ntp_server?}`; "
    "TEMPERATURE `{min?, max?}` in °C."
)


class PolicySerializer(FleetOwnedSerializer):
    """Reference 004 "Policy": named desired settings, assigned to players with a priority."""

    fleet = ScopedHyperlinkedRelatedField(view_name="fleet-detail", queryset=Fleet.objects.all())
    items = serializers.JSONField(required=False, help_text=ITEMS_HELP)

    class Meta:
        model = Policy
        fields = ["url", "id", "fleet", "name", "description", "archived", "items", "created_at", "modified_at"]
        read_only_fields = ["created_at", "modified_at"]


class PolicyCloneSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=200)
    fleet = ScopedHyperlinkedRelatedField(
        view_name="fleet-detail", queryset=Fleet.objects.all(), required=False, help_text="Default: the policy's"
    )


class TagFilter(FilterSet):
    name = django_filters.CharFilter(lookup_expr="icontains")
    parent = ModelChoiceFilter(queryset=Tag.objects.all())
    root = StrictBooleanFilter(field_name="parent", lookup_expr="isnull", help_text="Only tags without a parent")

    class Meta:
        model = Tag
        fields = ["fleet", "name", "parent"]


class PolicyFilter(FilterSet):
    name = django_filters.CharFilter(lookup_expr="icontains")

    class Meta:
        model = Policy
        fields = ["fleet", "archived", "name"]


class _ServiceWrites:
    """create/update through the services (the fleet is fixed on create)."""

    create_service = update_service = None
    instance_name = ""

    def perform_create(self, serializer):
        data = dict(serializer.validated_data)
        fleet = data.pop("fleet")
        self.require_role(fleet, permissions.ADD)
        serializer.instance = type(self).create_service(fleet=fleet, **data)

    def perform_update(self, serializer):
        data = dict(serializer.validated_data)
        data.pop("fleet", None)
        serializer.instance = type(self).update_service(**{self.instance_name: serializer.instance}, **data)


class TagViewSet(_ServiceWrites, ModelViewSet):
    """Tags of players (reference 004 "Tag"), in a tree per fleet."""

    queryset = Tag.objects.all()
    serializer_class = TagSerializer
    filterset_class = TagFilter
    search_fields = ["name"]
    ordering_fields = ["name", "created_at"]
    create_service = staticmethod(services.tag_create)
    update_service = staticmethod(services.tag_update)
    instance_name = "tag"


class PolicyViewSet(_ServiceWrites, ModelViewSet):
    """Policies (reference 004 "Policy"): desired settings of players; `archived` ones are inactive."""

    queryset = Policy.objects.all()
    serializer_class = PolicySerializer
    filterset_class = PolicyFilter
    search_fields = ["name", "description"]
    ordering_fields = ["name", "created_at", "modified_at"]
    create_service = staticmethod(services.policy_create)
    update_service = staticmethod(services.policy_update)
    instance_name = "policy"

    def perform_destroy(self, instance):
        services.policy_delete(policy=instance)

    @extend_schema(request=PolicyCloneSerializer, responses={201: PolicySerializer})
    @action(detail=True, methods=["post"])
    def clone(self, request, pk=None):
        """A copy named `name`, in `fleet` (one of yours where your role may add policies; default: the same)."""
        policy = self.get_object()
        incoming = PolicyCloneSerializer(data=request.data, context=self.get_serializer_context())
        incoming.is_valid(raise_exception=True)
        fleet = incoming.validated_data.get("fleet") or policy.fleet
        self.require_role(fleet, permissions.ADD)
        copy = services.policy_clone(policy=policy, name=incoming.validated_data["name"], fleet=fleet)
        return Response(self.get_serializer(copy).data, status=status.HTTP_201_CREATED)


# --- a player's tags and policies ----------------------------------------------------------------------


class DeviceTagAssignSerializer(serializers.Serializer):
    tag = ScopedHyperlinkedRelatedField(view_name="tag-detail", queryset=Tag.objects.all())


class DevicePolicySerializer(serializers.ModelSerializer):
    """A policy assigned to a player, with its priority (the higher wins)."""

    policy = ScopedHyperlinkedRelatedField(view_name="policy-detail", read_only=True)
    id = serializers.IntegerField(source="policy_id", read_only=True)
    name = serializers.CharField(source="policy.name", read_only=True)
    archived = serializers.BooleanField(source="policy.archived", read_only=True)

    class Meta:
        model = DevicePolicy
        fields = ["policy", "id", "name", "archived", "priority", "assigned_at"]
        field_queries = {"id": {"only": ["policy"]}}


class DevicePolicyAssignSerializer(serializers.Serializer):
    policy = ScopedHyperlinkedRelatedField(view_name="policy-detail", queryset=Policy.objects.all())
    priority = serializers.IntegerField(
        min_value=PRIORITY_MIN, max_value=PRIORITY_MAX, default=0, help_text="The higher wins item by item"
    )


class EffectiveItemSerializer(serializers.Serializer):
    value = serializers.JSONField()
    policy = serializers.IntegerField(help_text="Id of the policy the value comes from")
    priority = serializers.IntegerField()


class EffectiveSettingsSerializer(serializers.Serializer):
    device = serializers.IntegerField()
    settings = serializers.DictField(
        child=EffectiveItemSerializer(), help_text="Per item type, the winning value of the active policies"
    )


class PolicyItemStatusSerializer(serializers.Serializer):
    type = serializers.CharField()
    policy = serializers.IntegerField()
    priority = serializers.IntegerField()
    desired = serializers.JSONField()
    reported = serializers.JSONField(allow_null=True)
    state = serializers.ChoiceField(choices=["ok", "violation", "unknown", "applied", "pending"])
    in_violation = serializers.BooleanField()


class PolicyStatusSerializer(serializers.Serializer):
    device = serializers.IntegerField()
    items = PolicyItemStatusSerializer(many=True)


class PowerScheduleSerializer(serializers.Serializer):
    power_actions_schedule = serializers.JSONField(
        required=False, help_text="`[{power_action, weekdays: [MONDAY..SUNDAY], time: HH:MM:SS}]`, at most 50"
    )
    timers = serializers.JSONField(
        required=False,
        help_text="`[{type: TIMER_1..7, time_on, time_off: HH:MM:SS|null, weekdays: [mon..sun], volume?, level}]`",
    )
    effective = serializers.DictField(read_only=True)
    sources = serializers.DictField(read_only=True)
    timezone = serializers.CharField(read_only=True)
    upcoming_power_actions = serializers.ListField(child=serializers.DictField(), read_only=True)
