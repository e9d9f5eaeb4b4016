"""Reading the proof-of-play ledger: raw displays (keyset pages, streamed rows) and aggregates.

Every query is keyed by the principal's fleet ids (`fleet_id = %s`, or `= ANY(...)` for several), so a
Citus cluster routes it to the fleet's shard. On PostgreSQL aggregates read the hourly rollup when the
filters and the range allow it (hour-aligned bounds; no player or broadcast filter), else the raw
partitions of the range; on SQLite they are computed from the raw rows.
"""

import base64
import zoneinfo
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from django.db import connection, transaction
from django.db.models import Q, QuerySet

from apps.accounts import principals, scoping
from apps.media.models import public_id, public_id_sql
from apps.screens.models import Screen, ScreenGroup

from . import partitions
from .models import PlayEvent

DIMENSIONS = ("screen", "campaign", "media", "place", "screen_group", "date", "hour", "weekday")
MEASURES = ("count", "total_duration", "screens")

DISPLAY_COLUMNS = (
    "id", "event_id", "started_at", "duration", "screen", "screen_name", "player", "player_name", "place",
    "place_name", "campaign", "campaign_name", "broadcast", "media", "media_name", "timezone", "received_at",
)  # fmt: skip

# (output name, ledger column) of the id and name of each entity dimension.
ENTITY_COLUMNS = {
    "screen": ("screen_id", "screen_name"),
    "campaign": ("ad_id", "ad_name"),
    "place": ("place_id", "place_name"),
}


@dataclass
class StatsQuery:
    """What a statistics request asks, already validated: fleets, range, filters."""

    fleet_ids: list[int]
    since: datetime
    until: datetime
    screens: list = field(default_factory=list)
    players: list = field(default_factory=list)
    campaigns: list = field(default_factory=list)
    broadcasts: list = field(default_factory=list)
    medias: list = field(default_factory=list)  # media ids (the public id's number)
    places: list = field(default_factory=list)
    screen_groups: list = field(default_factory=list)
    tz: str | None = None


def fleet_ids_of(user, wanted: list[int] | None = None) -> list[int]:
    """The fleets whose statistics `user` may read (one query, or none when the principal cache holds
    them), cut to `wanted` when given."""
    fleets = principals.fleet_ids(user, lambda: list(scoping.fleets_of(user).values_list("pk", flat=True)))
    return [pk for pk in fleets if pk in wanted] if wanted else fleets


def group_screens(group_ids: list[int]):
    """Screens that are members of the groups now (groups are read as they are today)."""
    return Screen.groups.through.objects.filter(screengroup_id__in=group_ids).values("screen_id")


# --- displays --------------------------------------------------------------------------------------------


def events(query: StatsQuery) -> QuerySet[PlayEvent]:
    filters = Q(started_at__gte=query.since, started_at__lt=query.until)
    for values, column in (
        (query.screens, "screen_id"),
        (query.players, "device_id"),
        (query.campaigns, "ad_id"),
        (query.broadcasts, "broadcast_id"),
        (query.medias, "media_id"),
        (query.places, "place_id"),
    ):
        if values:
            filters &= Q(**{f"{column}__in": values})
    if query.screen_groups:
        filters &= Q(screen_id__in=group_screens(query.screen_groups))
    return PlayEvent.objects.of_fleets(query.fleet_ids).filter(filters)


def encode_cursor(started_at: datetime | str, pk: int) -> str:
    """`started_at` as a datetime, or as its isoformat() text (PostgreSQL's pages write it so)."""
    moment = started_at if isinstance(started_at, str) else started_at.isoformat()
    return base64.urlsafe_b64encode(f"{moment}|{pk}".encode()).decode()


def decode_cursor(value: str) -> tuple[datetime, int] | None:
    try:
        text = base64.urlsafe_b64decode(value.encode("ascii")).decode()
        moment, pk = text.split("|")
        started_at = datetime.fromisoformat(moment)
        if started_at.tzinfo is None or not 0 < int(pk) < 2**63:
            return None
        return started_at, int(pk)
    except (ValueError, UnicodeError):
        return None


