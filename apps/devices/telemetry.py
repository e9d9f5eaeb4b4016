"""Telemetry history: what heartbeats reported, kept compactly.

`telemetry_record` is the one way history is written, for a batch of heartbeats at once (the heartbeat
calls it with one report; a buffered flush calls `telemetry_record_heartbeats` with thousands, as the JSON it
sends PostgreSQL). A row is added only when a value changed, or when the fleet's `telemetry_history_interval`
passed since the last row of that type, never one row per heartbeat. The rows to compare with are the latest
of each device and type (`is_latest`): on PostgreSQL the comparison is one statement per batch, in the
database next to them, and an unchanged heartbeat costs no Python per value.
"""

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.db import connection, transaction
from django.db.models import Count
from django.utils import timezone

from .models import Device, DeviceCommand, TelemetrySample, TelemetryType

UPTIME_SLACK = 120  # seconds of clock drift and delay before a shorter uptime counts as a reboot
DEFAULT_INTERVAL = 3600  # a device of no fleet (or a fleet's interval of 0): a row per hour at most
STORAGE = ("total_mb", "used_mb", "free_mb")  # the heartbeat's storage_* fields, kept as one STORAGE value
SOURCES = (
    ("temperature", TelemetryType.TEMPERATURE),
    ("wifi_signal", TelemetryType.WIFI_STRENGTH),
    ("volume", TelemetryType.VOLUME),
    ("brightness", TelemetryType.BRIGHTNESS),
    ("app_version", TelemetryType.APPLICATION_VERSION),
    ("os_version", TelemetryType.OS_VERSION),
    ("ip_address", TelemetryType.IP_ADDRESS),
    ("uptime_seconds", TelemetryType.UPTIME),
)  # heartbeat field -> telemetry type; a value None or "" is not reported


@dataclass
class TelemetryReport:
    """A device's telemetry at one instant, with the heartbeat's own field names."""

    device_id: int
    at: datetime
    values: dict
    interval: int | None = field(default=None)  # the fleet's history interval, when the caller knows it


def _typed(values: dict) -> dict[str, object]:
    """Heartbeat fields -> {telemetry type: value}, only for what the report carries."""
    typed: dict[str, object] = {}
    storage = {name: values[f"storage_{name}"] for name in STORAGE if values.get(f"storage_{name}") is not None}
    if storage:
        typed[TelemetryType.STORAGE] = storage
    for source, kind in SOURCES:
        if values.get(source) not in (None, ""):
            typed[kind] = values[source]
    return typed


def _changed(kind: str, value, previous, previous_at: datetime, at: datetime) -> bool:
    if kind == TelemetryType.UPTIME:
        # Uptime grows with every heartbeat: only a reboot (less uptime than expected) is news.
        expected = previous + (at - previous_at).total_seconds()
        return value < expected - UPTIME_SLACK
    return value != previous


def telemetry_record(*, reports: Iterable[TelemetryReport]) -> int:
    """Add to the history what changed in `reports` (or is due again after the fleet's interval); returns
    the number of rows written. A bounded number of queries whatever the number of reports (on PostgreSQL,
    one statement for each report a device has in the batch: one for a heartbeat or a flush)."""
    reports = sorted(reports, key=lambda report: report.at)
    if not reports:
        return 0
    intervals = {report.device_id: report.interval for report in reports if report.interval is not None}
    if connection.vendor != "postgresql":
        return _record_portable(reports, intervals)
    rounds: list[list[dict]] = []  # a device's first report in the first, its second in the second...
    counted: dict[int, int] = {}
    for report in reports:
        number = counted[report.device_id] = counted.get(report.device_id, -1) + 1
        if number == len(rounds):
            rounds.append([])
        heartbeat = {"id": report.device_id, "seen": report.at.timestamp(), "t": report.values}
        if report.device_id in intervals:
            heartbeat["interval"] = intervals[report.device_id]
        rounds[number].append(heartbeat)
    return sum(telemetry_record_heartbeats(heartbeats=json.dumps(batch, default=str)) for batch in rounds)


