"""The one place that decides which fleets a principal may see and change.

Every model of the product declares `fleet_lookup`, the ORM path from it to its fleet ("fleet",
"screen__fleet", "pk" for Fleet itself). A model whose objects without a fleet are shared by every
fleet (public places) also sets `shared_without_fleet = True`. API viewsets, admin classes and web forms scope their
querysets with `scope_queryset`, and check rights with `role_in` against the permission table
(apps/accounts/permissions.py).

Who sees every fleet: superusers, and staff users holding the `accounts.view_every_fleet` permission
(the operator's own staff). A staff user without it is a customer given access to the admin, scoped
to their memberships like any API user.
"""

from django.db.models import Q, QuerySet

from signage.scopes import FleetQuerySet

from .models import Fleet, Membership, Role


def sees_every_fleet(user) -> bool:
    if user is None or not user.is_authenticated or not user.is_active:
        return False
    if user.is_superuser:
        return True
    # Only staff can hold the permission; skipping the lookup for everyone else keeps API requests of
    # ordinary users free of the permission queries.
    return user.is_staff and user.has_perm("accounts.view_every_fleet")


def memberships_of(user) -> QuerySet[Membership]:
    """The user's own memberships, in every fleet: what scoping itself starts from."""
    return Membership.objects.unscoped("a user's own memberships decide their fleets").filter(user_id=user.pk)


def scope_queryset(queryset: QuerySet, user, roles: frozenset[str] | None = None) -> QuerySet:
    """Restrict `queryset` to the objects of the fleets `user` belongs to (with one of `roles`).

    The membership test is a subquery, so scoping adds no query of its own. The result may run in a
    request (signage/scopes.py): this is the one place that marks a fleet-owned queryset as scoped.
    """
    queryset = _mark_scoped(queryset)
    if sees_every_fleet(user):
        return queryset
    if user is None or not user.is_authenticated:
        return queryset.none()
    fleet_ids = memberships_of(user)
    if roles is not None:
        fleet_ids = fleet_ids.filter(role__in=roles)
    lookup = queryset.model.fleet_lookup
    condition = Q(**{f"{lookup}__in": fleet_ids.values("fleet_id")})
    if getattr(queryset.model, "shared_without_fleet", False):
        condition |= Q(**{f"{lookup}__isnull": True})
    return queryset.filter(condition)


def _mark_scoped(queryset: QuerySet) -> QuerySet:
    return queryset.fleet_scoped() if isinstance(queryset, FleetQuerySet) else queryset


def fleets_of(user, roles: frozenset[str] | None = None) -> QuerySet[Fleet]:
    return scope_queryset(Fleet.objects.all(), user, roles)


def role_in(user, fleet_id) -> str | None:
    """The user's role in the fleet, `admin` for those who see every fleet, None for outsiders."""
    if sees_every_fleet(user):
        return Role.ADMIN
    if user is None or not user.is_authenticated or fleet_id is None:
        return None
    cache = user.__dict__.setdefault("_signage_roles", {})
    if fleet_id not in cache:
        cache[fleet_id] = memberships_of(user).filter(fleet_id=fleet_id).values_list("role", flat=True).first()
    return cache[fleet_id]


def fleet_of(obj) -> int | None:
    """The id of the fleet `obj` belongs to, following its model's `fleet_lookup`."""
    path = type(obj).fleet_lookup
    if path == "pk":
        return obj.pk
    parts = path.split("__")
    for part in parts[:-1]:
        obj = getattr(obj, part, None)
        if obj is None:
            return None
    return getattr(obj, parts[-1] if parts[-1].endswith("_id") else f"{parts[-1]}_id")