RAW_COLUMNS = (
    "id", "event_id", "started_at", "duration", "screen_id", "screen_name", "device_id", "device_name", "place_id",
    "place_name", "ad_id", "ad_name", "broadcast_id", "media_type", "media_id", "media_name", "timezone",
    "received_at",
)  # fmt: skip


def _iso_sql(column: str) -> str:
    """SQL writing a timestamp as Python's isoformat() of its UTC datetime (microseconds only when some)."""
    utc = f"({column} AT TIME ZONE 'UTC')"
    return (
        f"to_char({utc}, 'YYYY-MM-DD\"T\"HH24:MI:SS') || CASE WHEN date_part('microseconds', {utc})::int "
        f"%% 1000000 = 0 THEN '' ELSE to_char({utc}, '.US') END || '+00:00'"
    )


# The same columns in SQL, uuids and dates as text (PostgreSQL writes them faster than Python reads them
# into objects and writes them again; no column is named after a table's, so ORDER BY reads the table's).
PAGE_COLUMNS = ", ".join(
    f"{column}::text" if column in ("event_id", "screen_id", "ad_id", "broadcast_id")
    else _iso_sql(column) if column in ("started_at", "received_at")
    else column
    for column in RAW_COLUMNS
)  # fmt: skip


def displays_page(query: StatsQuery, *, newest_first: bool, limit: int, after: tuple | None) -> tuple[list, str | None]:
    """One page of events ordered by (started_at, id), after a keyset position: rows inserted meanwhile
    never shift a page. Returns the rows (display_row's dicts) and the next cursor (None on the last page).
    One query: on PostgreSQL written here (a row comparison, which the (screen, started_at) and (fleet,
    started_at, id) indexes bound), elsewhere through the ORM."""
    if partitions.is_partitioned():
        where, params = _filters(query, raw=True)
        where.append("started_at >= %s AND started_at < %s")
        params += [query.since, query.until]
        direction = "DESC" if newest_first else "ASC"
        if after is not None:
            where.append(f"(started_at, id) {'<' if newest_first else '>'} (%s, %s)")
            params += list(after)
        sql = (
            f"SELECT {PAGE_COLUMNS} FROM stats_playevent WHERE {' AND '.join(where)} "
            f"ORDER BY started_at {direction}, id {direction} LIMIT %s"
        )
        with connection.cursor() as cursor:
            cursor.execute(sql, [*params, limit + 1])
            rows = cursor.fetchall()
    else:
        qs = events(query)
        if after is not None:
            moment, pk = after
            if newest_first:
                qs = qs.filter(Q(started_at__lt=moment) | Q(started_at=moment, id__lt=pk))
            else:
                qs = qs.filter(Q(started_at__gt=moment) | Q(started_at=moment, id__gt=pk))
        order = ("-started_at", "-id") if newest_first else ("started_at", "id")
        rows = list(qs.order_by(*order).values_list(*RAW_COLUMNS)[: limit + 1])
    next_cursor = encode_cursor(rows[limit - 1][2], rows[limit - 1][0]) if len(rows) > limit else None
    return [display_row(row) for row in rows[:limit]], next_cursor


def _iso(moment: datetime | str) -> str:
    """A datetime (or its isoformat() text) as the API writes it (DRF's encoder: ISO 8601, `Z` for UTC)."""
    text = moment if isinstance(moment, str) else moment.isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


def _text(value) -> str | None:
    return None if value is None else str(value)


def display_row(row: tuple) -> dict:
    """A display as the API gives it, from its RAW_COLUMNS."""
    (pk, event_id, started_at, duration, screen_id, screen_name, device_id, device_name, place_id, place_name,
     ad_id, ad_name, broadcast_id, media_type, media_id, media_name, tz, received_at) = row  # fmt: skip
    return {
        "id": pk,
        "event_id": str(event_id),
        "started_at": _iso(started_at),
        "duration": duration,
        "screen": str(screen_id),
        "screen_name": screen_name,
        "player": device_id,
        "player_name": device_name,
        "place": place_id,
        "place_name": place_name,
        "campaign": _text(ad_id),
        "campaign_name": ad_name or None,
        "broadcast": _text(broadcast_id),
        "media": public_id(media_type, media_id),
        "media_name": media_name,
        "timezone": tz,
        "received_at": _iso(received_at),
    }


