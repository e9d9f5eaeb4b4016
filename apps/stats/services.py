"""Writing the proof-of-play ledger: batches from players, the hourly rollup, retention."""

from datetime import timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.utils import timezone

from apps.ads.models import Ad, Broadcast
from apps.devices.models import Device
from apps.media.models import Media, parse_public_id

from . import partitions
from .models import PlayEvent

INSERT_COLUMNS = (
    "fleet_id", "event_id", "device_id", "device_name", "screen_id", "screen_name", "place_id", "place_name",
    "timezone", "ad_id", "ad_name", "broadcast_id", "media_id", "media_type", "media_name", "started_at",
    "duration", "received_at",
)  # fmt: skip

# One statement per batch on PostgreSQL: the events arrive as arrays, are inserted once per (fleet,
# player, event id, started_at) and the rows actually inserted feed the hourly rollup's upsert, in the
# same transaction. Rollup rows are upserted in key order, so two batches touching the same hours lock
# them in the same order.
INGEST_SQL = """
WITH incoming AS (
    SELECT * FROM unnest(
        %(event_id)s::uuid[], %(ad_id)s::uuid[], %(ad_name)s::text[], %(broadcast_id)s::uuid[],
        %(media_id)s::bigint[], %(media_type)s::text[], %(media_name)s::text[], %(started_at)s::timestamptz[],
        %(duration)s::float8[]
    ) AS t(event_id, ad_id, ad_name, broadcast_id, media_id, media_type, media_name, started_at, duration)
), inserted AS (
    INSERT INTO stats_playevent (
        fleet_id, event_id, device_id, device_name, screen_id, screen_name, place_id, place_name, timezone,
        ad_id, ad_name, broadcast_id, media_id, media_type, media_name, started_at, duration, received_at
    )
    SELECT %(fleet_id)s, event_id, %(device_id)s, %(device_name)s, %(screen_id)s, %(screen_name)s, %(place_id)s,
           %(place_name)s, %(timezone)s, ad_id, ad_name, broadcast_id, media_id, media_type, media_name,
           started_at, duration, %(received_at)s
    FROM incoming
    ON CONFLICT DO NOTHING
    RETURNING fleet_id, screen_id, screen_name, place_id, place_name, timezone, ad_id, ad_name, media_id,
              media_type, media_name, started_at, duration
), rolled AS (
    INSERT INTO stats_hourlyplays (
        fleet_id, hour, screen_id, screen_name, place_id, place_name, timezone, ad_id, ad_name, media_id,
        media_type, media_name, plays, total_duration
    )
    SELECT fleet_id, date_trunc('hour', started_at, 'UTC'), screen_id, max(screen_name), max(place_id),
           max(place_name), max(timezone), ad_id, max(ad_name), media_id, max(media_type), max(media_name),
           count(*), sum(duration)
    FROM inserted
    GROUP BY fleet_id, date_trunc('hour', started_at, 'UTC'), screen_id, ad_id, media_id
    ORDER BY 2, 3, 8, 10
    ON CONFLICT (fleet_id, hour, screen_id, ad_id, media_id) DO UPDATE SET
        plays = stats_hourlyplays.plays + EXCLUDED.plays,
        total_duration = stats_hourlyplays.total_duration + EXCLUDED.total_duration,
        screen_name = EXCLUDED.screen_name, place_id = EXCLUDED.place_id, place_name = EXCLUDED.place_name,
        timezone = EXCLUDED.timezone, ad_name = EXCLUDED.ad_name, media_name = EXCLUDED.media_name
), daily AS (
    INSERT INTO stats_dailyscreenplays (
        fleet_id, day, timezone, starts_at, ends_at, screen_id, screen_name, place_id, place_name, plays,
        total_duration
    )
    SELECT fleet_id, day, timezone, day::timestamp AT TIME ZONE timezone, (day + 1)::timestamp AT TIME ZONE timezone,
           screen_id, max(screen_name), max(place_id), max(place_name), count(*), sum(duration)
    FROM (SELECT *, timezone(timezone, started_at)::date AS day FROM inserted) AS local
    GROUP BY fleet_id, day, timezone, screen_id
    ORDER BY 2, 6
    ON CONFLICT (fleet_id, day, screen_id, timezone) DO UPDATE SET
        plays = stats_dailyscreenplays.plays + EXCLUDED.plays,
        total_duration = stats_dailyscreenplays.total_duration + EXCLUDED.total_duration,
        screen_name = EXCLUDED.screen_name, place_id = EXCLUDED.place_id, place_name = EXCLUDED.place_name
)
SELECT count(*) FROM inserted
"""

