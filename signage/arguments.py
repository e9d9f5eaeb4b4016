"""Keyword arguments of update services: a field left out is unchanged, and None can still be a value.

def place_update(*, place: Place, name: str | Unchanged = UNCHANGED, ...) -> Place:
    changes = given(name=name, ...)   # only what the caller passed
"""

from typing import Final


class Unchanged:
    """The default of an update service's field argument: the caller did not pass it."""

    def __repr__(self) -> str:
        return "UNCHANGED"


UNCHANGED: Final = Unchanged()


def given(**arguments) -> dict:
    """The arguments the caller passed (those not UNCHANGED), by name."""
    return {name: value for name, value in arguments.items() if value is not UNCHANGED}