# The CSV columns of a display (DISPLAY_COLUMNS) as PostgreSQL writes them: uuids, dates and the media id
# as text, absent ids as ''.
CSV_COLUMNS = ", ".join(
    [
        "id", "event_id::text", _iso_sql("started_at"), "duration", "screen_id::text", "screen_name", "device_id",
        "device_name", "coalesce(place_id::text, '')", "place_name", "coalesce(ad_id::text, '')", "ad_name",
        "coalesce(broadcast_id::text, '')", public_id_sql("media_type", "media_id"), "media_name", "timezone",
        _iso_sql("received_at"),
    ]
)  # fmt: skip


def displays_rows(query: StatsQuery, *, newest_first: bool) -> Iterator[tuple]:
    """Every event of the query as a CSV row (DISPLAY_COLUMNS), read through a server-side cursor: memory
    stays flat however many rows. On PostgreSQL the rows come written as text (a million datetimes and
    uuids made into Python objects, then back into text, took most of an export's time)."""
    if partitions.is_partitioned():
        where, params = _filters(query, raw=True)
        where.append("started_at >= %s AND started_at < %s")
        direction = "DESC" if newest_first else "ASC"
        sql = (
            f"SELECT {CSV_COLUMNS} FROM stats_playevent WHERE {' AND '.join(where)} "
            f"ORDER BY started_at {direction}, id {direction}"
        )
        yield from _stream_sql(sql, [*params, query.since, query.until])
        return
    order = ("-started_at", "-id") if newest_first else ("started_at", "id")
    for row in events(query).order_by(*order).values_list(*RAW_COLUMNS).iterator(chunk_size=5000):
        (pk, event_id, started_at, duration, screen_id, screen_name, device_id, device_name, place_id,
         place_name, ad_id, ad_name, broadcast_id, media_type, media_id, media_name, tz, received_at) = row  # fmt: skip
        yield (
            pk, event_id, started_at.isoformat(), duration, screen_id, screen_name, device_id, device_name,
            place_id if place_id is not None else "", place_name, ad_id or "", ad_name, broadcast_id or "",
            public_id(media_type, media_id), media_name, tz, received_at.isoformat(),
        )  # fmt: skip


# --- aggregates ---------------------------------------------------------------------------------------


def aggregate_columns(group_by: list[str]) -> list[str]:
    """The columns of an aggregate row, in order: each dimension's id (and name), then the measures."""
    columns = []
    for dimension in group_by:
        columns.append(dimension)
        if dimension in ("screen", "campaign", "place", "media", "screen_group"):
            columns.append(f"{dimension}_name")
    return [*columns, *MEASURES]


def _on_hour(moment: datetime) -> bool:
    moment = moment.astimezone(UTC)
    return moment.minute == 0 and moment.second == 0 and moment.microsecond == 0


def source_of(query: StatsQuery, group_by: list[str]) -> str:
    """Which table an aggregate reads on PostgreSQL: `daily` (screen-days, plus the hours of days the
    range cuts) for groups and filters of screens, places and dates; `hourly` for campaigns and media;
    `raw` for players, broadcasts and ranges cut inside an hour."""
    if query.players or query.broadcasts or not (_on_hour(query.since) and _on_hour(query.until)):
        return "raw"
    if query.tz or query.campaigns or query.medias or not set(group_by) <= DAILY_DIMENSIONS:
        return "hourly"
    return "daily"


def uses_rollup(query: StatsQuery) -> bool:
    return partitions.is_partitioned() and source_of(query, []) != "raw"


DAILY_DIMENSIONS = {"screen", "place", "screen_group", "date", "weekday"}
SOURCE_COLUMNS = "screen_id, screen_name, place_id, place_name"


def _filters(query: StatsQuery, *, raw: bool) -> tuple[list[str], list]:
    """WHERE terms (and their parameters) of the fleet and entity filters, shared by every source."""
    # One fleet (the usual case) as an equality: an index on (fleet_id, ...) then also gives its order.
    if len(query.fleet_ids) == 1:
        where, params = ["fleet_id = %s"], [query.fleet_ids[0]]
    else:
        where, params = ["fleet_id = ANY(%s)"], [query.fleet_ids]
    pairs = [(query.screens, "screen_id"), (query.places, "place_id")]
    if raw or query.campaigns or query.medias:
        pairs += [(query.campaigns, "ad_id"), (query.medias, "media_id")]
    if raw:
        pairs += [(query.players, "device_id"), (query.broadcasts, "broadcast_id")]
    for values, column in pairs:
        if values:
            where.append(f"{column} = ANY(%s)")
            params.append(list(values))
    if query.screen_groups:
        through = Screen.groups.through._meta.db_table
        where.append(f"screen_id IN (SELECT screen_id FROM {through} WHERE screengroup_id = ANY(%s))")
        params.append(list(query.screen_groups))
    return where, params


