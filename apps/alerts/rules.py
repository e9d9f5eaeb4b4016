"""The rule language (reference 004 "Alert/Rule"), checked before anything is stored.

`rule_clean` turns a rule's `filter`, `conditions`, `threshold`, `periodicity` and `action` into their
canonical form or raises a ValidationError naming the field: a rule that could not be evaluated is never
stored. Value shapes are the reference's: `[operator, number]`, `[operator, occurrences, range_in_past_ms]`,
`[operator, range_in_past_ms]`, `[semver_operator, "1.2.3"]`, booleans.
"""

import uuid
import zoneinfo
from datetime import datetime, timedelta

import semver
from django.core.exceptions import ValidationError
from django.core.validators import EmailValidator, URLValidator

from apps.accounts.models import Fleet, Role
from apps.devices.policies.status import VIOLATION_ITEMS
from signage.bounds import is_ascii_digits

from .models import AlertType

NUMERIC_OPERATORS = (">", "<", "<=", ">=", "=", "!=")
TIME_RANGE_OPERATORS = (">", "<")
SEMVER_OPERATORS = (">", "<", "<=", ">=", "=", "==", "!=")

PERCENTAGE_CONDITIONS = ("STORAGE_STATUS", "VOLUME", "BRIGHTNESS")
NUMERIC_CONDITIONS = ("TEMPERATURE",)
OCCURRENCE_CONDITIONS = ("FAILED_ACTIONS", "SCREENSHOT")
# A device in violation of its policies (apps/devices/policies/status.py): of any judged item, or of one.
POLICY_VIOLATION_CONDITIONS = ("POLICY_VIOLATION", *(f"POLICY_VIOLATION_{kind}" for kind in VIOLATION_ITEMS))
BOOLEAN_CONDITIONS = ("REMOTE_CONTROL", "SCREEN_OPEN", *POLICY_VIOLATION_CONDITIONS)
DEVICE_CONDITIONS = (
    "ALIVE_AT", *PERCENTAGE_CONDITIONS, *NUMERIC_CONDITIONS, "APPLICATION_VERSION", *OCCURRENCE_CONDITIONS,
    *BOOLEAN_CONDITIONS,
)  # fmt: skip
FILTER_KEYS = ("model", "name", "application_version", "screen_groups", "places", "screens")
MAX_RANGE_MS = 366 * 24 * 3600 * 1000
MAX_LIST = 1000
MIN_INTERVAL = 60  # the evaluation task runs every minute


def _error(field: str, message: str, code: str = "invalid") -> ValidationError:
    return ValidationError({field: ValidationError(message, code=code)})


