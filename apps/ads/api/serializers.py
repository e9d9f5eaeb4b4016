from django.urls import reverse
from drf_spectacular.utils import extend_schema_field, extend_schema_serializer
from rest_framework import serializers

from apps.accounts.api.base import FleetOwnedSerializer, ModelSerializer, ScopedHyperlinkedRelatedField
from apps.accounts.models import AdvertiserType, Fleet
from apps.screens.api.serializers import WeekHoursField
from apps.screens.models import Screen, ScreenGroup
from signage.api.serializers import Serializer
from signage.bounds import DAY_VALIDATORS, MAX_INT, parse_id

from ..conditions import CONDITIONS_SCHEMA
from ..feeds import data_feed_save
from ..models import Ad, AdStatus, Broadcast, CampaignType, DataFeed, MultimediaType, Playlist, Schedule, TargetType
from ..schedules import playlist_save, schedule_save
from ..services import campaign_create, campaign_update
from .fields import MediaField, ScreenListField, canonical_screen_id


class LoopIndexesField(serializers.JSONField):
    """`{"<screen url or id>": [1, 5, 10]}`: loop positions per screen, stored by screen id."""

    def to_internal_value(self, data):
        data = super().to_internal_value(data)
        if not isinstance(data, dict):
            raise serializers.ValidationError('Expected {"<screen url or id>": [positions]}.')
        indexes = {}
        for key, positions in data.items():
            screen_id = canonical_screen_id(key)
            if screen_id is None:
                raise serializers.ValidationError(f"'{key}' is not a screen URL or id.")
            if not isinstance(positions, list) or not all(
                isinstance(p, int) and not isinstance(p, bool) and p >= 0 for p in positions
            ):
                raise serializers.ValidationError(
                    f"The positions of '{key}' must be a list of whole numbers, 0 or more."
                )
            indexes[screen_id] = sorted(set(positions))
        return indexes


@extend_schema_field(CONDITIONS_SCHEMA)
class ConditionsField(serializers.JSONField):
    """Conditions are checked by the services (apps/ads/conditions.py), the one place that knows them."""


class BroadcastSerializer(ModelSerializer):
    ad = ScopedHyperlinkedRelatedField(view_name="ad-detail", queryset=Ad.objects.all())
    media = MediaField(required=False, allow_null=True)
    screens = ScreenListField(required=False)
    screen_groups = ScopedHyperlinkedRelatedField(
        source="groups",
        many=True,
        required=False,
        view_name="screengroup-detail",
        queryset=ScreenGroup.objects.all(),
        help_text="Groups whose screens, present and future, play the broadcast",
    )
    all_screens = serializers.BooleanField(
        required=False, help_text="Every screen of the fleet, present and future, plays the broadcast"
    )
    conditions = ConditionsField(required=False, help_text="All must hold for the broadcast to play")
    screens_loop_indexes = LoopIndexesField(required=False)
    display_periods = WeekHoursField(required=False)
    order = serializers.IntegerField(required=False, min_value=0, max_value=MAX_INT)

    class Meta:
        model = Broadcast
        fields = [
            "url",
            "id",
            "ad",
            "screens",
            "screen_groups",
            "all_screens",
            "order",
            "display_periods",
            "conditions",
            "media",
            "screens_loop_indexes",
        ]
        field_queries = {
            "screens": {"prefetch": ["broadcast_screens"]},
            "media": {"select": ["media"]},
        }

    def to_internal_value(self, data):
        values = super().to_internal_value(data)
        if "broadcast_screens" in values:  # the field reads the ordered links; services take the screens
            values["screens"] = values.pop("broadcast_screens")
        return values

    def validate(self, attrs):
        # Reference 000: screens are required on a new broadcast, unless it is aimed at groups or the fleet.
        aimed = "screens" in attrs or attrs.get("groups") or attrs.get("all_screens")
        if self.instance is None and not aimed:
            raise serializers.ValidationError({"screens": ["This field is required."]}, code="required")
        return attrs