def _source_sql(query: StatsQuery, group_by: list[str]) -> tuple[str, list]:
    """A subquery of rows (screen, place, campaign, media, local time, plays, duration) covering exactly
    the query's range, from the cheapest table that can answer it."""
    source = source_of(query, group_by)
    where, params = _filters(query, raw=source == "raw")
    terms = " AND ".join(where)
    if source == "raw":
        sql = (
            f"SELECT {SOURCE_COLUMNS}, ad_id, ad_name, media_type, media_id, media_name, "
            "timezone(COALESCE(%s::text, timezone), started_at) AS local, 1 AS plays, duration "
            f"FROM stats_playevent WHERE {terms} AND started_at >= %s AND started_at < %s"
        )
        return sql, [query.tz, *params, query.since, query.until]
    if source == "hourly":
        sql = (
            f"SELECT {SOURCE_COLUMNS}, ad_id, ad_name, media_type, media_id, media_name, "
            "timezone(COALESCE(%s::text, timezone), hour) AS local, plays, total_duration AS duration "
            f"FROM stats_hourlyplays WHERE {terms} AND hour >= %s AND hour < %s"
        )
        return sql, [query.tz, *params, query.since, query.until]
    # Whole days of each screen's timezone from the daily rollup, and from the hourly one the hours of
    # the days the range cuts: per timezone met in the range, before its first local midnight and after
    # its last (whole UTC hours around them; the day test below keeps it exact).
    # The daily rows also give their day as a date (`day`), so that groups of screens and dates follow the
    # rollup's (fleet, screen, day) index.
    day_start = "(date_trunc('day', timezone(timezone, hour)) AT TIME ZONE timezone)"
    day_end = "((date_trunc('day', timezone(timezone, hour)) + interval '1 day') AT TIME ZONE timezone)"
    edges, edge_params = [], []
    for zone in _zones(query):
        first, last = _midnights(zone, query.since, query.until)
        # two ranges of hours (not `hour < first OR hour >= last`), which the planner estimates right
        for start, end in ((query.since, first), (last, query.until)):
            if start < end:
                edges.append("(timezone = %s AND hour >= %s AND hour < %s)")
                edge_params += [zone, start, end]
    bounds = [query.since, query.until]
    sql = (
        f"SELECT {SOURCE_COLUMNS}, NULL::uuid AS ad_id, '' AS ad_name, '' AS media_type, 0 AS media_id, "
        "'' AS media_name, day::timestamp AS local, day, plays, total_duration AS duration "
        f"FROM stats_dailyscreenplays WHERE {terms} AND day >= (%s::timestamptz AT TIME ZONE 'UTC')::date - 1 "
        "AND day <= (%s::timestamptz AT TIME ZONE 'UTC')::date + 1 AND starts_at >= %s AND ends_at <= %s"
    )
    if not edges:  # the range starts and ends on local midnights: whole days only
        return sql, [*params, *bounds, *bounds]
    sql += (
        " UNION ALL "
        f"SELECT {SOURCE_COLUMNS}, NULL::uuid, '', '', 0, '', timezone(timezone, hour), "
        f"timezone(timezone, hour)::date, plays, total_duration FROM stats_hourlyplays WHERE {terms} "
        f"AND hour >= %s AND hour < %s AND ({' OR '.join(edges)}) AND NOT ({day_start} >= %s AND {day_end} <= %s)"
    )
    return sql, [*params, *bounds, *bounds, *params, *bounds, *edge_params, *bounds]


