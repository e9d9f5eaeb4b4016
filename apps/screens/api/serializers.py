from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import transaction
from rest_framework import serializers

from apps.accounts.api.base import FleetOwnedSerializer, ScopedHyperlinkedRelatedField
from apps.accounts.models import Fleet, validate_timezone
from apps.places.models import Place
from signage.bounds import MAX_BIGINT

from ..hours import clean_week_hours
from ..models import ROTATIONS, DeactivationReason, Orientation, Screen, ScreenGroup, ScreenType
from ..services import allocated_times_clean, screen_create, screen_update

PLACE_FIELDS = ["full_address", "street_number", "address", "postalcode", "city", "county", "region", "country"]


def fleet_field():
    return ScopedHyperlinkedRelatedField(view_name="fleet-detail", queryset=Fleet.objects.all())


class WeekHoursField(serializers.JSONField):
    """Opening/download hours: `{"1": [["09:00", "18:00"]], ..., "7": []}`, validated and normalised."""

    def to_internal_value(self, data):
        return clean_week_hours(super().to_internal_value(data))


class ScreenTypeSerializer(FleetOwnedSerializer):
    fleet = fleet_field()

    class Meta:
        model = ScreenType
        fields = ["url", "id", "fleet", "name", "width", "height", "orientation"]


class ScreenGroupSerializer(FleetOwnedSerializer):
    fleet = fleet_field()
    screens = ScopedHyperlinkedRelatedField(
        many=True, view_name="screen-detail", queryset=Screen.objects.all(), required=False
    )

    class Meta:
        model = ScreenGroup
        fields = ["url", "id", "fleet", "name", "description", "screens"]

    def save(self, **kwargs):
        # Membership is checked by the apps above (share-of-voice quotas) as it is written: one transaction.
        with transaction.atomic():
            return super().save(**kwargs)

    def validate(self, attrs):
        fleet = attrs.get("fleet") or getattr(self.instance, "fleet", None)
        if fleet is not None and any(screen.fleet_id != fleet.pk for screen in attrs.get("screens", [])):
            raise serializers.ValidationError({"screens": ["A screen belongs to another fleet."]}, code="invalid")
        return attrs


class PlayerSerializer(serializers.Serializer):
    """A screen's player (device) as the screen shows it: how to find it on site."""

    id = serializers.IntegerField(max_value=MAX_BIGINT)
    barcode = serializers.CharField()
    sticker = serializers.CharField()


class ScreenSerializer(FleetOwnedSerializer):
    fleet = fleet_field()
    place = ScopedHyperlinkedRelatedField(
        view_name="place-detail", queryset=Place.objects.all(), required=False, allow_null=True
    )
    screen_type = ScopedHyperlinkedRelatedField(
        view_name="screentype-detail", queryset=ScreenType.objects.all(), required=False, allow_null=True
    )
    groups = ScopedHyperlinkedRelatedField(
        many=True, view_name="screengroup-detail", queryset=ScreenGroup.objects.all(), required=False
    )
    screen_group = ScopedHyperlinkedRelatedField(
        view_name="screengroup-detail",
        queryset=ScreenGroup.objects.all(),
        required=False,
        write_only=True,
        help_text="One group to put the screen in (reference 001's screenGroupId); `groups` sets them all.",
    )
    deactivation_reason = serializers.ChoiceField(choices=DeactivationReason.choices, allow_null=True, required=False)
    rotation = serializers.ChoiceField(choices=ROTATIONS, required=False)
    orientation = serializers.ChoiceField(choices=Orientation.choices, required=False)
    timezone = serializers.CharField(max_length=64, required=False, validators=[validate_timezone])
    opening_hours = WeekHoursField(required=False)
    download_hours = WeekHoursField(required=False)
    allocated_times = serializers.JSONField(required=False)
    custom_slug = serializers.CharField(max_length=100, required=False, allow_null=True, allow_blank=True)
    google_place_id = serializers.CharField(source="place.google_place_id", read_only=True, allow_null=True)
    players = PlayerSerializer(many=True, read_only=True)

    class Meta:
        model = Screen
        fields = [
            "url",
            "id",
            "name",
            "slug",
            "custom_slug",
            "description",
            "fleet",
            "place",
            "screen_type",
            "groups",
            "screen_group",
            "players",
            "active",
            "deactivation_reason",
            "remote",
            "display_is_a_led_panel",
            "display_is_an_epaper",
            "opening_hours",
            "download_hours",
            "allocated_times",
            "timezone",
            "schedule_mode",
            "orientation",
            "rotation",
            "location",
            "online",
            "online_modified_date",
            "last_seen_at",
            *PLACE_FIELDS,
            "google_place_id",
            "created",
            "modified",
        ]
        read_only_fields = ["slug", "online", "online_modified_date", "last_seen_at", "created", "modified"]
        expandable_fields = {
            "place": ("apps.places.api.serializers.PlaceSerializer", {}),
            "screen_type": (ScreenTypeSerializer, {}),
            "groups": (ScreenGroupSerializer, {"many": True, "omit": ["screens"]}),
        }

    def build_field(self, field_name, info, model_class, nested_depth):
        if field_name in PLACE_FIELDS:  # the address, read through the place
            return serializers.CharField, {"source": f"place.{field_name}", "read_only": True, "allow_null": True}
        return super().build_field(field_name, info, model_class, nested_depth)

    def validate_custom_slug(self, value):
        if not value:
            return None
        Screen.custom_slug_check(value, exclude_pk=self.instance.pk if self.instance is not None else None)
        return value

    def validate(self, attrs):
        fleet = attrs.get("fleet") or getattr(self.instance, "fleet", None)
        if "allocated_times" in attrs and fleet is not None:
            try:
                attrs["allocated_times"] = allocated_times_clean(fleet=fleet, value=attrs["allocated_times"])
            except DjangoValidationError as error:
                raise serializers.ValidationError({"allocated_times": error.messages}, code="invalid") from None
        return attrs

    def create(self, validated_data):
        groups = self._pop_groups(validated_data)
        fleet = validated_data.pop("fleet")
        return screen_create(fleet=fleet, groups=groups, **validated_data)

    def update(self, instance, validated_data):
        groups = self._pop_groups(validated_data)
        validated_data.pop("fleet", None)
        return screen_update(screen=instance, groups=groups, **validated_data)

    def _pop_groups(self, validated_data):
        groups = validated_data.pop("groups", None)
        extra = validated_data.pop("screen_group", None)
        if extra is not None:
            current = groups if groups is not None else (list(self.instance.groups.all()) if self.instance else [])
            groups = [*current, extra]
        return groups