class NestedBroadcastSerializer(BroadcastSerializer):
    """A broadcast inside its campaign's payload: no `ad` field, and `url`/`id` only on output."""

    class Meta(BroadcastSerializer.Meta):
        fields = [name for name in BroadcastSerializer.Meta.fields if name != "ad"]


@extend_schema_field(
    {
        "type": "integer",
        "maximum": 2**15 - 1,
        "nullable": True,
        "description": "Advertiser type id; on input also its name",
    }
)
class AdvertiserTypeField(serializers.Field):
    """An advertiser type by id (1) or name ("lessor", any case); output as its id."""

    def to_representation(self, value):
        return value.pk

    def to_internal_value(self, data):
        key = str(data).strip().lower()
        pk = parse_id(key)
        kind = AdvertiserType.objects.filter(**({"pk": pk} if pk else {"name": key})).first()
        if kind is None:
            raise serializers.ValidationError(f"Unknown advertiser type '{data}'.")
        return kind


class AdupdaterSerializer(Serializer):
    class Parameters(Serializer):
        url = serializers.URLField()
        geometry = serializers.ListField(
            child=serializers.IntegerField(min_value=1, max_value=100_000), min_length=2, max_length=2
        )
        duration = serializers.IntegerField(min_value=1, max_value=86_400, help_text="Seconds")

    category = serializers.ChoiceField(choices=["screenshot"])
    refresh_time = serializers.IntegerField(
        min_value=60, max_value=MAX_INT, help_text="Seconds between two screenshots"
    )
    parameters = Parameters()


class AdSerializer(FleetOwnedSerializer):
    fleet = ScopedHyperlinkedRelatedField(view_name="fleet-detail", queryset=Fleet.objects.all())
    broadcasts = NestedBroadcastSerializer(many=True, required=False)
    screens = serializers.SerializerMethodField(
        help_text="Every screen of the campaign's broadcasts, groups and whole-fleet targets resolved (read-only)"
    )
    author = serializers.IntegerField(source="author_id", read_only=True, allow_null=True)
    author_origin = AdvertiserTypeField(required=False, allow_null=True)
    adupdater = AdupdaterSerializer(required=False, allow_null=True)
    adupdater_error = serializers.CharField(
        read_only=True, help_text="HTML campaigns: why the last screenshot of the page failed (empty: it worked)"
    )
    status = serializers.ChoiceField(choices=AdStatus.choices, required=False)
    campaign_type = serializers.ChoiceField(choices=CampaignType.choices, required=False)
    multimedia_type = serializers.ChoiceField(choices=MultimediaType.choices, required=False)
    campaign_startdate = serializers.DateField(
        required=False, validators=DAY_VALIDATORS, help_text="Default: today, in the fleet's timezone"
    )

    class Meta:
        model = Ad
        fields = [
            "url",
            "id",
            "name",
            "fleet",
            "campaign_startdate",
            "campaign_enddate",
            "status",
            "campaign_type",
            "multimedia_type",
            "main_loop",
            "on_demand",
            "sliding",
            "priority",
            "emergency",
            "author",
            "author_origin",
            "adupdater",
            "adupdater_error",
            "broadcasts",
            "screens",
            "created",
            "modified",
        ]
        field_queries = {
            "screens": {"prefetch": ["broadcasts__broadcast_screens", "broadcasts__groups__screens"]},
            "author": {"only": ["author"]},
            "author_origin": {"only": ["author_origin"]},
        }

    def apply_flex_fields(self, fields, flex_options):
        # Reference 000's `?fields=id,name,...` example answers with `url` too: a campaign keeps its link.
        if any(flex_options["fields"]) and "url" not in flex_options["fields"]:
            flex_options = {**flex_options, "fields": [*flex_options["fields"], "url"]}
        return super().apply_flex_fields(fields, flex_options)

    @extend_schema_field({"type": "array", "items": {"type": "string", "format": "uri"}})
    def get_screens(self, ad) -> list[str]:
        request = self.context.get("request")
        broadcasts = list(ad.broadcasts.all())
        screen_ids = dict.fromkeys(
            link.screen_id for broadcast in broadcasts for link in broadcast.broadcast_screens.all()
        )
        screen_ids.update(
            (screen.pk, None)
            for broadcast in broadcasts
            for group in broadcast.groups.all()
            for screen in sorted(group.screens.all(), key=lambda screen: (screen.name, str(screen.pk)))
        )
        if any(broadcast.all_screens for broadcast in broadcasts):
            screen_ids.update((pk, None) for pk in self._fleet_screens(ad.fleet_id))
        urls = [reverse("screen-detail", kwargs={"pk": pk}) for pk in screen_ids]
        return [request.build_absolute_uri(url) if request else url for url in urls]

    def _fleet_screens(self, fleet_id) -> list:
        """A fleet's screen ids, read once per response (not once per campaign)."""
        memo = self.context.setdefault("fleet_screens", {})
        if fleet_id not in memo:
            from apps.screens.models import Screen

            memo[fleet_id] = list(Screen.objects.of_fleet(fleet_id).values_list("pk", flat=True))
        return memo[fleet_id]

    def create(self, validated_data):
        broadcasts = validated_data.pop("broadcasts", None)
        fleet = validated_data.pop("fleet")
        return campaign_create(
            fleet=fleet, author=self.context["request"].user, broadcasts=broadcasts, **validated_data
        )

    def update(self, instance, validated_data):
        broadcasts = validated_data.pop("broadcasts", None)
        validated_data.pop("fleet", None)
        return campaign_update(ad=instance, broadcasts=broadcasts, **validated_data)