def _zones(query: StatsQuery) -> list[str]:
    """The screens' timezones met on the days the range may cut (from the daily rollup's key index): the
    local days around its two ends. A zone of hours cut at an end has plays on a local day within a day
    of that end's UTC date; the days between are whole in every zone."""
    since, until = query.since.astimezone(UTC).date(), query.until.astimezone(UTC).date()
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT DISTINCT timezone FROM stats_dailyscreenplays WHERE fleet_id = ANY(%s) "
            "AND (day >= %s::date - 1 AND day <= %s::date + 1 OR day >= %s::date - 1 AND day <= %s::date + 1)",
            [query.fleet_ids, since, since, until, until],
        )
        return [row[0] for row in cursor.fetchall()]


def _midnights(zone: str, since: datetime, until: datetime) -> tuple[datetime, datetime]:
    """The UTC hours around the first local midnight at or after `since` and the last at or before
    `until` in `zone` (the first rounded up, the last down); the whole range when no day fits."""
    tz = zoneinfo.ZoneInfo(zone)
    local = since.astimezone(tz)
    first = datetime.combine(local.date(), datetime.min.time(), tz)
    if first < since:
        first = datetime.combine(local.date() + timedelta(days=1), datetime.min.time(), tz)
    last = datetime.combine(until.astimezone(tz).date(), datetime.min.time(), tz)
    first, last = first.astimezone(UTC), last.astimezone(UTC)
    if first >= last:
        return until, since  # no whole day: every hour of the range is an edge
    up = first.replace(minute=0, second=0, microsecond=0)
    if up < first:
        up += timedelta(hours=1)
    return up, last.replace(minute=0, second=0, microsecond=0)


def _sql_aggregate(query: StatsQuery, group_by: list[str], *, limit: int | None, offset: int) -> tuple[str, list]:
    """Groups in two steps: per group and screen (hash aggregation), then per group, so that distinct
    screens are a count of rows rather than a COUNT(DISTINCT) sort."""
    # Groups are hashed and sorted on the native uuids and dates (a sort of their text would compare by
    # the collation, several times slower, in the same order), which come out as text: the rows go to
    # JSON or CSV as they are.
    keys, names, joins, as_text = [], [], "", set()
    daily = source_of(query, group_by) == "daily"
    for dimension in group_by:
        if dimension in ENTITY_COLUMNS:
            id_column, name_column = ENTITY_COLUMNS[dimension]
            if id_column in ("screen_id", "ad_id"):
                as_text.add(len(keys))
            keys.append(f"e.{id_column}")
            names.append((len(keys) - 1, f"e.{name_column}"))
        elif dimension == "media":
            keys.append(public_id_sql("e.media_type", "e.media_id"))
            names.append((len(keys) - 1, "e.media_name"))
        elif dimension == "screen_group":
            through = Screen.groups.through._meta.db_table
            joins = (
                f" LEFT JOIN {through} sgm ON sgm.screen_id = e.screen_id"
                f" LEFT JOIN {ScreenGroup._meta.db_table} sg ON sg.id = sgm.screengroup_id"
            )
            keys.append("sg.id")
            names.append((len(keys) - 1, "sg.name"))
        else:
            if dimension == "date":
                as_text.add(len(keys))
            keys.append(
                {
                    "date": "e.day" if daily else "e.local::date",
                    "hour": "extract(hour FROM e.local)::int",
                    "weekday": "extract(isodow FROM e.local)::int",
                }[dimension]
            )
    source, params = _source_sql(query, group_by)
    if "screen" in group_by and "screen_group" not in group_by:
        # One screen per group: no distinct count to make, one aggregation.
        select = []
        for i, key in enumerate(keys):
            select.append(f"{key}::text" if i in as_text else key)
            select += [f"max({name})" for j, name in names if j == i]
        select += ["sum(e.plays)::bigint", "sum(e.duration)::float8", "1"]
        order = ", ".join(keys)
        sql = f"SELECT {', '.join(select)} FROM ({source}) e GROUP BY {order} ORDER BY {order}"
        if limit is not None:
            sql += " LIMIT %s OFFSET %s"
            params = [*params, limit, offset]
        return sql, params
    inner_select = [f"{key} AS k{i}" for i, key in enumerate(keys)]
    inner_select += [f"max({name}) AS n{i}" for i, name in names]
    inner_select += ["sum(e.plays) AS plays", "sum(e.duration) AS duration"]
    inner_group = [*(f"k{i}" for i in range(len(keys))), "e.screen_id"]
    inner = f"SELECT {', '.join(inner_select)} FROM ({source}) e{joins} GROUP BY {', '.join(inner_group)}"
    named = dict(names)
    outer_select = []
    for i in range(len(keys)):
        outer_select.append(f"g.k{i}::text" if i in as_text else f"g.k{i}")
        if i in named:
            outer_select.append(f"max(g.n{i})")
    outer_select += ["sum(g.plays)::bigint", "sum(g.duration)::float8", "count(*)"]
    sql = f"SELECT {', '.join(outer_select)} FROM ({inner}) g"
    if keys:
        order = ", ".join(f"g.k{i}" for i in range(len(keys)))
        sql += f" GROUP BY {order} ORDER BY {order}"
    if limit is not None:
        sql += " LIMIT %s OFFSET %s"
        params = [*params, limit, offset]
    return sql, params


