"""Conditions on a broadcast or a schedule (reference 002's `conditions`, in this API's conventions).

A list of objects; all of them must hold for the content to play:

- `{"type": "day_type", "operator": "eq" | "ne", "value": "weekday" | "weekend" | "public_holiday"}`:
  the screen's local day; public holidays are those of the screen's country and region (its place),
  from the `holidays` library. A screen whose country is unknown has no public holidays.
- `{"type": "day_of_week", "operator": "in" | "not_in", "value": [1, 2, 3, 4, 5]}`: the screen's local
  weekday, 1 (Monday) to 7 (Sunday); schedules' `days_of_week` compile to it.
- `{"type": "time_range", "operator": "between" | "not_between", "value": "HH:MM-HH:MM"}`: the screen's
  local time, start included, end excluded; a range may cross midnight ("22:00-02:00").
- `{"type": "feed", "feed": <feed id>, "path": "$.current.temperature", "operator": "lt" | "lte" | "gt" |
  "gte" | "eq" | "ne", "value": <number, string or boolean>}`: a value in a data feed of the fleet. The
  path may name the screen's place: `{city}`, `{postalcode}`, `{region}`, `{country}`
  (`$.cities.{city}.temperature`).

A condition that cannot be evaluated (the feed was never fetched, its value is older than its staleness
limit, the path leads nowhere, or the value cannot be compared) does not hold: the content does not play.
Validation and evaluation are pure; the service checks that a feed belongs to the campaign's fleet.
"""

import re
from datetime import date, datetime, time, timedelta
from functools import lru_cache

import holidays
from django.core.exceptions import ValidationError

from signage.bounds import MAX_INT, is_ascii_digits

DAY_TYPES = ("weekday", "weekend", "public_holiday")
COMPARISONS = ("lt", "lte", "gt", "gte", "eq", "ne")
PLACE_KEYS = ("city", "postalcode", "region", "country")
_RANGE = re.compile(r"^(\d{2}):(\d{2})-(\d{2}):(\d{2})$")
_PATH_STEP = re.compile(r"\.([A-Za-z_{][\w{}\- ]*)|\[(\d+)\]|\[\"([^\"]*)\"\]")
MAX_CONDITIONS = 20


CONDITIONS_SCHEMA = {
    "type": "array",
    "items": {
        "type": "object",
        "properties": {
            "type": {"type": "string", "enum": ["day_type", "day_of_week", "time_range", "feed"]},
            "operator": {
                "type": "string",
                "enum": ["eq", "ne", "lt", "lte", "gt", "gte", "between", "not_between", "in", "not_in"],
            },
            "value": {"description": "weekday | weekend | public_holiday; HH:MM-HH:MM; or the value compared"},
            "feed": {
                "type": "integer",
                "minimum": 1,
                "maximum": MAX_INT,
                "description": "feed conditions: the id (or URL) of one of the fleet's data feeds",
            },
            "path": {"type": "string", "description": "feed conditions: a JSON path, e.g. $.cities.{city}.temp"},
        },
        "required": ["type", "operator", "value"],
    },
}


def _error(message: str) -> ValidationError:
    return ValidationError(message, code="invalid")


def parse_path(path) -> list:
    """The steps of a JSON path (`$.a.b[0]["c d"]`): names (str) and indexes (int). Raises ValueError."""
    if not isinstance(path, str) or not path.startswith("$") or len(path) > 500:
        raise ValueError("a JSON path starts with $")
    steps, position = [], 1
    while position < len(path):
        match = _PATH_STEP.match(path, position)
        if match is None:
            raise ValueError(f"unexpected {path[position : position + 10]!r}")
        name, index, quoted = match.groups()
        steps.append(int(index) if index is not None else (name if name is not None else quoted))
        position = match.end()
    for step in steps:
        if isinstance(step, str) and ("{" in step or "}" in step):
            placeholders = re.findall(r"\{([^{}]*)\}", step)
            if re.sub(r"\{[^{}]*\}", "", step).count("{") or any(key not in PLACE_KEYS for key in placeholders):
                raise ValueError(f"placeholders are {{{'}, {'.join(PLACE_KEYS)}}}")
    return steps


def _minutes(hours: str, minutes: str) -> int | None:
    h, m = int(hours), int(minutes)
    return h * 60 + m if (h < 24 and m < 60) or (h == 24 and m == 0) else None


