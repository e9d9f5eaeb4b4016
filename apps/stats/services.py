"""Writing the proof-of-play ledger: batches from players, the hourly rollup, retention."""

import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.utils import timezone

from apps.ads.models import Ad, Broadcast
from apps.devices.models import Device
from apps.media.models import Media, parse_public_id
from apps.places.models import Place

from . import partitions
from .models import PlayEvent

INSERT_COLUMNS = (
    "fleet_id", "event_id", "device_id", "device_name", "screen_id", "screen_name", "place_id", "place_name",
    "timezone", "ad_id", "ad_name", "broadcast_id", "media_id", "media_type", "media_name", "started_at",
    "duration", "received_at",
)  # fmt: skip

# One statement per batch on PostgreSQL: the events arrive as one array literal per column (parsed by
# PostgreSQL in C; psycopg would adapt lists a value at a time, in Python) and the names of their few
# campaigns and media as small arrays; they are inserted once per (fleet, player, event id, started_at)
# and the rows actually inserted feed the rollups' upserts, in the same transaction. Rollup rows are
# upserted in key order, so two batches touching the same hours lock them in the same order.
INGEST_SQL = """
WITH events AS (
    SELECT * FROM unnest(
        %(event_id)s::uuid[], %(ad_id)s::uuid[], %(broadcast_id)s::uuid[], %(media_id)s::bigint[],
        %(started_at)s::timestamptz[], %(duration)s::float8[]
    ) AS t(event_id, ad_id, broadcast_id, media_id, started_at, duration)
), ads AS (
    SELECT * FROM unnest(%(ad_ids)s::uuid[], %(ad_names)s::text[]) AS a(id, name)
), media AS (
    SELECT * FROM unnest(%(media_ids)s::bigint[], %(media_types)s::text[], %(media_names)s::text[]) AS m(id, type, name)
), incoming AS (
    SELECT e.event_id, e.ad_id, COALESCE(a.name, '') AS ad_name, e.broadcast_id, e.media_id, m.type AS media_type,
           m.name AS media_name, e.started_at, e.duration
    FROM events e JOIN media m ON m.id = e.media_id LEFT JOIN ads a ON a.id = e.ad_id
), inserted AS (
    INSERT INTO stats_playevent (
        fleet_id, event_id, device_id, device_name, screen_id, screen_name, place_id, place_name, timezone,
        ad_id, ad_name, broadcast_id, media_id, media_type, media_name, started_at, duration, received_at
    )
    SELECT %(fleet_id)s::bigint, event_id, %(device_id)s::bigint, %(device_name)s::text, %(screen_id)s::uuid,
           %(screen_name)s::text, %(place_id)s::bigint, %(place_name)s::text, %(timezone)s::text, ad_id, ad_name,
           broadcast_id, media_id, media_type, media_name, started_at, duration, %(received_at)s::timestamptz
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


@dataclass
class CheckedBatch:
    """A batch that passed play_events_check: its events column by column (uuids as text, started_at as
    the datetimes and as ISO text), and the names of the campaigns and media they name."""

    event_id: list[str] = field(default_factory=list)
    ad_id: list[str | None] = field(default_factory=list)
    broadcast_id: list[str | None] = field(default_factory=list)
    media_id: list[int] = field(default_factory=list)
    started_at: list[datetime] = field(default_factory=list)
    started_text: list[str] = field(default_factory=list)
    duration: list[float] = field(default_factory=list)
    ad_names: dict[str, str] = field(default_factory=dict)
    media: dict[int, tuple[str, str]] = field(default_factory=dict)  # id: (type, name)
    place_name: str = ""  # of the player's screen's place

    def sql_params(self) -> dict:
        """INGEST_SQL's parameters: an array literal per column (uuids, numbers and ISO dates need no
        quoting in one; NULL is a bare word), lists for the names."""

        def literal(values) -> str:
            return "{" + ",".join("NULL" if value is None else str(value) for value in values) + "}"

        return {
            "event_id": "{" + ",".join(self.event_id) + "}",
            "ad_id": literal(self.ad_id),
            "broadcast_id": literal(self.broadcast_id),
            "media_id": literal(self.media_id),
            "started_at": "{" + ",".join(self.started_text) + "}",
            "duration": literal(self.duration),
            "ad_ids": list(self.ad_names),
            "ad_names": list(self.ad_names.values()),
            "media_ids": list(self.media),
            "media_types": [kind for kind, _ in self.media.values()],
            "media_names": [name for _, name in self.media.values()],
        }

    def rows(self) -> list[dict]:
        """The events as PlayEvent fields (the plain-table path of SQLite)."""
        return [
            {
                "event_id": uuid.UUID(event_id),
                "ad_id": ad_id,
                "ad_name": self.ad_names.get(ad_id, "") if ad_id else "",
                "broadcast_id": broadcast_id,
                "media_id": media_id,
                "media_type": self.media[media_id][0],
                "media_name": self.media[media_id][1],
                "started_at": started_at,
                "duration": duration,
            }
            for event_id, ad_id, broadcast_id, media_id, started_at, duration in zip(
                self.event_id, self.ad_id, self.broadcast_id, self.media_id, self.started_at, self.duration, strict=True
            )
        ]


def _named(*, fleet_id, media: set, ads: set, broadcasts: set, place_id) -> tuple[dict, dict, dict, str]:
    """Of the fleet's media, campaigns and broadcasts with these ids: {media id: (type, name)}, {campaign id:
    name}, {broadcast id: (campaign id, campaign name)} (ids as text), and the place's name ("" if none).
    One statement on PostgreSQL (its SQL written once), one query per kind elsewhere."""
    if connection.vendor == "postgresql":
        found: dict = {"media": {}, "ad": {}, "broadcast": {}, "place": {}}
        with connection.cursor() as cursor:
            cursor.execute(
                _named_sql(),
                {"fleet": fleet_id, "media": list(media), "ads": list(ads), "broadcasts": list(broadcasts),
                 "place": place_id},
            )  # fmt: skip
            for kind, pk, first, second in cursor.fetchall():
                found[kind][pk] = (first, second)
        return (
            {int(pk): values for pk, values in found["media"].items()},
            {pk: name for pk, (name, _) in found["ad"].items()},
            found["broadcast"],
            next(iter(found["place"].values()), ("", None))[0],
        )
    named_media = {
        pk: (kind, name)
        for pk, kind, name in Media.objects.filter(pk__in=media, fleet_id=fleet_id).values_list("pk", "type", "name")
    }
    named_ads = {
        str(pk): name for pk, name in Ad.objects.filter(pk__in=ads, fleet_id=fleet_id).values_list("pk", "name")
    }
    named_broadcasts = {
        str(pk): (str(ad_id), ad_name)
        for pk, ad_id, ad_name in Broadcast.objects.filter(pk__in=broadcasts, ad__fleet_id=fleet_id).values_list(
            "pk", "ad_id", "ad__name"
        )
    }
    place = Place.objects.filter(pk=place_id).values_list("name", flat=True).first() if place_id else None
    return named_media, named_ads, named_broadcasts, place or ""


_named_sqls: dict = {}


def _named_sql() -> str:
    """`_named`'s statement on PostgreSQL, with the models' tables (their columns: id, fleet_id, type, name,
    ad_id)."""
    sql = _named_sqls.get("postgresql")
    if sql is None:
        media, ads, broadcasts, places = (model._meta.db_table for model in (Media, Ad, Broadcast, Place))
        sql = _named_sqls["postgresql"] = f"""
            SELECT 'media', m.id::text, m.type::text, m.name::text FROM {media} m
            WHERE m.fleet_id = %(fleet)s AND m.id = ANY(%(media)s::bigint[])
            UNION ALL
            SELECT 'ad', a.id::text, a.name::text, NULL FROM {ads} a
            WHERE a.fleet_id = %(fleet)s AND a.id = ANY(%(ads)s::uuid[])
            UNION ALL
            SELECT 'broadcast', b.id::text, b.ad_id::text, a.name::text FROM {broadcasts} b
            JOIN {ads} a ON a.id = b.ad_id WHERE a.fleet_id = %(fleet)s AND b.id = ANY(%(broadcasts)s::uuid[])
            UNION ALL
            SELECT 'place', p.id::text, p.name::text, NULL FROM {places} p WHERE p.id = %(place)s
        """
    return sql


def play_events_check(*, device: Device, events: list[dict]) -> CheckedBatch:
    """The batch as it would be stored, or a ValidationError naming each bad event: a media, campaign or
    broadcast that is not of the player's fleet (or does not exist), a broadcast of another campaign, a
    date in the future or before the player registered. Events come from protocol.parse_batch (uuids as
    text, `started_text` the date as ISO text). One statement whatever the batch size on PostgreSQL
    (`_named`), its place's name with it."""
    media_keys = {name: parse_public_id(name) for name in {event["media"] for event in events}}
    media, ads, broadcasts, place_name = _named(
        fleet_id=device.fleet_id,
        media={key[1] for key in media_keys.values() if key},
        ads={event["ad"] for event in events if event["ad"]},
        broadcasts={event["broadcast"] for event in events if event["broadcast"]},
        place_id=device.screen.place_id,
    )
    # Each media name of the batch: its id when it is this fleet's, else None.
    media_ids = {}
    for name, key in media_keys.items():
        found = media.get(key[1]) if key else None
        media_ids[name] = key[1] if found is not None and found[0] == key[0] else None

    now = timezone.now()
    skew = timedelta(seconds=settings.SIGNAGE_STATS_CLOCK_SKEW)
    latest, earliest = now + skew, (device.created if device.created else now) - skew
    errors = []
    batch = CheckedBatch(
        ad_names={**{ad_id: name for ad_id, name in broadcasts.values()}, **ads},
        media={pk: media[pk] for pk in media_ids.values() if pk is not None},
        place_name=place_name,
    )
    for event in events:
        media_id = media_ids[event["media"]]
        ad_id, broadcast_id, started_at = event["ad"], event["broadcast"], event["started_at"]
        if media_id is None:
            errors.append(_event_error(event, f"unknown media '{event['media']}' for this player's fleet."))
        elif ad_id and ad_id not in ads:
            errors.append(_event_error(event, f"unknown campaign '{ad_id}' for this player's fleet."))
        elif broadcast_id and broadcast_id not in broadcasts:
            errors.append(_event_error(event, f"unknown broadcast '{broadcast_id}' for this player's fleet."))
        elif broadcast_id and ad_id and broadcasts[broadcast_id][0] != ad_id:
            errors.append(_event_error(event, f"the broadcast '{broadcast_id}' is not of the campaign '{ad_id}'."))
        elif started_at > latest:
            errors.append(_event_error(event, "started_at is in the future."))
        elif started_at < earliest:
            errors.append(_event_error(event, "started_at is before this player registered."))
        elif not errors:
            batch.event_id.append(event["id"])
            batch.ad_id.append(broadcasts[broadcast_id][0] if broadcast_id else ad_id)
            batch.broadcast_id.append(broadcast_id)
            batch.media_id.append(media_id)
            batch.started_at.append(started_at)
            batch.started_text.append(event["started_text"])
            batch.duration.append(event["duration"])
    if errors:
        raise ValidationError({"events": [ValidationError(message, code="invalid_event") for message in errors]})
    return batch