def _number(value) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _integer(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def parse_version(text: str) -> semver.Version | None:
    """A device's or a rule's version as semver; "2.1" counts as 2.1.0; None when it is no version."""
    if not isinstance(text, str) or not text.strip():
        return None
    try:
        return semver.Version.parse(text.strip().removeprefix("v"), optional_minor_and_patch=True)
    except (ValueError, TypeError):
        return None


def semver_matches(version: semver.Version, operator: str, wanted: semver.Version) -> bool:
    comparison = version.compare(wanted)
    return {
        ">": comparison > 0,
        "<": comparison < 0,
        ">=": comparison >= 0,
        "<=": comparison <= 0,
        "=": comparison == 0,
        "==": comparison == 0,
        "!=": comparison != 0,
    }[operator]


def _semver_pair(field: str, name: str, value) -> list:
    if not isinstance(value, list) or len(value) != 2 or value[0] not in SEMVER_OPERATORS:
        raise _error(
            field, f"{name}: expected [operator, version] with an operator among {', '.join(SEMVER_OPERATORS)}."
        )
    if parse_version(value[1]) is None:
        raise _error(field, f"{name}: '{value[1]}' is not a semantic version (like 3.12.0).", "invalid_semver")
    return [value[0], str(parse_version(value[1]))]


def _condition(name: str, value) -> object:
    field = "conditions"
    if name == "ALIVE_AT":
        if not isinstance(value, list) or len(value) != 2 or value[0] not in TIME_RANGE_OPERATORS:
            raise _error(field, "ALIVE_AT: expected [operator, range_in_past_ms] with '>' or '<'.")
        if not _integer(value[1]) or not 0 < value[1] <= MAX_RANGE_MS:
            raise _error(field, f"ALIVE_AT: the range is a whole number of milliseconds, 1 to {MAX_RANGE_MS}.")
        return list(value)
    if name in PERCENTAGE_CONDITIONS or name in NUMERIC_CONDITIONS:
        if not isinstance(value, list) or len(value) != 2 or value[0] not in NUMERIC_OPERATORS:
            raise _error(
                field, f"{name}: expected [operator, number] with an operator among {', '.join(NUMERIC_OPERATORS)}."
            )
        low, high = (0, 100) if name in PERCENTAGE_CONDITIONS else (-100, 200)
        if not _number(value[1]) or not low <= value[1] <= high:
            raise _error(field, f"{name}: the number must be from {low} to {high}.")
        return list(value)
    if name == "APPLICATION_VERSION":
        return _semver_pair(field, name, value)
    if name in OCCURRENCE_CONDITIONS:
        if not isinstance(value, list) or len(value) != 3 or value[0] not in NUMERIC_OPERATORS:
            raise _error(field, f"{name}: expected [operator, occurrences, range_in_past_ms].")
        if not _integer(value[1]) or value[1] < 0:
            raise _error(field, f"{name}: occurrences is a whole number, 0 or more.")
        if not _integer(value[2]) or not 0 < value[2] <= MAX_RANGE_MS:
            raise _error(field, f"{name}: the range is a whole number of milliseconds, 1 to {MAX_RANGE_MS}.")
        return list(value)
    if name in BOOLEAN_CONDITIONS:
        if not isinstance(value, bool):
            raise _error(field, f"{name}: expected true or false.")
        return value
    raise _error(field, f"Unknown condition '{name}'. Valid: {', '.join(DEVICE_CONDITIONS)}.", "unknown_condition")


def conditions_clean(value, *, alert_type: str) -> dict:
    if not isinstance(value, dict):
        raise _error("conditions", "Expected an object of conditions.")
    if alert_type == AlertType.SHARE_OF_VOICE:
        if value:
            raise _error("conditions", "Share-of-voice rules take no conditions.")
        return {}
    if not value:
        raise _error("conditions", "A device rule needs at least one condition.", "required")
    return {name: _condition(name, item) for name, item in value.items()}


def _id_list(field: str, key: str, value, model, fleet: Fleet) -> list:
    """Ids (or URLs) of the fleet's objects, canonical and sorted; an id of another fleet is unknown here."""
    if not isinstance(value, list) or len(value) > MAX_LIST or not all(isinstance(item, str | int) for item in value):
        raise _error(field, f"{key}: expected a list of ids (at most {MAX_LIST}).")
    ids = set()
    for item in value:
        text = str(item).rstrip("/").rsplit("/", 1)[-1]
        try:
            parsed = str(uuid.UUID(text)) if model._meta.pk.get_internal_type() == "UUIDField" else int(text)
            if isinstance(parsed, int) and not 0 < parsed < 2**63:
                raise ValueError(text)
            ids.add(parsed)
        except (ValueError, TypeError):
            raise _error(field, f"{key}: '{text}' is not an id.", "does_not_exist") from None
    found = sorted(model.objects.of_fleet(fleet.pk).filter(pk__in=ids).values_list("pk", flat=True), key=str)
    if len(found) != len(ids):
        raise _error(field, f"{key}: some ids are not objects of this fleet.", "does_not_exist")
    return [str(pk) if not isinstance(pk, int) else pk for pk in found]


def filter_clean(value, *, fleet: Fleet, alert_type: str) -> dict:
    from apps.places.models import Place
    from apps.screens.models import Screen, ScreenGroup

    field = "filter"
    if not isinstance(value, dict):
        raise _error(field, "Expected an object.")
    if alert_type == AlertType.SHARE_OF_VOICE and value:
        raise _error(field, "Share-of-voice rules take no device filter.")
    unknown = [key for key in value if key not in FILTER_KEYS]
    if unknown:
        raise _error(field, f"Unknown filter '{unknown[0]}'. Valid: {', '.join(FILTER_KEYS)}.")
    cleaned: dict = {}
    for key in ("model", "name"):
        if key in value:
            if not isinstance(value[key], str) or len(value[key]) > 200:
                raise _error(field, f"{key}: expected a text of at most 200 characters.")
            cleaned[key] = value[key]
    if "application_version" in value:
        cleaned["application_version"] = _semver_pair(field, "application_version", value["application_version"])
    for key, model in (("screen_groups", ScreenGroup), ("places", Place), ("screens", Screen)):
        if key in value:
            cleaned[key] = _id_list(field, key, value[key], model, fleet)
    return cleaned


def threshold_clean(value) -> dict:
    if value in (None, {}):
        return {"type": "percentage", "percentage": 0}
    if not isinstance(value, dict) or value.get("type") != "percentage" or set(value) - {"type", "percentage"}:
        raise _error("threshold", 'Expected {"type": "percentage", "percentage": 0-99}.')
    percentage = value.get("percentage")
    if not _number(percentage) or not 0 <= percentage <= 99:
        raise _error("threshold", "percentage must be a number from 0 to 99 (100 would never be exceeded).")
    return {"type": "percentage", "percentage": percentage}


def _minutes(text) -> int | None:
    if not isinstance(text, str) or len(text) != 5 or text[2] != ":":
        return None
    hours, minutes = text[:2], text[3:]
    if not (is_ascii_digits(hours) and is_ascii_digits(minutes)) or int(hours) > 24 or int(minutes) > 59:
        return None
    total = int(hours) * 60 + int(minutes)
    return total if total <= 24 * 60 else None


def _window(index: int, value, fleet: Fleet) -> dict:
    field = "periodicity"
    where = f"active_time_windows[{index}]"
    if not isinstance(value, dict) or set(value) - {"weekdays", "start", "end", "timezone"}:
        raise _error(field, f"{where}: expected {{weekdays, start, end, timezone}}.")
    start, end = _minutes(value.get("start")), _minutes(value.get("end"))
    if start is None or end is None:
        raise _error(field, f"{where}: start and end are HH:MM times.")
    if start == end:
        raise _error(field, f"{where}: the window is empty (start equals end).", "empty_window")
    weekdays = value.get("weekdays", [1, 2, 3, 4, 5, 6, 7])
    if not isinstance(weekdays, list) or not weekdays or not all(_integer(day) and 1 <= day <= 7 for day in weekdays):
        raise _error(field, f"{where}: weekdays is a non-empty list of days, 1 (Monday) to 7.", "empty_window")
    zone = value.get("timezone") or fleet.timezone
    if not isinstance(zone, str) or zone not in zoneinfo.available_timezones():
        raise _error(field, f"{where}: '{zone}' is not an IANA timezone.")
    return {"weekdays": sorted(set(weekdays)), "start": value["start"], "end": value["end"], "timezone": zone}


def periodicity_clean(value, *, fleet: Fleet) -> dict:
    if _integer(value):  # the reference's own sample sends the interval alone
        value = {"interval": value}
    if value in (None, {}):
        value = {"interval": 300}
    if not isinstance(value, dict) or set(value) - {"interval", "active_time_windows"}:
        raise _error("periodicity", "Expected {interval, active_time_windows}.")
    interval = value.get("interval")
    if not _integer(interval) or not MIN_INTERVAL <= interval <= 7 * 24 * 3600:
        raise _error("periodicity", f"interval is a whole number of seconds from {MIN_INTERVAL} to 604800.")
    windows = value.get("active_time_windows", [])
    if not isinstance(windows, list) or len(windows) > 50:
        raise _error("periodicity", "active_time_windows is a list (at most 50).")
    return {"interval": interval, "active_time_windows": [_window(i, w, fleet) for i, w in enumerate(windows)]}


def action_clean(value) -> dict:
    if value in (None, {}):
        return {"emails": [], "roles": [], "webhook_url": None}
    if not isinstance(value, dict) or set(value) - {"emails", "roles", "webhook_url"}:
        raise _error("action", "Expected {emails, roles, webhook_url}.")
    emails = value.get("emails", [])
    if not isinstance(emails, list) or len(emails) > 50:
        raise _error("action", "emails is a list of at most 50 addresses.")
    for email in emails:
        try:
            EmailValidator()(email if isinstance(email, str) else "")
        except ValidationError:
            raise _error("action", f"'{email}' is not an e-mail address.") from None
    roles = value.get("roles", [])
    if not isinstance(roles, list) or not all(role in Role.values for role in roles):
        raise _error("action", f"roles is a list among {', '.join(Role.values)}.")
    webhook = value.get("webhook_url")
    if webhook is not None:
        try:
            URLValidator(schemes=["http", "https"])(webhook if isinstance(webhook, str) else "")
        except ValidationError:
            raise _error("action", "webhook_url must be an http or https URL.") from None
        if len(webhook) > 2000:
            raise _error("action", "webhook_url is too long.")
    return {"emails": list(dict.fromkeys(emails)), "roles": sorted(set(roles)), "webhook_url": webhook}


def rule_clean(*, fleet: Fleet, values: dict) -> dict:
    """The rule's JSON parts in canonical form; a ValidationError naming the field otherwise."""
    alert_type = values.get("alert_type", AlertType.DEVICE)
    if alert_type not in AlertType.values:
        raise _error("alert_type", f"Valid: {', '.join(AlertType.values)}.")
    return {
        "filter": filter_clean(values.get("filter", {}), fleet=fleet, alert_type=alert_type),
        "conditions": conditions_clean(values.get("conditions", {}), alert_type=alert_type),
        "threshold": threshold_clean(values.get("threshold")),
        "periodicity": periodicity_clean(values.get("periodicity"), fleet=fleet),
        "action": action_clean(values.get("action")),
    }


def in_active_window(periodicity: dict, at: datetime) -> bool:
    """Whether `at` falls in one of the rule's active windows (always, without windows). A window whose end
    comes before its start runs across midnight, into the next day."""
    windows = periodicity.get("active_time_windows") or []
    if not windows:
        return True
    for window in windows:
        local = at.astimezone(zoneinfo.ZoneInfo(window["timezone"]))
        minute = local.hour * 60 + local.minute
        start, end = _minutes(window["start"]), _minutes(window["end"])
        days = window["weekdays"]
        if start < end:
            if local.isoweekday() in days and start <= minute < end:
                return True
        else:
            yesterday = (local - timedelta(days=1)).isoweekday()
            if (local.isoweekday() in days and minute >= start) or (yesterday in days and minute < end):
                return True
    return False
