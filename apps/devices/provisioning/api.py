"""`devices/provisioning/`: players known before they are switched on (reference 004 "Provision recipe")."""

import django_filters
from rest_framework import serializers

from apps.accounts import permissions
from apps.accounts.api.base import FilterSet, FleetOwnedSerializer, ModelViewSet, ScopedHyperlinkedRelatedField
from apps.screens.models import Screen
from signage.api.filters import ModelChoiceFilter

from ..policies.models import Policy, Tag
from . import services
from .models import Provision, ProvisionStatus


class ProvisionSerializer(FleetOwnedSerializer):
    screen = ScopedHyperlinkedRelatedField(view_name="screen-detail", queryset=Screen.objects.all())
    tags = ScopedHyperlinkedRelatedField(view_name="tag-detail", queryset=Tag.objects.all(), many=True, required=False)
    policies = ScopedHyperlinkedRelatedField(
        view_name="policy-detail", queryset=Policy.objects.all(), many=True, required=False,
        help_text="Assigned with priority 0 when the provision is applied",
    )  # fmt: skip
    device = ScopedHyperlinkedRelatedField(view_name="device-detail", read_only=True, allow_null=True)
    status = serializers.ChoiceField(choices=ProvisionStatus.choices, read_only=True)

    class Meta:
        model = Provision
        fields = ["url", "id", "fleet", "serial_number", "name", "screen", "barcode", "sticker", "tags", "policies",
                  "status", "device", "applied_at", "created", "modified"]  # fmt: skip
        read_only_fields = ["status", "device", "applied_at", "created", "modified"]
        extra_kwargs = {"url": {"view_name": "provision-detail"}}
        field_queries = {"status": {"only": ["applied_at"]}}


class ProvisionFilter(FilterSet):
    status = django_filters.ChoiceFilter(choices=ProvisionStatus.choices, method="filter_status")
    screen = ModelChoiceFilter(queryset=Screen.objects.all())

    class Meta:
        model = Provision
        fields = ["fleet", "screen", "serial_number"]

    def filter_status(self, queryset, name, value):
        return queryset.filter(applied_at__isnull=value == ProvisionStatus.PENDING)


class ProvisionViewSet(ModelViewSet):
    """Players known before they are switched on: serial number, screen, name, barcode, sticker, tags and
    policies. A player that registers with a pending provision's serial number is paired with its screen
    (and given the rest) without a pairing code, when its fleet allows it (`provisioning_by_serial`). One
    provision per serial number and fleet; an applied provision can only be deleted."""

    queryset = Provision.objects.all()
    serializer_class = ProvisionSerializer
    filterset_class = ProvisionFilter
    search_fields = ["serial_number", "name", "barcode", "sticker"]
    ordering_fields = ["serial_number", "name", "created", "applied_at"]

    def perform_create(self, serializer):
        data = dict(serializer.validated_data)
        fleet = data.pop("fleet")
        self.require_role(fleet, permissions.ADD)
        serializer.instance = services.provision_create(fleet=fleet, **data)

    def perform_update(self, serializer):
        data = dict(serializer.validated_data)
        data.pop("fleet", None)
        serializer.instance = services.provision_update(provision=serializer.instance, **data)