# The heartbeats' JSON as rows (id, at, t, interval): an array of {"id": device id, "seen": Unix time, "t":
# {heartbeat field: value}, "interval": seconds (optional)}, records.TAKE's text and devices_record_seen's.
HEARTBEATS = """
    SELECT id, to_timestamp(seen) AS at, t, "interval"
    FROM jsonb_to_recordset(%s::jsonb) AS v(id bigint, seen float8, t jsonb, "interval" integer)
"""


def telemetry_record_heartbeats(*, heartbeats: str) -> int:
    """`telemetry_record` on PostgreSQL for one report per device, given as HEARTBEATS' JSON. One statement;
    returns the number of rows written."""
    sql = _statements.get("record")
    if sql is None:
        sql = _statements["record"] = f"WITH v AS ({HEARTBEATS}), {history_sql('v')} SELECT count(*) FROM written"
    with connection.cursor() as cursor:
        cursor.execute(sql, [heartbeats])
        return cursor.fetchone()[0]


_statements: dict[str, str] = {}


def history_sql(source: str) -> str:
    """Common table expressions that write the history of the heartbeats in `source` (a CTE of HEARTBEATS'
    rows, one per device), to follow a WITH: the devices' statement on PostgreSQL (`devices_record_seen`)
    writes their history in the same statement. `written` holds the new rows.

    The rules of `_typed` and `_changed` in SQL, compared with the latest rows: a value None or "" is not
    reported, storage is one object of the storage_* fields sent, uptime is news only at a reboot, any other
    value when it differs (jsonb equality: numbers by value, objects whatever their keys' order), and any
    value when the interval passed. If a device and type have several latest rows (two writers at once),
    the newest is compared with and all are replaced."""
    samples, devices = TelemetrySample._meta.db_table, Device._meta.db_table
    fleets = Device._meta.get_field("fleet").related_model._meta.db_table
    storage = ", ".join(f"'{name}', h.t->'storage_{name}'" for name in STORAGE)
    sent = ",".join(f"storage_{name}" for name in STORAGE)
    types = ",".join([TelemetryType.STORAGE, *(kind for _, kind in SOURCES)])
    values = ", ".join(
        [f"CASE WHEN h.t ?| '{{{sent}}}' THEN nullif(jsonb_strip_nulls(jsonb_build_object({storage})), '{{}}') END"]
        + [f"h.t->'{source}'" for source, _ in SOURCES]
    )
    return f"""
        reported AS (
            SELECT h.id AS device_id, h.at, k.type, k.value,
                coalesce(nullif(coalesce(h."interval", f.telemetry_history_interval), 0), {DEFAULT_INTERVAL}) AS every
            FROM {source} h JOIN {devices} hd ON hd.id = h.id LEFT JOIN {fleets} f ON f.id = hd.fleet_id
            CROSS JOIN LATERAL unnest('{{{types}}}'::text[], ARRAY[{values}]) AS k(type, value)
            WHERE k.value IS NOT NULL AND k.value NOT IN ('null'::jsonb, '""'::jsonb)
        ),
        compared AS (
            SELECT DISTINCT ON (r.device_id, r.type) r.*, s.id AS previous_id, s.value AS previous,
                s.created_at AS previous_at
            FROM reported r
            LEFT JOIN {samples} s ON s.device_id = r.device_id AND s.type = r.type AND s.is_latest
            ORDER BY r.device_id, r.type, s.created_at DESC, s.id DESC
        ),
        changed AS (
            SELECT device_id, type, value, at FROM compared
            WHERE previous_id IS NULL OR at - previous_at >= make_interval(secs => every)
                OR CASE WHEN type <> '{TelemetryType.UPTIME}' THEN value <> previous
                    ELSE value::float8
                        < previous::float8 + extract(epoch FROM at - previous_at)::float8 - {UPTIME_SLACK}
                END
        ),
        replaced AS (
            UPDATE {samples} s SET is_latest = false FROM changed c
            WHERE s.device_id = c.device_id AND s.type = c.type AND s.is_latest
        ),
        written AS (
            INSERT INTO {samples} (device_id, type, value, created_at, is_latest)
            SELECT device_id, type, value, at, true FROM changed
            RETURNING 1
        )
    """


