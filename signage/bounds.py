"""The ranges every whole number, day and instant the product accepts falls in (issue 14).

The API's serializers, its query-string filters and the models' validators all take their bounds from
here, so a value the database or Python's date arithmetic cannot hold is a 400, never a 500.
"""

from datetime import UTC, date, datetime

from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator

MAX_INT = 2**31 - 1  # PostgreSQL's integer
MAX_BIGINT = 2**63 - 1
# PostgreSQL's ranges of Django's integer fields (SQLite's are wider): the same bounds, and the same
# schema, on every database.
INTEGER_RANGES = {
    "SmallIntegerField": (-(2**15), 2**15 - 1),
    "IntegerField": (-(2**31), MAX_INT),
    "BigIntegerField": (-(2**63), MAX_BIGINT),
    "PositiveSmallIntegerField": (0, 2**15 - 1),
    "PositiveIntegerField": (0, MAX_INT),
    "PositiveBigIntegerField": (0, MAX_BIGINT),
    "SmallAutoField": (1, 2**15 - 1),
    "AutoField": (1, MAX_INT),
    "BigAutoField": (1, MAX_BIGINT),
}


def is_ascii_digits(text: str) -> bool:
    """Only 0-9: `str.isdigit()` is also true of '²' (which `int()` refuses) and of '٣' (which it reads as 3)."""
    return text.isascii() and text.isdigit()


def parse_id(text: str, maximum: int = MAX_INT) -> int | None:
    """A row id written in decimal digits, or None when the text is not one a row can have."""
    text = str(text).strip()
    if not is_ascii_digits(text) or len(text) > len(str(maximum)):
        return None
    value = int(text)
    return value if 0 < value <= maximum else None


# Days and instants: a day's own arithmetic (the next day, midnight in any timezone) stays inside
# Python's date range, and PostgreSQL holds them all.
FIRST_DAY = date(1970, 1, 1)
LAST_DAY = date(9998, 12, 31)
DAY_RANGE_TEXT = f"from {FIRST_DAY.isoformat()} to {LAST_DAY.isoformat()}"
DAY_VALIDATORS = [
    MinValueValidator(FIRST_DAY, message=f"Expected a day {DAY_RANGE_TEXT}."),
    MaxValueValidator(LAST_DAY, message=f"Expected a day {DAY_RANGE_TEXT}."),
]


def instant_clean(value: datetime) -> datetime:
    """An aware datetime in range, in UTC (PostgreSQL refuses offsets of 16 hours or more, e.g.
    `+16:00`, which ISO 8601 parsers accept)."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValidationError("Expected an ISO 8601 datetime with a timezone.", code="invalid")
    try:
        utc = value.astimezone(UTC)
    except (OverflowError, ValueError):
        utc = None
    if utc is None or not FIRST_DAY <= utc.date() <= LAST_DAY:
        raise ValidationError(f"Expected an instant {DAY_RANGE_TEXT}.", code="out_of_range")
    return utc
