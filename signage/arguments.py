"""Keyword arguments of update services: a field left out is unchanged, and None can still be a value.

def place_update(*, place: Place, name: str | Unchanged = UNCHANGED, ...) -> Place:
    changes = given(name=name, ...)   # only what the caller passed

A wide service with partial updates names its fields in a TypedDict (total=False) and takes them as
`**fields: Unpack[CampaignFields]`; `refuse_unknown` makes a key the TypedDict does not name a TypeError.
"""

from collections.abc import Mapping
from typing import Final


class Unchanged:
    """The default of an update service's field argument: the caller did not pass it."""

    def __repr__(self) -> str:
        return "UNCHANGED"


UNCHANGED: Final = Unchanged()


def given(**arguments) -> dict:
    """The arguments the caller passed (those not UNCHANGED), by name."""
    return {name: value for name, value in arguments.items() if value is not UNCHANGED}


def refuse_unknown(service: str, accepted: type, values: Mapping, *, within: str = "") -> None:
    """Raise TypeError, as Python does for an unexpected keyword argument, if `values` has a key the TypedDict
    `accepted` does not name: a caller's mistake, never the client's (so never a 400), and never set on a model.
    `within` names the nested argument (e.g. "broadcasts") the values come from."""
    names = accepted.__required_keys__ | accepted.__optional_keys__
    unknown = sorted(set(values) - names)
    if unknown:
        where = f" in {within}" if within else ""
        raise TypeError(f"{service}() got an unexpected keyword argument{where}: {', '.join(map(repr, unknown))}")
