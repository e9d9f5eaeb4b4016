"""What a player is told to set up: its effective settings, merged from its active policies, its own power
schedule and its screen (orientation, resolution, time zone; reference 004 6.11, 6.31), with a version.

Precedence per setting: a policy item (highest priority first), then the player's own schedule/timers,
then what its screen says. The version (a hash of the settings) is kept on the device; the heartbeat says
`has_new_settings` while it differs from the version the player last fetched (`GET /api/device/settings`),
so settings travel once per change and an idle heartbeat stays lean (the version rides in its Redis record).
"""

import hashlib
import json
import zoneinfo
from datetime import date, datetime, time, timedelta

from django.db import transaction
from django.db.models import QuerySet

from signage.arguments import UNCHANGED, Unchanged, given

from .. import records
from ..models import Device
from .items import WEEKDAYS
from .models import PolicyItemType
from .services import effective_settings

T = PolicyItemType
SETTING_NAMES = {
    T.VOLUME: "volume", T.BRIGHTNESS: "brightness", T.TIMERS: "timers",
    T.POWER_ACTIONS_SCHEDULE: "power_actions_schedule", T.ORIENTATION: "orientation",
    T.RESOLUTION: "resolution", T.APPLICATION_VERSION: "application_version",
    T.REMOTE_CONTROL: "remote_control", T.DATETIME: "datetime", T.TEMPERATURE: "temperature",
}  # fmt: skip
DEVICE_FIELDS = ("fleet", "screen", "token_hash", "settings_version", "settings_fetched", "power_actions_schedule",
                 "timers", "fleet__timezone", "screen__orientation", "screen__rotation", "screen__timezone",
                 "screen__screen_type", "screen__screen_type__width", "screen__screen_type__height")  # fmt: skip


def _loaded(devices: QuerySet[Device]) -> QuerySet[Device]:
    return devices.select_related("fleet", "screen__screen_type").only(*DEVICE_FIELDS)


def in_hand(device: Device) -> QuerySet[Device]:
    """The player in hand as a queryset for `devices_settings` (its id keys the read; an unpaired player
    has no fleet to scope it by)."""
    return Device.objects.unscoped("the player in hand, re-read by its id for what its settings need").filter(
        pk=device.pk
    )


def _screen_orientation(screen) -> str:
    base = "PORTRAIT" if screen.orientation == "portrait" else "LANDSCAPE"
    return f"{base}_FLIPPED" if screen.rotation == 180 else base


def settings_of(device: Device, policies: dict[str, dict]) -> tuple[dict, dict]:
    """(settings by name, where each came from) for `device` (with its screen, screen type and fleet
    loaded) and its merged policies (`services.effective_settings`)."""
    settings, sources = {name: None for name in SETTING_NAMES.values()}, {}
    screen = device.screen
    if screen is not None:
        settings["orientation"], sources["orientation"] = _screen_orientation(screen), "screen"
        if screen.screen_type_id:
            kind = screen.screen_type
            settings["resolution"] = {"width": kind.width, "height": kind.height}
            sources["resolution"] = "screen"
    zone = (screen.timezone if screen is not None else "") or (device.fleet.timezone if device.fleet_id else "")
    if zone:
        settings["datetime"], sources["datetime"] = {"timezone": zone}, "screen" if screen else "fleet"
    for name in ("power_actions_schedule", "timers"):
        if getattr(device, name):
            settings[name], sources[name] = getattr(device, name), "device"
    for kind, item in policies.items():
        name = SETTING_NAMES[kind]
        settings[name] = item["value"]
        sources[name] = {"policy": item["policy"], "priority": item["priority"]}
    return settings, sources


def settings_version(settings: dict) -> str:
    return hashlib.sha256(json.dumps(settings, sort_keys=True, separators=(",", ":")).encode()).hexdigest()[:16]


def devices_settings(devices: QuerySet[Device]) -> dict[int, tuple[Device, dict, dict, str]]:
    """`{device_id: (device, settings, sources, version)}` of the players of `devices` (a queryset the
    caller scoped: `of_fleet`, `scope_queryset`, `in_hand`), in two queries."""
    devices = list(_loaded(devices))
    merged = effective_settings(device_ids=[device.pk for device in devices])
    found = {}
    for device in devices:
        settings, sources = settings_of(device, merged[device.pk])
        found[device.pk] = (device, settings, sources, settings_version(settings))
    return found


def devices_settings_refresh(*, devices: QuerySet[Device]) -> int:
    """Recompute the settings version of the players of `devices` (scoped by the caller); those whose
    version changed are written (one UPDATE per 1,000) and their lean records dropped, so their next
    heartbeat says `has_new_settings`. Returns how many changed. Idempotent."""
    changed = [
        device
        for device, _, _, version in devices_settings(devices).values()
        if device.settings_version != version and not setattr(device, "settings_version", version)
    ]
    if changed:
        with transaction.atomic():
            Device.objects.bulk_update(changed, ["settings_version"], batch_size=1000)
        records.forget([device.token_hash for device in changed])
    return len(changed)


def device_settings_fetched(*, device: Device) -> dict:
    """What `GET /api/device/settings` answers, recording that the player has this version now."""
    loaded, settings, sources, version = devices_settings(in_hand(device))[device.pk]
    if (loaded.settings_version, loaded.settings_fetched) != (version, version):
        rows = Device.objects.filter(pk=device.pk)
        # Only over the version read: one a refresh committed meanwhile is newer than this answer, and stays.
        if rows.filter(settings_version=loaded.settings_version).update(settings_version=version,
                                                                        settings_fetched=version):  # fmt: skip
            device.settings_version = version
        else:
            rows.update(settings_fetched=version)
        device.settings_fetched = version
    zone = (settings["datetime"] or {}).get("timezone") or "UTC"
    upcoming = power_actions_upcoming(schedule=settings["power_actions_schedule"] or [], zone=zone)
    return {"version": version, "settings": settings, "sources": sources, "upcoming_power_actions": upcoming}


