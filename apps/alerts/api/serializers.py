from rest_framework import serializers

from apps.accounts.api.base import FleetOwnedSerializer, ModelSerializer, ScopedHyperlinkedRelatedField
from apps.devices.models import Device

from ..models import Alert, AlertDevice, AlertRule


class AlertRuleSerializer(FleetOwnedSerializer):
    """JSON parts as in reference 004 (snake_case): see `apps/alerts/rules.py` for every shape."""

    fleet = ScopedHyperlinkedRelatedField(
        view_name="fleet-detail", queryset=AlertRule.fleet.field.related_model.objects.all()
    )
    filter = serializers.JSONField(
        required=False,
        help_text='Devices watched (the threshold\'s base): {"model", "name", "application_version": [">", "3.12.0"], '
        '"screen_groups": [ids], "places": [ids], "screens": [ids]}',
    )
    conditions = serializers.JSONField(
        required=False,
        help_text='All must hold: {"ALIVE_AT": [">", ms], "STORAGE_STATUS": ["<", 10], "VOLUME": [op, %], '
        '"BRIGHTNESS": [op, %], "TEMPERATURE": [op, °C], "APPLICATION_VERSION": ["<", "2.0.0"], '
        '"FAILED_ACTIONS": [op, occurrences, ms], "SCREENSHOT": [op, occurrences, ms], "REMOTE_CONTROL": true, '
        '"SCREEN_OPEN": true, "POLICY_VIOLATION": true, "POLICY_VIOLATION_VOLUME" (_BRIGHTNESS, '
        "_APPLICATION_VERSION, _TEMPERATURE): true}",
    )
    threshold = serializers.JSONField(required=False, help_text='{"type": "percentage", "percentage": 0-99}')
    periodicity = serializers.JSONField(
        required=False,
        help_text='{"interval": seconds (60+), "active_time_windows": [{"weekdays": [1-7], "start": "HH:MM", '
        '"end": "HH:MM", "timezone": "Europe/Paris"}]}',
    )
    action = serializers.JSONField(
        required=False, help_text='{"emails": [...], "roles": ["admin", ...], "webhook_url": "https://..."}'
    )
    archived = serializers.SerializerMethodField()

    class Meta:
        model = AlertRule
        fields = ["url", "id", "fleet", "name", "description", "alert_type", "filter", "conditions", "threshold",
                  "periodicity", "action", "paused", "archived", "archived_at", "builtin", "last_evaluated_at",
                  "created_at", "modified_at"]  # fmt: skip
        read_only_fields = ["archived_at", "builtin", "last_evaluated_at", "created_at", "modified_at"]
        field_queries = {"archived": {"only": ["archived_at"]}}

    def get_archived(self, rule) -> bool:
        return rule.archived_at is not None


class AlertDeviceSerializer(serializers.ModelSerializer):
    device = ScopedHyperlinkedRelatedField(view_name="device-detail", read_only=True)
    id = serializers.IntegerField(source="device_id", read_only=True)
    uuid = serializers.CharField(source="device.uuid", read_only=True)
    name = serializers.CharField(source="device.name", read_only=True)

    class Meta:
        model = AlertDevice
        fields = ["device", "id", "uuid", "name", "assigned_by_hand", "snoozed_until", "added_at"]
        field_queries = {"id": {"only": ["device"]}}


class AlertSerializer(ModelSerializer):
    fleet = ScopedHyperlinkedRelatedField(view_name="fleet-detail", read_only=True)
    rule = ScopedHyperlinkedRelatedField(view_name="alertrule-detail", read_only=True)
    devices = AlertDeviceSerializer(source="alert_devices", many=True, read_only=True)
    archived = serializers.SerializerMethodField()
    resolved = serializers.SerializerMethodField()

    class Meta:
        model = Alert
        fields = ["url", "id", "fleet", "rule", "name", "description", "devices", "details", "created_at",
                  "latest_change_at", "archived", "archived_at", "resolved", "resolved_at",
                  "snoozed_until"]  # fmt: skip
        read_only_fields = [name for name in fields if name != "description"]
        field_queries = {"archived": {"only": ["archived_at"]}, "resolved": {"only": ["resolved_at"]}}

    def get_archived(self, alert) -> bool:
        return alert.archived_at is not None

    def get_resolved(self, alert) -> bool:
        return alert.resolved_at is not None


class AlertDeviceField(ScopedHyperlinkedRelatedField):
    """A device of the alert in the context (by URL or id); any other device is unknown here."""

    def get_queryset(self):
        alert = self.context.get("alert")
        return super().get_queryset().filter(alert_devices__alert=alert) if alert else Device.objects.none()


class UnsnoozeSerializer(serializers.Serializer):
    device = AlertDeviceField(
        view_name="device-detail", queryset=Device.objects.all(), required=False, help_text="Only this device"
    )


class SnoozeSerializer(UnsnoozeSerializer):
    snooze_until = serializers.DateTimeField(help_text="Until when (ISO 8601); in the future")


class AssignSerializer(serializers.Serializer):
    devices = serializers.ListField(
        child=ScopedHyperlinkedRelatedField(view_name="device-detail", queryset=Device.objects.all()),
        min_length=1,
        max_length=1000,
        help_text="Device URLs or ids of the alert's fleet",
    )