def _sqlite_aggregate(query: StatsQuery, group_by: list[str]) -> list[tuple]:
    """The same groups computed in Python from the raw rows (the embedded database only)."""
    memberships: dict = {}
    if "screen_group" in group_by:
        for screen_id, group_id, name in Screen.groups.through.objects.values_list(
            "screen_id", "screengroup_id", "screengroup__name"
        ):
            memberships.setdefault(screen_id, []).append((group_id, name))
    zones: dict = {}
    groups: dict = {}
    columns = ("screen_id", "screen_name", "ad_id", "ad_name", "place_id", "place_name", "media_type", "media_id",
               "media_name", "timezone", "started_at", "duration")  # fmt: skip
    for row in events(query).values_list(*columns).iterator(chunk_size=5000):
        record = dict(zip(columns, row, strict=True))
        zone_name = query.tz or record["timezone"]
        zone = zones.get(zone_name) or zones.setdefault(zone_name, zoneinfo.ZoneInfo(zone_name))
        local = record["started_at"].astimezone(zone)
        variants: list[tuple[tuple, tuple]] = [((), ())]
        for dimension in group_by:
            if dimension in ENTITY_COLUMNS:
                id_column, name_column = ENTITY_COLUMNS[dimension]
                options = [(record[id_column], record[name_column])]
            elif dimension == "media":
                options = [(public_id(record["media_type"], record["media_id"]), record["media_name"])]
            elif dimension == "screen_group":
                options = memberships.get(record["screen_id"]) or [(None, None)]
            else:
                value = {"date": local.date(), "hour": local.hour, "weekday": local.isoweekday()}[dimension]
                options = [(value, None)]
            variants = [
                ((*key, option[0]), names + ((option[1],) if dimension not in ("date", "hour", "weekday") else ()))
                for key, names in variants
                for option in options
            ]
        for key, names in variants:
            entry = groups.setdefault(key, {"names": names, "count": 0, "duration": 0.0, "screens": set()})
            entry["names"] = tuple(max(a, b) if a is not None and b is not None else a or b
                                   for a, b in zip(entry["names"], names, strict=True))  # fmt: skip
            entry["count"] += 1
            entry["duration"] += record["duration"]
            entry["screens"].add(record["screen_id"])
    rows = []
    for key in sorted(groups, key=lambda k: tuple((v is None, v if v is not None else 0) for v in k)):
        entry, names, out = groups[key], iter(groups[key]["names"]), []
        for dimension, value in zip(group_by, key, strict=True):
            out.append(value)
            if dimension not in ("date", "hour", "weekday"):
                out.append(next(names))
        rows.append((*out, entry["count"], entry["duration"], len(entry["screens"])))
    return rows


def _normalise(columns: list[str], row: tuple) -> dict:
    values = dict(zip(columns, row, strict=True))
    for dimension in ("screen", "campaign"):  # SQLite gives uuids and dates as objects, PostgreSQL as text
        value = values.get(dimension)
        if value is not None and not isinstance(value, str):
            values[dimension] = str(value)
    if values.get("date") is not None and not isinstance(values["date"], str):
        values["date"] = values["date"].isoformat()
    if not isinstance(values["count"], int):
        values["count"] = int(values["count"])
    if not isinstance(values["total_duration"], float):
        values["total_duration"] = float(values["total_duration"] or 0)
    return values