ROLLUP_REBUILD_SQL = """
INSERT INTO stats_hourlyplays (
    fleet_id, hour, screen_id, screen_name, place_id, place_name, timezone, ad_id, ad_name, media_id, media_type,
    media_name, plays, total_duration
)
SELECT fleet_id, date_trunc('hour', started_at, 'UTC'), screen_id, max(screen_name), max(place_id), max(place_name),
       max(timezone), ad_id, max(ad_name), media_id, max(media_type), max(media_name), count(*), sum(duration)
FROM stats_playevent
GROUP BY fleet_id, date_trunc('hour', started_at, 'UTC'), screen_id, ad_id, media_id
"""

DAILY_REBUILD_SQL = """
INSERT INTO stats_dailyscreenplays (
    fleet_id, day, timezone, starts_at, ends_at, screen_id, screen_name, place_id, place_name, plays, total_duration
)
SELECT fleet_id, day, timezone, day::timestamp AT TIME ZONE timezone, (day + 1)::timestamp AT TIME ZONE timezone,
       screen_id, max(screen_name), max(place_id), max(place_name), count(*), sum(duration)
FROM (SELECT *, timezone(timezone, started_at)::date AS day FROM stats_playevent) AS local
GROUP BY fleet_id, day, timezone, screen_id
"""


def _event_error(event: dict, message: str) -> str:
    return f"Event {event['id']}: {message}"


def _screen_timezone(device: Device) -> str:
    return device.screen.timezone or (device.fleet.timezone if device.fleet_id else "") or "UTC"


def play_events_check(*, device: Device, events: list[dict]) -> list[dict]:
    """The rows a batch would store, or a ValidationError naming each bad event: a media, campaign or
    broadcast that is not of the player's fleet (or does not exist), a broadcast of another campaign, a
    date in the future or before the player registered. Three queries whatever the batch size."""
    fleet_id = device.fleet_id
    media_keys = {event["id"]: parse_public_id(event.get("media") or "") for event in events}
    wanted_media = {key[1] for key in media_keys.values() if key}
    media = {
        row["pk"]: row
        for row in Media.objects.filter(pk__in=wanted_media, fleet_id=fleet_id).values("pk", "type", "name")
    }
    wanted_ads = {event["ad"] for event in events if event.get("ad")}
    ads = dict(Ad.objects.filter(pk__in=wanted_ads, fleet_id=fleet_id).values_list("pk", "name")) if wanted_ads else {}
    wanted_broadcasts = {event["broadcast"] for event in events if event.get("broadcast")}
    broadcasts = (
        dict(Broadcast.objects.filter(pk__in=wanted_broadcasts, ad__fleet_id=fleet_id).values_list("pk", "ad__name"))
        if wanted_broadcasts
        else {}
    )
    broadcast_ads = dict(Broadcast.objects.filter(pk__in=broadcasts).values_list("pk", "ad_id")) if broadcasts else {}

    now = timezone.now()
    skew = timedelta(seconds=settings.SIGNAGE_STATS_CLOCK_SKEW)
    registered = device.created if device.created else now
    errors, rows = [], []
    for event in events:
        key = media_keys[event["id"]]
        found = media.get(key[1]) if key else None
        ad_id, broadcast_id = event.get("ad"), event.get("broadcast")
        if found is None or found["type"] != key[0]:
            errors.append(_event_error(event, f"unknown media '{event.get('media')}' for this player's fleet."))
        elif ad_id and ad_id not in ads:
            errors.append(_event_error(event, f"unknown campaign '{ad_id}' for this player's fleet."))
        elif broadcast_id and broadcast_id not in broadcasts:
            errors.append(_event_error(event, f"unknown broadcast '{broadcast_id}' for this player's fleet."))
        elif broadcast_id and ad_id and broadcast_ads[broadcast_id] != ad_id:
            errors.append(_event_error(event, f"the broadcast '{broadcast_id}' is not of the campaign '{ad_id}'."))
        elif event["started_at"] > now + skew:
            errors.append(_event_error(event, "started_at is in the future."))
        elif event["started_at"] < registered - skew:
            errors.append(_event_error(event, "started_at is before this player registered."))
        else:
            if broadcast_id and not ad_id:
                ad_id = broadcast_ads[broadcast_id]
            rows.append(
                {
                    "event_id": event["id"],
                    "ad_id": ad_id,
                    "ad_name": (ads.get(ad_id) or broadcasts.get(broadcast_id) or "") if ad_id else "",
                    "broadcast_id": broadcast_id,
                    "media_id": found["pk"],
                    "media_type": found["type"],
                    "media_name": found["name"],
                    "started_at": event["started_at"],
                    "duration": event["duration"],
                }
            )
    if errors:
        raise ValidationError({"events": [ValidationError(message, code="invalid_event") for message in errors]})
    return rows