class GiveSerializer(serializers.Serializer):
    author = serializers.CharField(help_text="The new author's user id or username")


class DataFeedSerializer(FleetOwnedSerializer):
    fleet = ScopedHyperlinkedRelatedField(view_name="fleet-detail", queryset=Fleet.objects.all())
    refresh_time = serializers.IntegerField(
        required=False, min_value=60, max_value=7 * 24 * 3600, help_text="Seconds between two fetches"
    )
    max_age = serializers.IntegerField(
        required=False,
        min_value=60,
        max_value=30 * 24 * 3600,
        help_text="Seconds after the last successful fetch until the value is stale (conditions on it do not hold)",
    )
    data = serializers.JSONField(read_only=True, help_text="The last value fetched")
    source_url = serializers.URLField(max_length=2000, help_text="A JSON document, fetched through the SSRF guard")

    class Meta:
        model = DataFeed
        fields = [
            "url",
            "id",
            "fleet",
            "name",
            "source_url",
            "refresh_time",
            "max_age",
            "data",
            "fetched_at",
            "last_error",
            "created",
            "modified",
        ]
        read_only_fields = ["fetched_at", "last_error", "created", "modified"]

    def create(self, validated_data):
        return data_feed_save(fleet=validated_data.pop("fleet"), **validated_data)

    def update(self, instance, validated_data):
        validated_data.pop("fleet", None)
        return data_feed_save(fleet=instance.fleet, feed=instance, **validated_data)


class PlaylistItemSerializer(Serializer):
    media = MediaField()
    duration = serializers.FloatField(
        required=False, allow_null=True, min_value=1, max_value=86400, help_text="Seconds; empty: the media's own"
    )
    position = serializers.IntegerField(read_only=True)


@extend_schema_serializer(component_name="MediaPlaylist")  # "Playlist" is the device protocol's answer
class PlaylistSerializer(FleetOwnedSerializer):
    fleet = ScopedHyperlinkedRelatedField(view_name="fleet-detail", queryset=Fleet.objects.all())
    items = PlaylistItemSerializer(
        many=True, required=False, help_text="In order; on write, the list replaces the old one"
    )
    item_count = serializers.SerializerMethodField()
    total_duration = serializers.SerializerMethodField(help_text="Seconds")

    class Meta:
        model = Playlist
        fields = [
            "url", "id", "fleet", "name", "description", "transition", "items", "item_count", "total_duration",
            "created", "modified",
        ]  # fmt: skip
        field_queries = {
            "items": {"prefetch": ["items__media"]},
            "item_count": {"prefetch": ["items__media"]},
            "total_duration": {"prefetch": ["items__media"]},
        }

    def get_item_count(self, playlist) -> int:
        return len(playlist.items.all())

    def get_total_duration(self, playlist) -> float:
        return sum(float(item.duration or item.media.play_duration or 0) for item in playlist.items.all())

    def create(self, validated_data):
        items = validated_data.pop("items", None)
        return playlist_save(fleet=validated_data.pop("fleet"), items=items, **validated_data)

    def update(self, instance, validated_data):
        items = validated_data.pop("items", None)
        validated_data.pop("fleet", None)
        return playlist_save(fleet=instance.fleet, playlist=instance, items=items, **validated_data)


