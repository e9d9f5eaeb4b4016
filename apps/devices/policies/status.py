"""Policy status per player and item (reference 004 "Get Device Policy Status"): what the winning policy
wants, what the player reports, and whether it is in violation.

Items the heartbeat reports (VOLUME, BRIGHTNESS, APPLICATION_VERSION, TEMPERATURE) are judged on that
telemetry: a value that differs (a temperature outside the limits) is a violation; nothing reported yet is
`unknown`. The other items are settings the player applies when it fetches its settings: `applied` once it
fetched the current version, `pending` before (neither is a violation)."""

from collections.abc import Iterable

from django.db.models import Exists, OuterRef

from .items import parse_version_loose
from .models import DevicePolicy, PolicyItemType
from .services import effective_settings

T = PolicyItemType
TELEMETRY_ITEMS = {T.VOLUME: "volume", T.BRIGHTNESS: "brightness", T.APPLICATION_VERSION: "app_version",
                   T.TEMPERATURE: "temperature"}  # fmt: skip
VIOLATION_ITEMS = tuple(TELEMETRY_ITEMS)
STATUS_FIELDS = ("pk", "volume", "brightness", "app_version", "temperature", "settings_version", "settings_fetched")


def _violates(kind: str, desired, reported) -> bool:
    if kind == T.TEMPERATURE:
        return ("min" in desired and reported < desired["min"]) or ("max" in desired and reported > desired["max"])
    if kind == T.APPLICATION_VERSION:
        return parse_version_loose(reported) != parse_version_loose(desired)
    return reported != desired


def item_status(kind: str, item: dict, device) -> dict:
    row = {"type": kind, "policy": item["policy"], "priority": item["priority"], "desired": item["value"]}
    if kind in TELEMETRY_ITEMS:
        reported = getattr(device, TELEMETRY_ITEMS[kind])
        if reported in (None, ""):
            return {**row, "reported": None, "state": "unknown", "in_violation": False}
        violation = _violates(kind, item["value"], reported)
        return {**row, "reported": reported, "state": "violation" if violation else "ok", "in_violation": violation}
    applied = bool(device.settings_version) and device.settings_version == device.settings_fetched
    return {**row, "reported": item["value"] if applied else None, "state": "applied" if applied else "pending",
            "in_violation": False}  # fmt: skip


def devices_policy_status(devices: Iterable) -> dict[int, list[dict]]:
    """`{device_id: [item status, ...]}` for devices loaded with STATUS_FIELDS; one query."""
    devices = list(devices)
    merged = effective_settings(device_ids=[device.pk for device in devices])
    return {
        device.pk: [item_status(kind, item, device) for kind, item in merged[device.pk].items()] for device in devices
    }


def devices_violations(devices) -> dict[int, set[str]]:
    """`{device_id: {item types in violation}}` for the players of the `devices` queryset that an active
    policy governs (an empty set: in violation of nothing); two queries, whatever the number of players."""
    governed = devices.filter(Exists(DevicePolicy.objects.filter(device=OuterRef("pk"), policy__archived=False)))
    statuses = devices_policy_status(governed.only(*STATUS_FIELDS))
    return {device_id: {row["type"] for row in rows if row["in_violation"]} for device_id, rows in statuses.items()}