def parse_range(value) -> tuple[int, int]:
    match = _RANGE.match(value) if isinstance(value, str) else None
    start, end = (_minutes(match[1], match[2]), _minutes(match[3], match[4])) if match else (None, None)
    if start is None or end is None or start == end or start == 24 * 60:
        raise ValueError("expected HH:MM-HH:MM with two different times")
    return start, end


def _scalar(value) -> bool:
    return isinstance(value, bool | int | float | str) and not (isinstance(value, str) and len(value) > 200)


def clean_conditions(value) -> list[dict]:
    """The normalised conditions, or a ValidationError saying which one is wrong and why. Feed
    references come back as ids; whether the feed is the fleet's is the caller's question."""
    if value in (None, ""):
        return []
    if not isinstance(value, list):
        raise _error("Expected a list of conditions.")
    if len(value) > MAX_CONDITIONS:
        raise _error(f"At most {MAX_CONDITIONS} conditions.")
    cleaned = []
    for number, condition in enumerate(value, start=1):
        where = f"Condition {number}"
        if not isinstance(condition, dict):
            raise _error(f"{where}: expected an object with a type, an operator and a value.")
        kind, operator, target = condition.get("type"), condition.get("operator"), condition.get("value")
        if kind == "day_type":
            if operator not in ("eq", "ne"):
                raise _error(f"{where}: the operator of a day_type is eq or ne, not {operator!r}.")
            if target not in DAY_TYPES:
                raise _error(f"{where}: a day type is one of {', '.join(DAY_TYPES)}, not {target!r}.")
            cleaned.append({"type": kind, "operator": operator, "value": target})
        elif kind == "day_of_week":
            if operator not in ("in", "not_in"):
                raise _error(f"{where}: the operator of a day_of_week is in or not_in, not {operator!r}.")
            days = target if isinstance(target, list) else None
            if not days or any(isinstance(day, bool) or day not in range(1, 8) for day in days):
                raise _error(f"{where}: a day_of_week value is a list of weekdays, 1 (Monday) to 7 (Sunday).")
            cleaned.append({"type": kind, "operator": operator, "value": sorted(set(days))})
        elif kind == "time_range":
            if operator not in ("between", "not_between"):
                raise _error(f"{where}: the operator of a time_range is between or not_between, not {operator!r}.")
            try:
                parse_range(target)
            except ValueError as error:
                raise _error(f"{where}: {target!r} is not a time range: {error}.") from None
            cleaned.append({"type": kind, "operator": operator, "value": target})
        elif kind == "feed":
            if operator not in COMPARISONS:
                raise _error(f"{where}: the operator of a feed condition is one of {', '.join(COMPARISONS)}.")
            try:
                parse_path(condition.get("path"))
            except ValueError as error:
                raise _error(f"{where}: the JSON path {condition.get('path')!r} does not parse: {error}.") from None
            if not _scalar(target) or target is None:
                raise _error(f"{where}: the value is a number, a string or a boolean.")
            numeric = isinstance(target, int | float) and not isinstance(target, bool)
            if operator in ("lt", "lte", "gt", "gte") and not numeric:
                raise _error(f"{where}: {operator} compares numbers.")
            feed = feed_key(condition.get("feed"))
            if feed is None:
                raise _error(f"{where}: 'feed' is the id or the URL of one of the fleet's data feeds.")
            cleaned.append(
                {"type": kind, "feed": feed, "path": condition["path"], "operator": operator, "value": target}
            )
        else:
            raise _error(f"{where}: unknown type {kind!r}; the types are day_type, day_of_week, time_range and feed.")
    return cleaned