@transaction.atomic
def play_events_ingest(*, device: Device, events: list[dict]) -> int:
    """Store a batch of displays from a paired player, all or nothing: a batch with one bad event is
    refused whole (ValidationError naming the events). Events the player already sent (same event id and
    started_at) are skipped. Returns how many were new. On PostgreSQL the hourly and daily rollups are
    updated in the same transaction, by the same statement."""
    # The player as its authentication loaded it in this request (authentication.PROTOCOL_FIELDS holds what
    # the ledger copies); its place's name is read with the names of the events' media and campaigns.
    batch = play_events_check(device=device, events=events)
    screen = device.screen
    constants = {
        "fleet_id": device.fleet_id,
        "device_id": device.pk,
        "device_name": device.name or device.uuid,
        "screen_id": screen.pk,
        "screen_name": screen.name,
        "place_id": screen.place_id,
        "place_name": batch.place_name,
        "timezone": _screen_timezone(device),
        "received_at": timezone.now(),
    }
    if not batch.event_id:
        return 0
    if partitions.is_partitioned():
        with connection.cursor() as cursor:
            cursor.execute(INGEST_SQL, {**constants, **batch.sql_params()})
            return cursor.fetchone()[0]
    # SQLite: a plain table, aggregates are computed from it. Writes are serialised by the database.
    rows = batch.rows()
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
