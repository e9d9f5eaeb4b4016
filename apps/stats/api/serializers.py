"""Query parameters and rows of the statistics API (/api/statistics/v2/)."""

import zoneinfo
from datetime import timedelta

from django.conf import settings
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from apps.media.models import parse_public_id

from ..selectors import DIMENSIONS, StatsQuery, decode_cursor, fleet_ids_of

MAX_LIST = 200  # values in one comma-separated filter


@extend_schema_field(OpenApiTypes.STR)
class CommaListField(serializers.Field):
    """`a,b,c` (or the parameter repeated) checked item by item with `child`."""

    def __init__(self, child: serializers.Field, **kwargs):
        self.child = child
        super().__init__(**kwargs)

    def to_internal_value(self, data):
        items = [item.strip() for item in str(data).split(",") if item.strip()]
        if len(items) > MAX_LIST:
            raise serializers.ValidationError(f"At most {MAX_LIST} values.")
        return [self.child.run_validation(item) for item in items]

    def to_representation(self, value):
        return ",".join(map(str, value))


class MediaIdField(serializers.CharField):
    def to_internal_value(self, data):
        parsed = parse_public_id(super().to_internal_value(data))
        if parsed is None:
            raise serializers.ValidationError("Expected a media id such as picture-12.")
        return parsed[1]


ID = serializers.IntegerField(min_value=1, max_value=2**63 - 1)


class StatsFilterSerializer(serializers.Serializer):
    """The filters shared by `displays/` and `aggregates/`. The range is required and bounded."""

    started_at__gte = serializers.DateTimeField(help_text="Start of the range (included)")
    started_at__lt = serializers.DateTimeField(help_text="End of the range (excluded)")
    fleet = CommaListField(ID, required=False, help_text="Fleet ids (default: all of yours)")
    screen = CommaListField(serializers.UUIDField(), required=False, help_text="Screen ids, comma-separated")
    player = CommaListField(ID, required=False, help_text="Player (device) ids")
    campaign = CommaListField(serializers.UUIDField(), required=False, help_text="Campaign ids")
    broadcast = CommaListField(serializers.UUIDField(), required=False, help_text="Broadcast ids")
    media = CommaListField(MediaIdField(), required=False, help_text="Media ids such as picture-12")
    place = CommaListField(ID, required=False, help_text="Place ids")
    screen_group = CommaListField(ID, required=False, help_text="Screen group ids (today's members)")
    tz = serializers.CharField(
        required=False, max_length=64, help_text="IANA timezone for dates and hours (default: each screen's own)"
    )
    format = serializers.ChoiceField(choices=["json", "csv"], required=False, help_text="csv streams every row")

    def validate_tz(self, value):
        if value not in zoneinfo.available_timezones():
            raise serializers.ValidationError(f"'{value}' is not a valid IANA timezone.")
        return value

    def validate(self, attrs):
        since, until = attrs["started_at__gte"], attrs["started_at__lt"]
        if until <= since:
            raise serializers.ValidationError({"started_at__lt": ["Must be after started_at__gte."]})
        widest = settings.SIGNAGE_STATS_MAX_RANGE_DAYS
        if until - since > timedelta(days=widest):
            raise serializers.ValidationError(
                {"started_at__lt": [f"The range is too wide: at most {widest} days per request."]}
            )
        return attrs

    def query(self, user) -> StatsQuery:
        data = self.validated_data
        return StatsQuery(
            fleet_ids=fleet_ids_of(user, data.get("fleet")),
            since=data["started_at__gte"],
            until=data["started_at__lt"],
            screens=data.get("screen", []),
            players=data.get("player", []),
            campaigns=data.get("campaign", []),
            broadcasts=data.get("broadcast", []),
            medias=data.get("media", []),
            places=data.get("place", []),
            screen_groups=data.get("screen_group", []),
            tz=data.get("tz"),
        )


class DisplaysQuerySerializer(StatsFilterSerializer):
    ordering = serializers.ChoiceField(
        choices=["-started_at", "started_at"], default="-started_at", help_text="Newest first by default"
    )
    limit = serializers.IntegerField(min_value=1, max_value=1000, default=100)
    cursor = serializers.CharField(required=False, max_length=200, help_text="The `next` link's cursor")

    def validate_cursor(self, value):
        position = decode_cursor(value)
        if position is None:
            raise serializers.ValidationError("Invalid cursor.")
        return position


class AggregatesQuerySerializer(StatsFilterSerializer):
    group_by = CommaListField(
        serializers.ChoiceField(choices=DIMENSIONS),
        required=False,
        help_text=f"One or several of {', '.join(DIMENSIONS)}, comma-separated",
    )
    limit = serializers.IntegerField(min_value=1, max_value=100000, default=1000)
    offset = serializers.IntegerField(min_value=0, max_value=10**9, default=0)

    def validate_group_by(self, value):
        if len(set(value)) != len(value):
            raise serializers.ValidationError("A dimension is given twice.")
        return value


class DisplaySerializer(serializers.Serializer):
    """One display, with the ids and names the screen, player, place, campaign and media had then."""

    id = serializers.IntegerField()
    event_id = serializers.UUIDField()
    started_at = serializers.DateTimeField()
    duration = serializers.FloatField(help_text="Seconds")
    screen = serializers.UUIDField()
    screen_name = serializers.CharField()
    player = serializers.IntegerField()
    player_name = serializers.CharField()
    place = serializers.IntegerField(allow_null=True)
    place_name = serializers.CharField()
    campaign = serializers.UUIDField(allow_null=True)
    campaign_name = serializers.CharField(allow_null=True)
    broadcast = serializers.UUIDField(allow_null=True)
    media = serializers.CharField()
    media_name = serializers.CharField()
    timezone = serializers.CharField()
    received_at = serializers.DateTimeField()


class DisplayPageSerializer(serializers.Serializer):
    next = serializers.URLField(allow_null=True)
    results = DisplaySerializer(many=True)


class AggregateSerializer(serializers.Serializer):
    """A group: the dimensions asked in `group_by` (ids and names), then the measures."""

    screen = serializers.UUIDField(required=False, allow_null=True)
    screen_name = serializers.CharField(required=False, allow_null=True)
    campaign = serializers.UUIDField(required=False, allow_null=True)
    campaign_name = serializers.CharField(required=False, allow_null=True)
    media = serializers.CharField(required=False)
    media_name = serializers.CharField(required=False)
    place = serializers.IntegerField(required=False, allow_null=True)
    place_name = serializers.CharField(required=False, allow_null=True)
    screen_group = serializers.IntegerField(required=False, allow_null=True)
    screen_group_name = serializers.CharField(required=False, allow_null=True)
    date = serializers.DateField(required=False)
    hour = serializers.IntegerField(required=False, min_value=0, max_value=23)
    weekday = serializers.IntegerField(required=False, min_value=1, max_value=7, help_text="ISO: 1 is Monday")
    count = serializers.IntegerField(help_text="Displays")
    total_duration = serializers.FloatField(help_text="Seconds")
    screens = serializers.IntegerField(help_text="Distinct screens")


class AggregatePageSerializer(serializers.Serializer):
    next = serializers.URLField(allow_null=True)
    results = AggregateSerializer(many=True)