EMPTY_TOTAL = (0, 0.0, 0)


def _raw_aggregate_rows(query: StatsQuery, group_by: list[str], *, limit: int | None, offset: int, stream: bool):
    if not query.fleet_ids:
        rows: list | Iterator = []
    elif partitions.is_partitioned():
        sql, params = _sql_aggregate(query, group_by, limit=limit, offset=offset)
        rows = _stream_sql(sql, params) if stream else _fetch_sql(sql, params, planner_settings(query, group_by))
    else:
        rows = _sqlite_aggregate(query, group_by)
        if limit is not None:
            rows = rows[offset : offset + limit]
    if not group_by:  # the totals: always one row, zeros when nothing played
        rows = list(rows)
        return [rows[0] if rows and rows[0][0] else EMPTY_TOTAL] if offset == 0 else []
    return rows


def planner_settings(query: StatsQuery, group_by: list[str]) -> str:
    """The SET LOCAL statements an aggregate's SQL runs under. Tens of thousands of groups sort and hash in
    memory rather than in temporary files, in this process: parallel workers cost more to start and gather
    than such groups take to count. Groups of one fleet's screens (then dates) from the daily rollup are
    read in the order of its (fleet, screen, day) index and counted as they come: the planner, which
    underestimates the rows of a range of days, would hash them and sort them again."""
    settings = "SET LOCAL work_mem = '64MB'; SET LOCAL max_parallel_workers_per_gather = 0"
    in_index_order = group_by[:1] == ["screen"] and set(group_by) <= {"screen", "date"}
    if in_index_order and len(query.fleet_ids) == 1 and source_of(query, group_by) == "daily":
        settings += "; SET LOCAL enable_hashagg = off; SET LOCAL enable_sort = off"
    return settings


def _fetch_sql(sql: str, params: list, settings: str) -> list[tuple]:
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(settings)
        cursor.execute(sql, params)
        return cursor.fetchall()


def _stream_sql(sql: str, params: list) -> Iterator[tuple]:
    with connection.chunked_cursor() as cursor:
        cursor.execute(sql, params)
        while chunk := cursor.fetchmany(5000):
            yield from chunk


def aggregates(query: StatsQuery, group_by: list[str], *, limit: int, offset: int) -> list[dict]:
    """Groups of the query in the order of their keys: count, total duration, distinct screens."""
    rows = _raw_aggregate_rows(query, group_by, limit=limit, offset=offset, stream=False)
    columns = aggregate_columns(group_by)
    if partitions.is_partitioned():  # PostgreSQL's rows are JSON-ready (text uuids and dates, numbers)
        return [dict(zip(columns, row, strict=True)) for row in rows]
    return [_normalise(columns, row) for row in rows]


def aggregates_json(query: StatsQuery, group_by: list[str], *, limit: int, offset: int) -> tuple[str, bool] | None:
    """A page of groups as JSON text (an array of aggregates()' objects), and whether more groups follow;
    None where aggregates() must answer (SQLite, the one-row totals, no fleet). PostgreSQL writes each
    group's object as it counts it, and they are joined here: a month of a large fleet is tens of
    thousands of groups, and making each a dict for a JSON encoder took longer than counting them (so did
    aggregating the page into one text in the database, which needed the groups twice)."""
    if not (partitions.is_partitioned() and group_by and query.fleet_ids):
        return None
    sql, params = _sql_aggregate(query, group_by, limit=limit + 1, offset=offset)
    names = ", ".join(f'"{name}"' for name in aggregate_columns(group_by))  # (count and date are SQL keywords)
    rows = _fetch_sql(f"SELECT row_to_json(g)::text FROM ({sql}) AS g({names})", params,
                      planner_settings(query, group_by))  # fmt: skip
    return "[" + ",".join([row[0] for row in rows[:limit]]) + "]", len(rows) > limit


def aggregates_rows(query: StatsQuery, group_by: list[str]) -> Iterator[dict]:
    """Every group, streamed (a server-side cursor on PostgreSQL)."""
    columns = aggregate_columns(group_by)
    for row in _raw_aggregate_rows(query, group_by, limit=None, offset=0, stream=True):
        yield _normalise(columns, row)
