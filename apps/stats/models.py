"""The proof-of-play ledger and its hourly rollup.

A display event copies what it needs at ingestion (ids and names of the screen, player, place,
campaign and media, the screen's timezone) and holds no foreign key: deleting or renaming anything
never changes a past event. Every row carries its fleet, and every statistics query is keyed by it,
so both tables can be distributed by `fleet_id` (Citus) without a change of code.

On PostgreSQL `stats_playevent` is partitioned by month on `started_at` (see migrations 0002 and
`partitions.py`): its primary key is (fleet_id, started_at, id) and the player's event id is unique
per (fleet, player, started_at), because every unique index of a partitioned table must hold the
partition key. A player resending an event sends the same started_at, so a batch sent twice, or ten
times at once, is stored once.
"""

from django.db import models

from apps.media.models import public_id
from signage.scopes import FleetOwned


class PlayEvent(FleetOwned):
    """One display reported by a player, as it was at the time."""

    fleet_lookup = "fleet_id"  # a plain column (the ledger keeps no foreign keys)

    id = models.BigAutoField(primary_key=True)
    fleet_id = models.BigIntegerField()
    event_id = models.UUIDField(help_text="The player's own event id")
    device_id = models.BigIntegerField()
    device_name = models.CharField(max_length=200, blank=True)
    screen_id = models.UUIDField()
    screen_name = models.CharField(max_length=100, blank=True)
    place_id = models.BigIntegerField(null=True)
    place_name = models.CharField(max_length=255, blank=True)
    timezone = models.CharField(max_length=64, help_text="The screen's timezone at the time")
    ad_id = models.UUIDField(null=True)
    ad_name = models.CharField(max_length=255, blank=True)
    broadcast_id = models.UUIDField(null=True)
    media_id = models.BigIntegerField()
    media_type = models.CharField(max_length=10)
    media_name = models.CharField(max_length=255, blank=True)
    started_at = models.DateTimeField()
    duration = models.FloatField(help_text="Seconds")
    received_at = models.DateTimeField()

    class Meta:
        ordering = ["-started_at", "-id"]
        indexes = [
            models.Index(fields=["fleet_id", "started_at", "id"], name="stats_event_fleet_time"),
            models.Index(fields=["fleet_id", "screen_id", "started_at"], name="stats_event_screen_time"),
            models.Index(fields=["fleet_id", "ad_id", "started_at"], name="stats_event_ad_time"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["fleet_id", "device_id", "event_id", "started_at"], name="stats_event_once_per_player"
            )
        ]

    def __str__(self) -> str:
        return f"{self.media_public_id} on {self.screen_name} at {self.started_at:%Y-%m-%d %H:%M:%S}"

    @property
    def media_public_id(self) -> str:
        return public_id(self.media_type, self.media_id)


class HourlyPlays(FleetOwned):
    """Plays of one media of one campaign on one screen during one UTC hour, upserted in the transaction
    that stores the events (PostgreSQL). Aggregates read these rows only; they outlive raw partitions."""

    fleet_lookup = "fleet_id"  # a plain column (the ledger keeps no foreign keys)

    id = models.BigAutoField(primary_key=True)
    fleet_id = models.BigIntegerField()
    hour = models.DateTimeField()
    screen_id = models.UUIDField()
    screen_name = models.CharField(max_length=100, blank=True)
    place_id = models.BigIntegerField(null=True)
    place_name = models.CharField(max_length=255, blank=True)
    timezone = models.CharField(max_length=64)
    ad_id = models.UUIDField(null=True)
    ad_name = models.CharField(max_length=255, blank=True)
    media_id = models.BigIntegerField()
    media_type = models.CharField(max_length=10)
    media_name = models.CharField(max_length=255, blank=True)
    plays = models.BigIntegerField()
    total_duration = models.FloatField()

    class Meta:
        verbose_name_plural = "hourly plays"
        constraints = [
            models.UniqueConstraint(
                fields=["fleet_id", "hour", "screen_id", "ad_id", "media_id"],
                name="stats_hourly_key",
                nulls_distinct=False,
            )
        ]
        indexes = [models.Index(fields=["fleet_id", "screen_id", "hour"], name="stats_hourly_screen")]

    def __str__(self) -> str:
        return f"{self.plays} plays on {self.screen_name} at {self.hour:%Y-%m-%d %H:00}"


class DailyScreenPlays(FleetOwned):
    """Plays of one screen during one day of its own timezone (all campaigns and media), upserted with the
    hourly rollup (PostgreSQL). A month's aggregate by screen and date reads a row per screen and day;
    `starts_at`/`ends_at` are the day's bounds, so a range that cuts a day reads that day's hours instead.
    On PostgreSQL an index on (fleet, screen, day) holds every column (migration 0004): screens' days are
    read in that order from the index alone."""

    fleet_lookup = "fleet_id"  # a plain column (the ledger keeps no foreign keys)

    id = models.BigAutoField(primary_key=True)
    fleet_id = models.BigIntegerField()
    day = models.DateField(help_text="In the screen's timezone")
    timezone = models.CharField(max_length=64)
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    screen_id = models.UUIDField()
    screen_name = models.CharField(max_length=100, blank=True)
    place_id = models.BigIntegerField(null=True)
    place_name = models.CharField(max_length=255, blank=True)
    plays = models.BigIntegerField()
    total_duration = models.FloatField()

    class Meta:
        verbose_name_plural = "daily screen plays"
        constraints = [
            models.UniqueConstraint(fields=["fleet_id", "day", "screen_id", "timezone"], name="stats_daily_key")
        ]

    def __str__(self) -> str:
        return f"{self.plays} plays on {self.screen_name} on {self.day}"
