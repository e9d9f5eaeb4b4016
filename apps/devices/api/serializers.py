from rest_framework import serializers

from apps.accounts.api.base import ModelSerializer, ScopedHyperlinkedRelatedField
from apps.screens.models import Screen

from ..models import TELEMETRY_FIELDS, CommandType, Device, DeviceCommand, TelemetrySample
from ..policies.api import DevicePolicySerializer
from ..screenshots.models import Screenshot


class DeviceSerializer(ModelSerializer):
    fleet = ScopedHyperlinkedRelatedField(view_name="fleet-detail", read_only=True)
    screen = ScopedHyperlinkedRelatedField(
        view_name="screen-detail", queryset=Screen.objects.all(), required=False, allow_null=True
    )
    status = serializers.SerializerMethodField()
    tags = ScopedHyperlinkedRelatedField(view_name="tag-detail", many=True, read_only=True)
    policies = DevicePolicySerializer(source="device_policies", many=True, read_only=True)

    class Meta:
        model = Device
        fields = [
            "url",
            "id",
            "uuid",
            "name",
            "fleet",
            "screen",
            "barcode",
            "sticker",
            "status",
            "online",
            "model",
            "os_version",
            "app_version",
            "serial_number",
            *TELEMETRY_FIELDS,
            "last_seen_at",
            "is_locked",
            "tags",
            "policies",
            "paired_at",
            "created",
            "modified",
        ]
        read_only_fields = [name for name in fields if name not in ("name", "screen", "barcode", "sticker")]
        field_queries = {"status": {"only": ["online", "screen"]}}

    def get_status(self, device) -> str:
        if not device.screen_id:
            return "unpaired"
        return "online" if device.online else "offline"


class PairSerializer(serializers.Serializer):
    pairing_code = serializers.CharField(max_length=12)
    screen = ScopedHyperlinkedRelatedField(view_name="screen-detail", queryset=Screen.objects.all())
    name = serializers.CharField(max_length=200, required=False, allow_blank=True)
    barcode = serializers.CharField(max_length=100, required=False, allow_blank=True)
    sticker = serializers.CharField(max_length=100, required=False, allow_blank=True)


class CommandSerializer(serializers.ModelSerializer):
    class Meta:
        model = DeviceCommand
        fields = ["id", "type", "payload", "created_at", "delivered_at", "succeeded_at", "failed_at", "result"]
        read_only_fields = ["id", "created_at", "delivered_at", "succeeded_at", "failed_at", "result"]


class NewCommandSerializer(serializers.Serializer):
    type = serializers.ChoiceField(choices=[c for c in CommandType.values if c not in ("lock", "unlock")])
    payload = serializers.JSONField(required=False)


class LockSerializer(serializers.Serializer):
    pin = serializers.RegexField(r"^\d{4,8}$", help_text="4 to 8 digits")


class TelemetrySampleSerializer(serializers.ModelSerializer):
    class Meta:
        model = TelemetrySample
        fields = ["type", "value", "created_at"]


class LatestTelemetrySerializer(serializers.Serializer):
    device = serializers.IntegerField()
    telemetries = serializers.DictField(child=TelemetrySampleSerializer(), help_text="The newest sample per type")


class TelemetryRangeSerializer(serializers.Serializer):
    since = serializers.DateTimeField(required=False)
    until = serializers.DateTimeField(required=False)

    def validate(self, attrs):
        if attrs.get("since") and attrs.get("until") and attrs["since"] >= attrs["until"]:
            raise serializers.ValidationError({"until": "Must be after since."})
        return attrs


class CommandCountsSerializer(serializers.Serializer):
    since = serializers.DateTimeField()
    until = serializers.DateTimeField()
    failed_commands = serializers.IntegerField()
    screenshots = serializers.IntegerField()


class ScreenshotSerializer(serializers.ModelSerializer):
    screen = ScopedHyperlinkedRelatedField(view_name="screen-detail", read_only=True)
    image = serializers.FileField(read_only=True, use_url=True, help_text="The picture as the player sent it")
    thumbnail = serializers.FileField(read_only=True, use_url=True, help_text="A JPEG of at most 320x320")

    class Meta:
        model = Screenshot
        fields = ["id", "taken_at", "image", "thumbnail", "mime_type", "width", "height", "size", "screen", "command"]
        read_only_fields = fields
