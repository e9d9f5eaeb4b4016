"""Uptime of players (reference 004 "Uptime", "Offline ranges") from their kept online/offline changes.

A player's window is [since, until) cut to when it registered and to now. Before its first recorded
change inside the window it is in the state of its last change before the window (offline if none).
Three queries for any number of players: the players, their state at `since`, their changes inside.
"""

from dataclasses import dataclass
from datetime import datetime

from django.db.models import QuerySet
from django.utils import timezone

from apps.devices.models import Device, DeviceConnectivity


@dataclass
class Timeline:
    start: datetime
    end: datetime
    online_at_start: bool
    changes: list[tuple[datetime, bool]]

    def ranges(self) -> list[tuple[datetime, datetime, bool]]:
        """The window as consecutive (from, to, online) pieces."""
        pieces, state, cursor = [], self.online_at_start, self.start
        for moment, online in self.changes:
            if online == state:
                continue
            if moment > cursor:
                pieces.append((cursor, moment, state))
            state, cursor = online, max(cursor, moment)
        if self.end > cursor:
            pieces.append((cursor, self.end, state))
        return pieces


def _connectivity():
    return DeviceConnectivity.objects.unscoped("the changes of players given as a queryset the caller scoped")


def timelines(devices: QuerySet[Device], since: datetime, until: datetime | None) -> dict[int, Timeline]:
    now = timezone.now()
    end = min(until or now, now)
    players = list(devices.values_list("pk", "created"))
    ids = [pk for pk, _ in players]
    if _distinct_on():
        last = _connectivity().filter(device_id__in=ids, at__lt=since).order_by("device_id", "-at", "-id")
        before = dict(last.distinct("device_id").values_list("device_id", "online"))
    else:
        before = _last_before(ids, since)
    changes: dict[int, list] = {pk: [] for pk in ids}
    for device_id, moment, online in (
        _connectivity()
        .filter(device_id__in=ids, at__gte=since, at__lt=end)
        .order_by("device_id", "at", "id")
        .values_list("device_id", "at", "online")
    ):
        changes[device_id].append((moment, online))
    result = {}
    for pk, created in players:
        start = max(since, created)
        result[pk] = Timeline(start, max(start, end), before.get(pk, False), changes[pk])
    return result


def _distinct_on() -> bool:
    from django.db import connection

    return connection.features.can_distinct_on_fields


def _last_before(ids: list[int], since: datetime) -> dict[int, bool]:
    """SQLite: the last change of each player before `since`, in one ordered pass."""
    state = {}
    for device_id, online in (
        _connectivity()
        .filter(device_id__in=ids, at__lt=since)
        .order_by("device_id", "at", "id")
        .values_list("device_id", "online")
    ):
        state[device_id] = online
    return state


def uptime_summary(devices: QuerySet[Device], since: datetime, until: datetime | None) -> dict:
    """`uptime`, `downtime` and `total` in seconds over the players' windows, `availability_percent`."""
    uptime = downtime = 0.0
    for timeline in timelines(devices, since, until).values():
        for start, end, online in timeline.ranges():
            seconds = (end - start).total_seconds()
            if online:
                uptime += seconds
            else:
                downtime += seconds
    total = uptime + downtime
    return {
        "uptime": round(uptime, 3),
        "downtime": round(downtime, 3),
        "total": round(total, 3),
        "availability_percent": round(100 * uptime / total, 2) if total else None,
        "since": since,
        "until": until or timezone.now(),
    }


def offline_ranges(device: Device, since: datetime, until: datetime | None, limit: int) -> list[dict]:
    """The player's offline pieces of the window, oldest first; `ongoing` when it is offline still (the
    window ends now)."""
    timeline = timelines(Device.objects.of_fleet(device.fleet_id).filter(pk=device.pk), since, until)[device.pk]
    now_window = until is None or until >= timeline.end
    ranges = []
    for start, end, online in timeline.ranges():
        if not online:
            seconds = round((end - start).total_seconds(), 3)
            ongoing = now_window and end == timeline.end and (until is None or until > end)
            ranges.append({"since": start, "until": end, "seconds": seconds, "ongoing": ongoing})
    return ranges[:limit]