# --- power schedules ------------------------------------------------------------------------------------


def local_instant(day: date, at: time, zone: zoneinfo.ZoneInfo) -> datetime:
    """`day` at wall-clock `at` in `zone`, as an aware datetime. In a spring-forward gap the time moves
    forward by the gap (02:30 that does not exist is 03:30 summer time); a repeated autumn time is its first
    occurrence (summer time)."""
    naive = datetime.combine(day, at)
    aware = naive.replace(tzinfo=zone, fold=0)
    # A time in a gap does not survive a round trip through UTC: it lands after the gap, which is the rule.
    return aware.astimezone(zoneinfo.ZoneInfo("UTC")).astimezone(zone)


def power_actions_upcoming(
    *, schedule: list[dict], zone: str, since: datetime | None = None, hours: int = 48
) -> list[dict]:
    """The scheduled power actions due in the `hours` after `since` (default now), as UTC instants, each
    once, in order: `[{"at", "power_action"}]`. Weekdays and times are the player's wall clock in `zone`."""
    tz = zoneinfo.ZoneInfo(zone)
    since = since or datetime.now(tz=zoneinfo.ZoneInfo("UTC"))
    until = since + timedelta(hours=hours)
    first = since.astimezone(tz).date() - timedelta(days=1)
    found = []
    for offset in range((until.astimezone(tz).date() - first).days + 1):
        day = first + timedelta(days=offset)
        weekday = WEEKDAYS[day.weekday()]
        for action in schedule:
            if weekday in action["weekdays"]:
                instant = local_instant(day, time.fromisoformat(action["time"]), tz)
                if since <= instant < until:
                    found.append((instant, action["power_action"]))
    return [
        {"at": instant.astimezone(zoneinfo.ZoneInfo("UTC")).isoformat().replace("+00:00", "Z"), "power_action": kind}
        for instant, kind in sorted(set(found))
    ]


def power_actions_from_opening_hours(opening_hours: dict) -> list[dict]:
    """DISPLAY_POWER_ON when the screen opens and DISPLAY_POWER_OFF when it closes, for each day with
    opening hours (week hours of apps/screens/hours.py: "1" is Monday); a day without ranges is open all
    day (nothing scheduled). A range ending at 24:00 closes at midnight unless the next day opens then.
    Actions at the same time are one action over several weekdays."""
    days = {int(day): ranges for day, ranges in (opening_hours or {}).items() if ranges}
    moments: dict[tuple[str, str], list[str]] = {}
    for day, ranges in days.items():
        for start, end in ranges:
            if not (start == "00:00" and any(r[1] == "24:00" for r in days.get(7 if day == 1 else day - 1, []))):
                moments.setdefault(("DISPLAY_POWER_ON", f"{start}:00"), []).append(WEEKDAYS[day - 1])
            if end == "24:00":
                following = 1 if day == 7 else day + 1
                if any(r[0] == "00:00" for r in days.get(following, [])):
                    continue
                moments.setdefault(("DISPLAY_POWER_OFF", "00:00:00"), []).append(WEEKDAYS[following - 1])
            else:
                moments.setdefault(("DISPLAY_POWER_OFF", f"{end}:00"), []).append(WEEKDAYS[day - 1])
    return [
        {"power_action": kind, "weekdays": sorted(set(weekdays), key=WEEKDAYS.index), "time": at}
        for (kind, at), weekdays in sorted(moments.items(), key=lambda entry: (entry[0][1], entry[0][0]))
    ]


POWER_FIELDS = {"power_actions_schedule": PolicyItemType.POWER_ACTIONS_SCHEDULE, "timers": PolicyItemType.TIMERS}


@transaction.atomic
def device_power_schedule_set(
    *,
    device: Device,
    power_actions_schedule: list | Unchanged = UNCHANGED,
    timers: list | Unchanged = UNCHANGED,
) -> Device:
    """Set the player's own scheduled power actions and/or timers (those given; values as policy items'; a
    policy's item of the same type wins over them)."""
    from django.core.exceptions import ValidationError

    from .items import ItemError, item_value_clean

    values = given(power_actions_schedule=power_actions_schedule, timers=timers)
    changes = {}
    for name, kind in POWER_FIELDS.items():
        if name in values:
            try:
                changes[name] = item_value_clean(kind, values[name])
            except ItemError as problem:
                raise ValidationError({name: ValidationError(str(problem), code="invalid")}) from None
    if changes:
        Device.objects.filter(pk=device.pk).update(**changes)
        for name, value in changes.items():
            setattr(device, name, value)
        devices_settings_refresh(devices=in_hand(device))
    return device


def device_power_schedule_from_opening_hours(*, device: Device) -> Device:
    """Replace the player's own DISPLAY_POWER_ON/OFF actions by those its screen's opening hours give
    (its other scheduled actions stay)."""
    from signage.errors import field_error

    if device.screen_id is None:
        raise field_error("screen", "The player has no screen, so no opening hours.", "required")
    display = ("DISPLAY_POWER_ON", "DISPLAY_POWER_OFF")
    kept = [action for action in device.power_actions_schedule or [] if action["power_action"] not in display]
    generated = power_actions_from_opening_hours(device.screen.opening_hours)
    return device_power_schedule_set(device=device, power_actions_schedule=[*kept, *generated])
