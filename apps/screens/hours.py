"""Week hours: `{"1": [["09:00", "18:00"]], ..., "7": []}` (1 is Monday).

The format of a screen's opening_hours and download_hours and of a broadcast's display_periods
(reference 000). A day that is absent or has an empty list is not restricted (reference 000's example
gives `"6": []` for "whole day on Saturday"); `{}` restricts nothing. Ranges are HH:MM, start before
end ("24:00" may end a day), and do not overlap.
"""

import re
from datetime import time
from itertools import pairwise

from django.core.exceptions import ValidationError

DAYS = ("1", "2", "3", "4", "5", "6", "7")
_HHMM = re.compile(r"^(\d{2}):(\d{2})$")


def _minutes(value, *, end: bool) -> int:
    match = _HHMM.match(value) if isinstance(value, str) else None
    if not match:
        raise ValidationError(f"'{value}' is not a time in HH:MM format.", code="invalid")
    hours, minutes = int(match[1]), int(match[2])
    if minutes > 59 or hours > 24 or (hours == 24 and (minutes or not end)):
        raise ValidationError(f"'{value}' is not a valid time of day.", code="invalid")
    return hours * 60 + minutes


def clean_week_hours(value) -> dict[str, list[list[str]]]:
    """The normalised week hours (days in order, ranges sorted), or a ValidationError saying why not."""
    if not isinstance(value, dict):
        raise ValidationError(
            'Expected an object of weekdays "1" (Monday) to "7" (Sunday), each a list of ["HH:MM", "HH:MM"].',
            code="invalid",
        )
    unknown = sorted(str(key) for key in value if str(key) not in DAYS)
    if unknown:
        raise ValidationError(
            f'Unknown weekday {unknown[0]!r}: weekdays are "1" (Monday) to "7" (Sunday).', code="invalid"
        )
    week = {}
    for day in DAYS:
        if day not in value:
            continue
        ranges = value[day]
        if not isinstance(ranges, list) or not all(isinstance(r, list | tuple) and len(r) == 2 for r in ranges):
            raise ValidationError(f'Day "{day}": expected a list of ["HH:MM", "HH:MM"] ranges.', code="invalid")
        spans = sorted((_minutes(start, end=False), _minutes(stop, end=True), start, stop) for start, stop in ranges)
        for start, stop, start_text, stop_text in spans:
            if start >= stop:
                raise ValidationError(f'Day "{day}": {start_text} is not before {stop_text}.', code="invalid")
        for previous, following in pairwise(spans):
            if following[0] < previous[1]:
                raise ValidationError(
                    f'Day "{day}": {previous[2]}-{previous[3]} overlaps {following[2]}-{following[3]}.', code="invalid"
                )
        week[day] = [[start_text, stop_text] for _, _, start_text, stop_text in spans]
    return week


def is_open(week: dict, weekday: int, at: time) -> bool:
    """Whether `week` allows the instant: `weekday` 1 (Monday) to 7, `at` a wall-clock time."""
    ranges = week.get(str(weekday)) if week else None
    if not ranges:
        return True
    minute = at.hour * 60 + at.minute
    return any(_minutes(start, end=False) <= minute < _minutes(stop, end=True) for start, stop in ranges)
