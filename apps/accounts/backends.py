"""Console rights derived from fleet memberships (one rule: apps/accounts/permissions.py).

A staff user who is a member of fleets gets the Django model permissions that the permission table gives
their roles, so the admin shows them what the API lets them do; which objects, and what they may do on
each one, is decided per fleet by the admin classes (`apps.accounts.admin_scoping`). Nothing to keep in
sync by hand: change a membership's role and the console follows.
"""

from django.contrib.auth.backends import BaseBackend

from . import permissions
from .models import Role
from .scoping import memberships_of

_CACHE = "_signage_membership_perms"


class MembershipPermissionBackend(BaseBackend):
    def get_all_permissions(self, user_obj, obj=None) -> set[str]:
        if obj is not None or not user_obj.is_active or user_obj.is_anonymous:
            return set()
        if not hasattr(user_obj, _CACHE):
            roles = set(memberships_of(user_obj).values_list("role", flat=True).distinct())
            if user_obj.is_staff and _operator_staff(user_obj):
                roles = {Role.ADMIN}  # the operator's staff act as admins of every fleet
            setattr(user_obj, _CACHE, permissions.model_permissions(roles))
        return getattr(user_obj, _CACHE)

    def has_perm(self, user_obj, perm, obj=None) -> bool:
        app_label, _, codename = perm.partition(".")
        action, _, model_name = codename.partition("_")
        if not permissions.has_rule(f"{app_label}.{model_name}", action):
            return False  # not a permission the table gives: no query (view_every_fleet, ...)
        return perm in self.get_all_permissions(user_obj, obj)

    def has_module_perms(self, user_obj, app_label) -> bool:
        prefix = f"{app_label}."
        return any(perm.startswith(prefix) for perm in self.get_all_permissions(user_obj))


def _operator_staff(user) -> bool:
    from django.contrib.auth.backends import ModelBackend

    return ModelBackend().has_perm(user, "accounts.view_every_fleet")
