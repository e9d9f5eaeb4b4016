"""Policy items: their validation and the merge of a player's policies into its effective settings.

An item is `{"type": <PolicyItemType>, "value": ...}`; the value's shape depends on the type:

- VOLUME, BRIGHTNESS: an integer 0-100.
- TIMERS: a list of at most 7 on/off timers `{"type": "TIMER_1".."TIMER_7", "time_on": "HH:MM:SS" | null,
  "time_off": "HH:MM:SS" | null, "weekdays": ["mon", ...], "volume": 0-100 (optional),
  "level": "NATIVE" | "PROPRIETARY"}` (reference 004 6.7), each timer type once.
- POWER_ACTIONS_SCHEDULE: a list of at most 50 `{"power_action": <POWER_ACTIONS>, "weekdays": ["MONDAY",
  ...], "time": "HH:MM:SS"}` (reference 004 6.6).
- ORIENTATION: one of ORIENTATIONS (reference 004 6.11).
- RESOLUTION: `{"width": 1-16384, "height": 1-16384, "framerate": 1-240 (optional)}`.
- APPLICATION_VERSION: a semantic version, "2.4.0".
- REMOTE_CONTROL: a boolean (whether the player accepts its remote control / IR keys).
- DATETIME: `{"timezone": IANA name, "ntp_server": host name (optional)}` (reference 004 6.31).
- TEMPERATURE: `{"min": °C, "max": °C}`, at least one of them: the limits outside which the player is in
  violation.
"""

import re
from datetime import time
from typing import Any

import semver
from django.core.exceptions import ValidationError

from apps.accounts.models import validate_timezone

from .models import PolicyItemType

MAX_ITEMS = len(PolicyItemType.values)
TIMER_TYPES = [f"TIMER_{n}" for n in range(1, 8)]
TIMER_WEEKDAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
TIMER_LEVELS = ["NATIVE", "PROPRIETARY"]
WEEKDAYS = ["MONDAY", "TUESDAY", "WEDNESDAY", "THURSDAY", "FRIDAY", "SATURDAY", "SUNDAY"]
POWER_ACTIONS = ["APP_RESTART", "SYSTEM_REBOOT", "APPLET_RELOAD", "APPLET_REFRESH", "DISPLAY_POWER_ON",
                 "DISPLAY_POWER_OFF", "APPLET_DISABLE", "APPLET_ENABLE"]  # fmt: skip
ORIENTATIONS = ["LANDSCAPE", "LANDSCAPE_FLIPPED", "PORTRAIT", "PORTRAIT_FLIPPED", "AUTO"]
MAX_SCHEDULED_ACTIONS = 50
TIME_RE = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)(?::([0-5]\d))?$")
HOST_RE = re.compile(r"^(?=.{1,253}$)[A-Za-z0-9]([A-Za-z0-9-]{0,62})(\.[A-Za-z0-9]([A-Za-z0-9-]{0,62}))*$")


class ItemError(ValueError):
    pass


def parse_time(text: Any, name: str) -> time:
    if not isinstance(text, str) or not (match := TIME_RE.match(text)):
        raise ItemError(f"{name} must be a time HH:MM:SS (24 h).")
    return time(int(match[1]), int(match[2]), int(match[3] or 0))


