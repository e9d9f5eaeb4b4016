"""Fleet scoping for admin classes of every app: non-superuser staff see and pick only their fleets'
objects (accounts.scoping decides which)."""

from . import scoping


class FleetScopedAdminMixin:
    def get_queryset(self, request):
        return scoping.scope_queryset(super().get_queryset(request), request.user)

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        field = super().formfield_for_foreignkey(db_field, request, **kwargs)
        return _scoped(field, request)

    def formfield_for_manytomany(self, db_field, request, **kwargs):
        field = super().formfield_for_manytomany(db_field, request, **kwargs)
        return _scoped(field, request)


def _scoped(field, request):
    queryset = getattr(field, "queryset", None)
    if field is not None and queryset is not None and getattr(queryset.model, "fleet_lookup", None):
        field.queryset = scoping.scope_queryset(queryset, request.user, scoping.ADMIN_ROLES)
    return field