class ScheduleSerializer(FleetOwnedSerializer):
    fleet = ScopedHyperlinkedRelatedField(view_name="fleet-detail", queryset=Fleet.objects.all())
    playlist = ScopedHyperlinkedRelatedField(view_name="playlist-detail", queryset=Playlist.objects.all())
    target_type = serializers.ChoiceField(choices=TargetType.choices)
    screen = serializers.SerializerMethodField(help_text="target_type screen: the screen")
    screens = ScopedHyperlinkedRelatedField(
        many=True, required=False, view_name="screen-detail", queryset=Screen.objects.all(),
        help_text="target_type screen (one) or multiple_screens",
    )  # fmt: skip
    screen_group = ScopedHyperlinkedRelatedField(
        required=False, allow_null=True, view_name="screengroup-detail", queryset=ScreenGroup.objects.all()
    )
    days_of_week = serializers.ListField(
        child=serializers.IntegerField(min_value=1, max_value=7), required=False, max_length=7,
        help_text="1 (Monday) to 7 (Sunday); empty: every day",
    )  # fmt: skip
    start_time = serializers.TimeField(required=False, allow_null=True, format="%H:%M")
    end_time = serializers.TimeField(required=False, allow_null=True, format="%H:%M")
    priority = serializers.IntegerField(required=False, min_value=0, max_value=100)
    color = serializers.RegexField(r"^#[0-9A-Fa-f]{6}$", required=False, allow_blank=True)
    conditions = ConditionsField(required=False)
    ad = serializers.SerializerMethodField(help_text="The campaign this schedule is compiled into (read-only)")

    class Meta:
        model = Schedule
        fields = [
            "url", "id", "fleet", "name", "playlist", "target_type", "screen", "screens", "screen_group",
            "days_of_week", "start_time", "end_time", "start_date", "end_date", "priority", "active", "color",
            "conditions", "ad", "created", "modified",
        ]  # fmt: skip
        field_queries = {"screen": {"prefetch": ["screens"]}, "ad": {"only": ["ad"]}}

    @extend_schema_field({"type": "string", "format": "uri", "nullable": True})
    def get_screen(self, schedule):
        if schedule.target_type != TargetType.SCREEN:
            return None
        screens = list(schedule.screens.all())
        if not screens:
            return None
        request = self.context.get("request")
        url = reverse("screen-detail", kwargs={"pk": screens[0].pk})
        return request.build_absolute_uri(url) if request else url

    @extend_schema_field({"type": "string", "format": "uri", "nullable": True})
    def get_ad(self, schedule):
        if schedule.ad_id is None:
            return None
        request = self.context.get("request")
        url = reverse("ad-detail", kwargs={"pk": schedule.ad_id})
        return request.build_absolute_uri(url) if request else url

    def to_internal_value(self, data):
        # `screen` (one) is written as a one-screen `screens` list.
        if isinstance(data, dict) and "screen" in data:
            data = {**data, "screens": [data["screen"]] if data["screen"] else []}
            data.pop("screen")
        return super().to_internal_value(data)

    def create(self, validated_data):
        screens = validated_data.pop("screens", None)
        return schedule_save(fleet=validated_data.pop("fleet"), screens=screens, **validated_data)

    def update(self, instance, validated_data):
        screens = validated_data.pop("screens", None)
        validated_data.pop("fleet", None)
        return schedule_save(fleet=instance.fleet, schedule=instance, screens=screens, **validated_data)