def _record_portable(reports: list[TelemetryReport], intervals: dict) -> int:
    """`telemetry_record` in Python, for databases other than PostgreSQL (SQLite's `make run`)."""
    device_ids = {report.device_id for report in reports}
    latest: dict[int, dict] = {device_id: {} for device_id in device_ids}
    rows = TelemetrySample.objects.filter(device_id__in=device_ids, is_latest=True).order_by("created_at", "id")
    for device_id, kind, value, created_at in rows.values_list("device_id", "type", "value", "created_at"):
        latest[device_id][kind] = (value, created_at)  # the newest, if two writers left two
    fleets = dict(Device.objects.filter(pk__in=device_ids).values_list("pk", "fleet__telemetry_history_interval"))
    intervals = {**fleets, **intervals}
    reports = [report for report in reports if report.device_id in fleets]  # not of a device deleted meanwhile

    new_rows: list[TelemetrySample] = []
    for report in reports:
        interval = intervals.get(report.device_id) or DEFAULT_INTERVAL
        known = latest[report.device_id]
        for kind, value in _typed(report.values).items():
            previous = known.get(kind)
            if previous is not None:
                previous_value, previous_at = previous
                due = report.at - previous_at >= timedelta(seconds=interval)
                if not due and not _changed(kind, value, previous_value, previous_at, report.at):
                    continue
            known[kind] = (value, report.at)
            new_rows.append(TelemetrySample(device_id=report.device_id, type=kind, value=value, created_at=report.at))
    if not new_rows:
        return 0
    # Rows written in one batch for the same device and type: only the newest stays the latest.
    newest: dict[tuple[int, str], TelemetrySample] = {}
    for row in new_rows:
        newest[(row.device_id, row.type)] = row
    for row in new_rows:
        row.is_latest = newest[(row.device_id, row.type)] is row
    touched_devices = {device_id for device_id, _ in newest}
    touched_types = {kind for _, kind in newest}
    with transaction.atomic():
        stale = TelemetrySample.objects.filter(
            device_id__in=touched_devices, type__in=touched_types, is_latest=True
        ).values_list("pk", "device_id", "type")
        stale_ids = [pk for pk, device_id, kind in stale if (device_id, kind) in newest]
        if stale_ids:
            TelemetrySample.objects.filter(pk__in=stale_ids).update(is_latest=False)
        TelemetrySample.objects.bulk_create(new_rows)
    return len(new_rows)


def telemetry_latest(device: Device) -> list[TelemetrySample]:
    """The newest row of each telemetry type of `device`."""
    return list(device.telemetry.filter(is_latest=True).order_by("type"))


def command_counts(device_ids, *, since: datetime, until: datetime | None = None) -> dict[int, dict[str, int]]:
    """Failed commands and screenshots taken per device in [since, until): countable over any range."""
    until = until or timezone.now()
    counts = {device_id: {"failed_commands": 0, "screenshots": 0} for device_id in device_ids}
    commands = DeviceCommand.objects.unscoped("the commands of devices the caller holds, by their ids")
    failed = commands.filter(device_id__in=device_ids, failed_at__gte=since, failed_at__lt=until)
    shots = commands.filter(
        device_id__in=device_ids, type="screenshot", succeeded_at__gte=since, succeeded_at__lt=until
    )
    for name, commands in (("failed_commands", failed), ("screenshots", shots)):
        for device_id, number in (
            commands.order_by().values("device_id").annotate(n=Count("pk")).values_list("device_id", "n")
        ):
            counts[device_id][name] = number
    return counts