@transaction.atomic
def play_events_ingest(*, device: Device, events: list[dict]) -> int:
    """Store a batch of displays from a paired player, all or nothing: a batch with one bad event is
    refused whole (ValidationError naming the events). Events the player already sent (same event id and
    started_at) are skipped. Returns how many were new. On PostgreSQL the hourly rollup is updated in the
    same transaction, by the same statement."""
    # The player as it is now, with what the ledger copies (the protocol's authentication loads less).
    device = Device.objects.select_related("screen__place", "fleet").get(pk=device.pk)
    rows = play_events_check(device=device, events=events)
    screen = device.screen
    place = screen.place if screen.place_id else None
    constants = {
        "fleet_id": device.fleet_id,
        "device_id": device.pk,
        "device_name": device.name or device.uuid,
        "screen_id": screen.pk,
        "screen_name": screen.name,
        "place_id": screen.place_id,
        "place_name": place.name if place else "",
        "timezone": _screen_timezone(device),
        "received_at": timezone.now(),
    }
    if not rows:
        return 0
    if partitions.is_partitioned():
        params = {**constants, **{column: [row[column] for row in rows] for column in rows[0]}}
        with connection.cursor() as cursor:
            cursor.execute(INGEST_SQL, params)
            return cursor.fetchone()[0]
    # SQLite: a plain table, aggregates are computed from it. Writes are serialised by the database.
    seen = set(
        PlayEvent.objects.filter(
            fleet_id=device.fleet_id, device_id=device.pk, event_id__in=[row["event_id"] for row in rows]
        ).values_list("event_id", "started_at")
    )
    fresh, keys = [], set()
    for row in rows:
        key = (row["event_id"], row["started_at"])
        if key not in seen and key not in keys:
            keys.add(key)
            fresh.append(PlayEvent(**constants, **row))
    PlayEvent.objects.bulk_create(fresh, ignore_conflicts=True)
    return len(fresh)


def rollup_rebuild() -> None:
    """Recompute the hourly and daily rollups from the raw events (PostgreSQL; after a migration or a
    restore). Raw partitions already dropped by the retention are no longer counted."""
    if not partitions.is_partitioned():
        return
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM stats_hourlyplays")
        cursor.execute(ROLLUP_REBUILD_SQL)
        cursor.execute("DELETE FROM stats_dailyscreenplays")
        cursor.execute(DAILY_REBUILD_SQL)


def stats_storage_maintain(*, today=None) -> dict:
    """Create the coming months' partitions and drop raw events past the retention (rollups stay)."""
    today = today or timezone.now().date()
    created = partitions.partitions_ensure(start=today, months_ahead=settings.SIGNAGE_STATS_PARTITIONS_AHEAD)
    dropped = []
    if settings.SIGNAGE_STATS_RETENTION_DAYS:
        dropped = partitions.partitions_drop_before(
            cutoff=today - timedelta(days=settings.SIGNAGE_STATS_RETENTION_DAYS)
        )
    return {"created": created, "dropped": dropped}
