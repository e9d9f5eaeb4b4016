"""Telemetry history: what heartbeats reported, kept compactly.

`telemetry_record` is the one way history is written, for a batch of heartbeats at once (the heartbeat
calls it with one report; a buffered flush calls it with many). A row is added only when a value changed,
or when the fleet's `telemetry_history_interval` passed since the last row of that type, never one row per
heartbeat. The last row of each device and type is mirrored in the cache, so an unchanged heartbeat costs
no SQL here; on a cache miss the latest rows come from the database in one query.
"""

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.core.cache import cache
from django.db import transaction
from django.db.models import Count
from django.utils import timezone

from .models import Device, DeviceCommand, TelemetrySample, TelemetryType

CACHE_TTL = 7 * 24 * 3600
UPTIME_SLACK = 120  # seconds of clock drift and delay before a shorter uptime counts as a reboot


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
    storage = {
        name: values[f"storage_{name}"]
        for name in ("total_mb", "used_mb", "free_mb")
        if values.get(f"storage_{name}") is not None
    }
    if storage:
        typed[TelemetryType.STORAGE] = storage
    for source, kind in (
        ("temperature", TelemetryType.TEMPERATURE),
        ("wifi_signal", TelemetryType.WIFI_STRENGTH),
        ("volume", TelemetryType.VOLUME),
        ("brightness", TelemetryType.BRIGHTNESS),
        ("app_version", TelemetryType.APPLICATION_VERSION),
        ("os_version", TelemetryType.OS_VERSION),
        ("ip_address", TelemetryType.IP_ADDRESS),
        ("uptime_seconds", TelemetryType.UPTIME),
    ):
        if values.get(source) not in (None, ""):
            typed[kind] = values[source]
    return typed


def _key(device_id: int) -> str:
    return f"telemetry-latest:{device_id}"


def _changed(kind: str, value, previous, previous_at: datetime, at: datetime) -> bool:
    if kind == TelemetryType.UPTIME:
        # Uptime grows with every heartbeat: only a reboot (less uptime than expected) is news.
        expected = previous + (at - previous_at).total_seconds()
        return value < expected - UPTIME_SLACK
    return value != previous


def telemetry_record(*, reports: Iterable[TelemetryReport]) -> int:
    """Add to the history what changed in `reports` (or is due again after the fleet's interval); returns
    the number of rows written. A bounded number of queries whatever the number of reports."""
    reports = sorted(reports, key=lambda report: report.at)
    if not reports:
        return 0
    device_ids = {report.device_id for report in reports}
    cached = cache.get_many([_key(device_id) for device_id in device_ids])
    latest: dict[int, dict] = {}
    for device_id in device_ids:
        entry = cached.get(_key(device_id))
        if entry is not None:
            latest[device_id] = entry
    missing = device_ids - latest.keys()
    if missing:
        for device_id in missing:
            latest[device_id] = {}
        rows = TelemetrySample.objects.filter(device_id__in=missing, is_latest=True)
        for device_id, kind, value, created_at in rows.values_list("device_id", "type", "value", "created_at"):
            latest[device_id][kind] = (value, created_at.timestamp())
    intervals = {report.device_id: report.interval for report in reports if report.interval is not None}
    unknown = device_ids - intervals.keys()
    if unknown:
        intervals.update(Device.objects.filter(pk__in=unknown).values_list("pk", "fleet__telemetry_history_interval"))

    new_rows: list[TelemetrySample] = []
    for report in reports:
        interval = intervals.get(report.device_id) or 3600
        known = latest[report.device_id]
        for kind, value in _typed(report.values).items():
            previous = known.get(kind)
            if previous is not None:
                previous_value, previous_ts = previous
                previous_at = datetime.fromtimestamp(previous_ts, tz=report.at.tzinfo)
                due = report.at - previous_at >= timedelta(seconds=interval)
                if not due and not _changed(kind, value, previous_value, previous_at, report.at):
                    continue
            known[kind] = (value, report.at.timestamp())
            new_rows.append(TelemetrySample(device_id=report.device_id, type=kind, value=value, created_at=report.at))
    if not new_rows:
        if missing:
            cache.set_many({_key(device_id): latest[device_id] for device_id in missing}, CACHE_TTL)
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
    # Written at once, not on commit: the heartbeat runs in autocommit, and a flush inside a larger transaction
    # that rolls back would at worst skip one row until the interval writes it again.
    cache.set_many({_key(device_id): latest[device_id] for device_id in device_ids}, CACHE_TTL)
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