def _integer(value: Any, name: str, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ItemError(f"{name} must be a whole number from {low} to {high}.")
    return value


def _number(value: Any, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not -100 <= value <= 200:
        raise ItemError(f"{name} must be a number of °C from -100 to 200.")
    return value


def _object(value: Any, allowed: set[str], required: set[str] = frozenset()) -> dict:
    if not isinstance(value, dict):
        raise ItemError("must be an object.")
    unknown = sorted(set(value) - allowed)
    if unknown:
        raise ItemError(f"unknown key '{unknown[0]}' (keys: {', '.join(sorted(allowed))}).")
    missing = sorted(required - set(value))
    if missing:
        raise ItemError(f"'{missing[0]}' is required.")
    return value


def _weekdays(value: Any, allowed: list[str]) -> list[str]:
    if not isinstance(value, list) or not value or any(day not in allowed for day in value):
        raise ItemError(f"weekdays must be a non-empty list of {', '.join(allowed)}.")
    return sorted(set(value), key=allowed.index)


def _timers(value: Any) -> list[dict]:
    if not isinstance(value, list) or len(value) > len(TIMER_TYPES):
        raise ItemError(f"must be a list of at most {len(TIMER_TYPES)} timers.")
    timers, seen = [], set()
    for timer in value:
        timer = _object(timer, {"type", "time_on", "time_off", "weekdays", "volume", "level"}, {"type", "weekdays"})
        if timer["type"] not in TIMER_TYPES or timer["type"] in seen:
            raise ItemError(f"each timer needs its own type among {', '.join(TIMER_TYPES)}.")
        seen.add(timer["type"])
        cleaned = {"type": timer["type"], "weekdays": _weekdays(timer["weekdays"], TIMER_WEEKDAYS)}
        for key in ("time_on", "time_off"):
            raw = timer.get(key)
            cleaned[key] = None if raw is None else parse_time(raw, key).isoformat()
        if cleaned["time_on"] is None and cleaned["time_off"] is None:
            raise ItemError("a timer needs time_on or time_off.")
        if timer.get("volume") is not None:
            cleaned["volume"] = _integer(timer["volume"], "volume", 0, 100)
        level = timer.get("level", "PROPRIETARY")
        if level not in TIMER_LEVELS:
            raise ItemError(f"level must be one of {', '.join(TIMER_LEVELS)}.")
        cleaned["level"] = level
        timers.append(cleaned)
    return sorted(timers, key=lambda timer: timer["type"])


def _power_actions(value: Any) -> list[dict]:
    if not isinstance(value, list) or len(value) > MAX_SCHEDULED_ACTIONS:
        raise ItemError(f"must be a list of at most {MAX_SCHEDULED_ACTIONS} scheduled actions.")
    actions = []
    for action in value:
        action = _object(action, {"power_action", "weekdays", "time"}, {"power_action", "weekdays", "time"})
        if action["power_action"] not in POWER_ACTIONS:
            raise ItemError(f"power_action must be one of {', '.join(POWER_ACTIONS)}.")
        actions.append(
            {
                "power_action": action["power_action"],
                "weekdays": _weekdays(action["weekdays"], WEEKDAYS),
                "time": parse_time(action["time"], "time").isoformat(),
            }
        )
    return actions


def _resolution(value: Any) -> dict:
    value = _object(value, {"width", "height", "framerate"}, {"width", "height"})
    cleaned = {key: _integer(value[key], key, 1, 16384) for key in ("width", "height")}
    if value.get("framerate") is not None:
        cleaned["framerate"] = _integer(value["framerate"], "framerate", 1, 240)
    return cleaned


def parse_version_loose(text: str) -> semver.Version | str:
    """A version as semver when it is one ("2.1" is 2.1.0, a leading "v" is ignored), else the text."""
    try:
        return semver.Version.parse(str(text).strip().removeprefix("v"), optional_minor_and_patch=True)
    except ValueError:
        return str(text).strip()


def _version(value: Any) -> str:
    if not isinstance(value, str) or len(value) > 50:
        raise ItemError("must be a semantic version like 2.4.0.")
    try:
        semver.Version.parse(value.strip().removeprefix("v"), optional_minor_and_patch=True)
    except ValueError:
        raise ItemError("must be a semantic version like 2.4.0.") from None
    return value.strip()


def _boolean(value: Any) -> bool:
    if not isinstance(value, bool):
        raise ItemError("must be true or false.")
    return value


def _datetime(value: Any) -> dict:
    value = _object(value, {"timezone", "ntp_server"}, {"timezone"})
    try:
        if not isinstance(value["timezone"], str):
            raise ValidationError("")
        validate_timezone(value["timezone"])
    except ValidationError:
        raise ItemError("timezone must be an IANA time zone like Europe/Paris.") from None
    cleaned = {"timezone": value["timezone"]}
    if value.get("ntp_server") not in (None, ""):
        if not isinstance(value["ntp_server"], str) or not HOST_RE.match(value["ntp_server"]):
            raise ItemError("ntp_server must be a host name like pool.ntp.org.")
        cleaned["ntp_server"] = value["ntp_server"]
    return cleaned


def _temperature(value: Any) -> dict:
    value = _object(value, {"min", "max"})
    cleaned = {key: _number(value[key], key) for key in ("min", "max") if value.get(key) is not None}
    if not cleaned:
        raise ItemError("needs min or max.")
    if "min" in cleaned and "max" in cleaned and cleaned["min"] >= cleaned["max"]:
        raise ItemError("min must be below max.")
    return cleaned


def _orientation(value: Any) -> str:
    if value not in ORIENTATIONS:
        raise ItemError(f"must be one of {', '.join(ORIENTATIONS)}.")
    return value


CLEANERS = {
    PolicyItemType.VOLUME: lambda value: _integer(value, "volume", 0, 100),
    PolicyItemType.BRIGHTNESS: lambda value: _integer(value, "brightness", 0, 100),
    PolicyItemType.TIMERS: _timers,
    PolicyItemType.POWER_ACTIONS_SCHEDULE: _power_actions,
    PolicyItemType.ORIENTATION: _orientation,
    PolicyItemType.RESOLUTION: _resolution,
    PolicyItemType.APPLICATION_VERSION: _version,
    PolicyItemType.REMOTE_CONTROL: _boolean,
    PolicyItemType.DATETIME: _datetime,
    PolicyItemType.TEMPERATURE: _temperature,
}


def item_value_clean(kind: str, value: Any) -> Any:
    """The value of one item of type `kind`, normalised; ItemError says what is wrong."""
    return CLEANERS[kind](value)


def policy_items_clean(items: Any) -> list[dict]:
    """A policy's `items`, normalised and in type order; a ValidationError on `items` naming the item at fault."""

    def error(message: str, code: str = "invalid") -> ValidationError:
        return ValidationError({"items": ValidationError(message, code=code)})

    if not isinstance(items, list):
        raise error("Expected a list of {type, value} items.")
    if len(items) > MAX_ITEMS:
        raise error(f"At most {MAX_ITEMS} items (one per type).")
    cleaned, seen = {}, set()
    for index, item in enumerate(items):
        if not isinstance(item, dict) or set(item) != {"type", "value"}:
            raise error(f"items[{index}]: expected exactly the keys type and value.")
        kind = item["type"]
        if not isinstance(kind, str) or kind not in PolicyItemType.values:
            raise error(f"items[{index}].type must be one of {', '.join(PolicyItemType.values)}.", "invalid_type")
        if kind in seen:
            raise error(f"items[{index}]: a policy holds one {kind} item.", "duplicate_type")
        seen.add(kind)
        try:
            cleaned[kind] = item_value_clean(kind, item["value"])
        except ItemError as problem:
            raise error(f"items[{index}].value ({kind}): {problem}", "invalid_value") from None
    return [{"type": kind, "value": cleaned[kind]} for kind in PolicyItemType.values if kind in cleaned]


def policies_merge(assignments: list[tuple[int, int, list[dict]]]) -> dict[str, dict]:
    """The effective settings from `(priority, policy_id, items)` of a player's active policies: for each
    item type, the item of the highest priority; between equal priorities, of the policy with the smaller
    id (the one created first), so that the result never depends on the order of the rows.

    Returns `{type: {"value", "policy", "priority"}}`."""
    effective: dict[str, dict] = {}
    for priority, policy_id, items in sorted(assignments, key=lambda row: (-row[0], row[1])):
        for item in items:
            effective.setdefault(item["type"], {"value": item["value"], "policy": policy_id, "priority": priority})
    return effective
