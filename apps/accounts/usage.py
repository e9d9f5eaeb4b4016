"""Plan usage counters of a fleet that apps above accounts provide.

accounts cannot import the screens app (SPEC section 2), yet `/me/` and `/fleets/` show how many active
screens a fleet has. The screens app registers the expression at start-up; until an app registers a
counter, it reads 0 (there is nothing to count).
"""

from collections.abc import Callable

from django.db.models import Expression, IntegerField, Value

_counters: dict[str, Callable[[], Expression]] = {}

COUNTERS = ("active_screens_count",)


def register_counter(name: str, expression: Callable[[], Expression]) -> None:
    if name not in COUNTERS:
        raise ValueError(f"Unknown fleet usage counter {name!r}.")
    _counters[name] = expression


def usage_annotations() -> dict[str, Expression]:
    return {
        name: _counters[name]() if name in _counters else Value(0, output_field=IntegerField()) for name in COUNTERS
    }
