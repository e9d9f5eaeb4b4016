from drf_spectacular.utils import extend_schema
from rest_framework import mixins, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response

from apps.accounts import permissions
from apps.accounts.api.base import FleetScopedMixin, ModelViewSet

from .. import services
from ..filters import AlertFilter, AlertRuleFilter
from ..models import Alert, AlertRule
from .serializers import AlertRuleSerializer, AlertSerializer, AssignSerializer, SnoozeSerializer, UnsnoozeSerializer


class AlertRuleViewSet(ModelViewSet):
    """Alert rules (reference 004 "Alert/Rule"): what to watch, when it is an alert, whom to tell. Fleet
    admins write them; a rule that could not be evaluated is a 400 naming the field, never stored."""

    queryset = AlertRule.objects.all()
    serializer_class = AlertRuleSerializer
    filterset_class = AlertRuleFilter
    search_fields = ["name", "description"]
    ordering_fields = ["name", "created_at", "last_evaluated_at"]

    def perform_create(self, serializer):
        data = dict(serializer.validated_data)
        fleet = data.pop("fleet")
        self.require_role(fleet, permissions.ADD)
        serializer.instance = services.alert_rule_create(fleet=fleet, **data)

    def perform_update(self, serializer):
        data = dict(serializer.validated_data)
        data.pop("fleet", None)
        serializer.instance = services.alert_rule_update(rule=serializer.instance, **data)

    def _toggle(self, change):
        rule = change(self.get_object())
        return Response(self.get_serializer(rule).data)

    @extend_schema(request=None, responses={200: AlertRuleSerializer})
    @action(detail=True, methods=["post"])
    def archive(self, request, pk=None):
        return self._toggle(lambda rule: services.alert_rule_set_archived(rule=rule, archived=True))

    @extend_schema(request=None, responses={200: AlertRuleSerializer})
    @action(detail=True, methods=["post"])
    def unarchive(self, request, pk=None):
        return self._toggle(lambda rule: services.alert_rule_set_archived(rule=rule, archived=False))

    @extend_schema(request=None, responses={200: AlertRuleSerializer})
    @action(detail=True, methods=["post"])
    def pause(self, request, pk=None):
        return self._toggle(lambda rule: services.alert_rule_set_paused(rule=rule, paused=True))

    @extend_schema(request=None, responses={200: AlertRuleSerializer})
    @action(detail=True, methods=["post"])
    def unpause(self, request, pk=None):
        return self._toggle(lambda rule: services.alert_rule_set_paused(rule=rule, paused=False))


class AlertViewSet(
    FleetScopedMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet,
):
    """Alerts (reference 004 "Alert"), opened and resolved by rule evaluation; people archive them, snooze
    them (whole, or one device), assign devices by hand and edit the description."""

    queryset = Alert.objects.all()
    serializer_class = AlertSerializer
    filterset_class = AlertFilter
    search_fields = ["name", "description"]
    ordering_fields = ["created_at", "latest_change_at", "resolved_at"]
    http_method_names = ["get", "post", "patch", "head", "options"]

    def perform_update(self, serializer):
        serializer.instance = services.alert_update_description(
            alert=serializer.instance, description=serializer.validated_data.get("description", "")
        )

    def _answer(self, alert):
        return Response(self.get_serializer(self.get_queryset().get(pk=alert.pk)).data)

    @extend_schema(request=None, responses={200: AlertSerializer})
    @action(detail=True, methods=["post"])
    def archive(self, request, pk=None):
        return self._answer(services.alert_set_archived(alert=self.get_object(), archived=True))

    @extend_schema(request=None, responses={200: AlertSerializer})
    @action(detail=True, methods=["post"])
    def unarchive(self, request, pk=None):
        return self._answer(services.alert_set_archived(alert=self.get_object(), archived=False))

    def _snooze(self, request, until_required: bool):
        alert = self.get_object()
        incoming = SnoozeSerializer(data=request.data, context={**self.get_serializer_context(), "alert": alert})
        if not until_required:
            incoming.fields["snooze_until"].required = False
        incoming.is_valid(raise_exception=True)
        until = incoming.validated_data.get("snooze_until") if until_required else None
        return self._answer(
            services.alert_snooze(alert=alert, until=until, device=incoming.validated_data.get("device"))
        )

    @extend_schema(request=SnoozeSerializer, responses={200: AlertSerializer})
    @action(detail=True, methods=["post"])
    def snooze(self, request, pk=None):
        """Silence the whole alert until `snooze_until`, or only `device` (reference 004 "Snooze Device Alert"):
        a snoozed device neither counts nor notifies."""
        return self._snooze(request, until_required=True)

    @extend_schema(request=UnsnoozeSerializer, responses={200: AlertSerializer})
    @action(detail=True, methods=["post"])
    def unsnooze(self, request, pk=None):
        """Lift the snooze of the whole alert, or only of `device`."""
        return self._snooze(request, until_required=False)

    def _assignment(self, request, assign: bool):
        alert = self.get_object()
        incoming = AssignSerializer(data=request.data, context=self.get_serializer_context())
        incoming.is_valid(raise_exception=True)
        devices = incoming.validated_data["devices"]
        if any(device.fleet_id != alert.fleet_id for device in devices):
            raise ValidationError({"devices": ["Every device must belong to the alert's fleet."]})
        return self._answer(services.alert_assign(alert=alert, devices=devices, assign=assign))

    @extend_schema(request=AssignSerializer, responses={200: AlertSerializer})
    @action(detail=True, methods=["post"])
    def assign(self, request, pk=None):
        """Put devices on the alert by hand (evaluation leaves them there)."""
        return self._assignment(request, True)

    @extend_schema(request=AssignSerializer, responses={200: AlertSerializer})
    @action(detail=True, methods=["post"])
    def unassign(self, request, pk=None):
        return self._assignment(request, False)