def feed_key(value) -> int | None:
    """A feed id from an id or a feed hyperlink (`.../feeds/12/`)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, str):
        last = value.rstrip("/").rsplit("/", 1)[-1]
        is_feed = is_ascii_digits(last) and ("/" not in value or "/feeds/" in value) and len(last) < 12
        value = int(last) if is_feed else None
    return value if isinstance(value, int) and 0 < value <= MAX_INT else None


def feed_ids(conditions: list[dict]) -> set[int]:
    return {condition["feed"] for condition in conditions or () if condition.get("type") == "feed"}


# --- public holidays ------------------------------------------------------------------------------------


def _country_code(country: str) -> str | None:
    key = (country or "").strip()
    if not key:
        return None
    supported = holidays.list_supported_countries()
    if key.upper() in supported:
        return key.upper()
    wanted = key.lower().replace(" ", "_").replace("-", "_")
    for name, (class_name, alpha2, alpha3, *_rest) in holidays.registry.COUNTRIES.items():
        if wanted in (name, class_name.lower()) or key.upper() == alpha3:
            return alpha2
    return None


def _subdivision(code: str, region: str) -> str | None:
    region = (region or "").strip()
    if not region:
        return None
    entity = holidays.country_holidays(code)
    for subdivision in entity.subdivisions:
        if subdivision.lower() == region.lower():
            return subdivision
    aliases = getattr(entity, "subdivisions_aliases", {}) or {}
    for alias, subdivision in aliases.items():
        if alias.lower() == region.lower():
            return subdivision
    return None


@lru_cache(maxsize=512)
def public_holidays(country: str, region: str, first_year: int, last_year: int) -> frozenset[date]:
    """The public holidays of a country (an ISO code or an English name) and, when the library knows it,
    its region (a subdivision code or name), over whole years. Unknown country: none."""
    code = _country_code(country)
    if code is None:
        return frozenset()
    entity = holidays.country_holidays(code, subdiv=_subdivision(code, region), years=range(first_year, last_year + 1))
    return frozenset(entity.keys())


# --- evaluation -----------------------------------------------------------------------------------------


def day_type_of(day: date, holidays_of_screen) -> set[str]:
    kinds = {"weekend" if day.isoweekday() >= 6 else "weekday"}
    if day in holidays_of_screen:
        kinds.add("public_holiday")
    return kinds


def in_range(moment: time, value: str) -> bool:
    start, end = parse_range(value)
    now = moment.hour * 60 + moment.minute
    return start <= now < end if start < end else (now >= start or now < end)


class Unknown(Exception):
    """A value the condition needs is not there (missing or stale feed, path that leads nowhere)."""


def resolve(data, steps: list, place: dict):
    value = data
    for step in steps:
        if isinstance(step, str):
            step = re.sub(r"\{([^{}]*)\}", lambda match: str(place.get(match[1]) or ""), step)
            if not isinstance(value, dict) or step not in value:
                raise Unknown
            value = value[step]
        else:
            if not isinstance(value, list) or step >= len(value):
                raise Unknown
            value = value[step]
    return value


def compare(found, operator: str, target) -> bool:
    if operator in ("eq", "ne"):
        if isinstance(target, bool) or isinstance(found, bool):
            same = found is target
        elif isinstance(target, int | float) and isinstance(found, int | float):
            same = float(found) == float(target)
        else:
            same = str(found) == str(target)
        return same if operator == "eq" else not same
    if isinstance(found, bool) or not isinstance(found, int | float):
        if not isinstance(found, str):
            raise Unknown
        try:
            found = float(found)
        except ValueError:
            raise Unknown from None
    return {"lt": found < target, "lte": found <= target, "gt": found > target, "gte": found >= target}[operator]


def holds(conditions, *, now: datetime, holidays_of_screen, place: dict, feeds: dict) -> bool:
    """Whether every condition holds at `now` (the screen's local, aware time). `feeds` maps a feed id
    to `(data, fetched_at, max_age_seconds)`; a condition that cannot be evaluated does not hold."""
    for condition in conditions:
        kind = condition["type"]
        if kind == "day_type":
            matches = condition["value"] in day_type_of(now.date(), holidays_of_screen)
            if matches != (condition["operator"] == "eq"):
                return False
        elif kind == "day_of_week":
            if (now.isoweekday() in condition["value"]) != (condition["operator"] == "in"):
                return False
        elif kind == "time_range":
            if in_range(now.time(), condition["value"]) != (condition["operator"] == "between"):
                return False
        elif kind == "feed":
            feed = feeds.get(condition["feed"])
            if feed is None or feed[1] is None or feed[1] + timedelta(seconds=feed[2]) <= now:
                return False
            try:
                found = resolve(feed[0], parse_path(condition["path"]), place)
                if not compare(found, condition["operator"], condition["value"]):
                    return False
            except Unknown:
                return False
        else:
            return False
    return True


def changes(conditions, *, day: date, zone, feeds: dict) -> list[datetime]:
    """The instants of `day` (and feed expiries) at which these conditions may change their answer."""
    moments = []
    for condition in conditions:
        if condition["type"] == "time_range":
            for minutes in parse_range(condition["value"]):
                if minutes < 24 * 60:
                    moments.append(datetime.combine(day, time(minutes // 60, minutes % 60), tzinfo=zone))
        elif condition["type"] == "feed":
            feed = feeds.get(condition["feed"])
            if feed is not None and feed[1] is not None:
                moments.append(feed[1] + timedelta(seconds=feed[2]))
    return moments
