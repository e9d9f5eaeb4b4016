"""Tenancy that fails closed: in a request, a queryset of a fleet-owned model runs only once scoped.

Every fleet-owned model subclasses `FleetOwned` (declares `fleet_lookup` and gets `FleetManager`). While
a request is served (`FleetGuardMiddleware`), evaluating one of its querysets raises `UnscopedQuery`
unless the queryset was

- scoped by `apps.accounts.scoping.scope_queryset` (the principal's fleets; those who see every fleet
  get the whole table through the same call),
- reached from an object already in hand (a related manager: `screen.players.all()`, or a prefetch
  below a scoped queryset), or
- cut to one fleet the code already checked with `.of_fleet(fleet_id)` (a service given a fleet), or
- marked as a deliberate cross-fleet read with `.unscoped("why")` (or a block: `with unscoped("why")`),
  the one escape, greppable by name.

Outside requests (Celery tasks, management commands, the shell, test set-up) nothing is checked: those
run as the operator. A request that forgot to scope is a 500 and a failing test, never another fleet's
rows. `save()` and `update()` are not checked (a queryset's `delete()` is when it must read its rows first).
Django's own reads from an object in hand (a foreign key, `refresh_from_db`, deletion's collector) and
auditlog's (AUDITLOG_USE_BASE_MANAGER) use the base manager, which does not check.
"""

from contextlib import contextmanager
from contextvars import ContextVar

from django.db import models
from django.db.models import Q

_guarded: ContextVar[bool] = ContextVar("signage_fleet_guard", default=False)


class UnscopedQuery(RuntimeError):
    """A fleet-owned queryset was evaluated in a request without a fleet scope."""


@contextmanager
def fleet_guard(enabled: bool = True):
    """Check (or, with `enabled=False`, stop checking) fleet-owned querysets inside the block."""
    token = _guarded.set(enabled)
    try:
        yield
    finally:
        _guarded.reset(token)


@contextmanager
def unscoped(reason: str):
    """A block of deliberate cross-fleet reads inside a request (the objects a signed link names, the
    loop of screens already in hand); also a decorator. `reason` says why, for the reader."""
    if not reason:
        raise ValueError("unscoped() needs a reason")
    with fleet_guard(False):
        yield


def unscoped_request(reason: str) -> None:
    """Stop checking for the rest of the current request (`FleetGuardMiddleware` restores the check).

    Only for principals whose every read is keyed by their own ids: the device protocol, after the
    device authenticated by its token. `reason` says why, for the reader.
    """
    if not reason:
        raise ValueError("unscoped_request() needs a reason")
    _guarded.set(False)


class FleetGuardMiddleware:
    """Turns the check on for the whole request, the lean device path included (first in MIDDLEWARE)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        with fleet_guard():
            return self.get_response(request)


SCOPED = "scoped"


class FleetQuerySet(models.QuerySet):
    """A fleet-owned model's queryset: refuses to run in a request until scoped (see the module doc)."""

    _fleet_scope: str | None = None  # None, SCOPED or "unscoped: <reason>"

    def _clone(self):
        clone = super()._clone()
        clone._fleet_scope = self._fleet_scope
        return clone

    def fleet_scoped(self):
        """Marks the queryset as cut to a principal's fleets: for `accounts.scoping` only."""
        clone = self._chain()
        clone._fleet_scope = SCOPED
        return clone

    def of_fleet(self, fleet_id: int | None):
        """What a member of one fleet sees (its objects, and the shared ones of a model that has them; for
        `None`, the shared ones only): for code holding a fleet already checked against the principal, such
        as a service given a fleet or an object of it."""
        lookup = self.model.fleet_lookup
        return self._of(Q(**{lookup: fleet_id}) if fleet_id is not None else Q(pk__in=[]))

    def of_fleets(self, fleet_ids):
        """`of_fleet` for several fleets (ids already checked, e.g. from `scoping.fleets_of`)."""
        return self._of(Q(**{f"{self.model.fleet_lookup}__in": fleet_ids}))

    def _of(self, condition: Q):
        if getattr(self.model, "shared_without_fleet", False):
            condition |= Q(**{f"{self.model.fleet_lookup}__isnull": True})
        clone = self.filter(condition)
        clone._fleet_scope = SCOPED
        return clone

    def unscoped(self, reason: str):
        """A deliberate cross-fleet read (device token lookup, periodic sweeps run from a request, ...)."""
        if not reason:
            raise ValueError("unscoped() needs a reason")
        clone = self._chain()
        clone._fleet_scope = f"unscoped: {reason}"
        return clone

    def _check_scope(self) -> None:
        # Django gives the querysets it builds from an object in hand (related managers, also over a prefetched
        # cache) that object as their "instance" hint.
        if self._fleet_scope is None and _guarded.get() and "instance" not in self._hints:
            raise UnscopedQuery(
                f"A {self.model.__name__} queryset was evaluated in a request without a fleet scope: scope it with "
                "apps.accounts.scoping.scope_queryset, or mark a deliberate cross-fleet read with .unscoped(reason)."
            )

    def _fetch_all(self):
        if self._result_cache is None:
            self._check_scope()
        super()._fetch_all()

    def _prefetch_related_objects(self):
        # The related rows are those of objects this (checked) queryset returned: a `Prefetch(queryset=...)`
        # below it is scoped by them.
        with fleet_guard(False):
            super()._prefetch_related_objects()

    def iterator(self, chunk_size=None):
        self._check_scope()
        return super().iterator(chunk_size)

    def count(self):
        if self._result_cache is None:
            self._check_scope()
        return super().count()

    def exists(self):
        if self._result_cache is None:
            self._check_scope()
        return super().exists()

    def aggregate(self, *args, **kwargs):
        self._check_scope()
        return super().aggregate(*args, **kwargs)

    def contains(self, obj):
        if self._result_cache is None:
            self._check_scope()
        return super().contains(obj)


class FleetManager(models.Manager.from_queryset(FleetQuerySet)):
    """The default manager of every fleet-owned model."""


class FleetOwned(models.Model):
    """Base of every fleet-owned model: it declares `fleet_lookup`, the ORM path to its fleet ("fleet",
    "screen__fleet"; "pk" for Fleet), and gets the checking manager. A test fails for a model with a
    `fleet_lookup` that is not a FleetOwned, and for one that points to a fleet-owned model without one."""

    fleet_lookup: str

    objects = FleetManager()

    class Meta:
        abstract = True

    # Uniqueness is a property of the whole table: Django's checks read every fleet's rows (exists()).
    def validate_unique(self, exclude=None):
        with unscoped("uniqueness is checked across the whole table"):
            super().validate_unique(exclude)

    def validate_constraints(self, exclude=None):
        with unscoped("constraints are checked across the whole table"):
            super().validate_constraints(exclude)
