from rest_framework.permissions import SAFE_METHODS, BasePermission

from apps.accounts import scoping

from .authentication import oauth2_token


class OAuth2ScopePermission(BasePermission):
    """OAuth2 tokens act within their scopes: `read` for safe methods, `write` for the others."""

    message = "This token's scope does not allow this request."

    def has_permission(self, request, view):
        token = oauth2_token(request)
        if token is None:
            return True
        needed = "read" if request.method in SAFE_METHODS else "write"
        return needed in token.scope.split()


class FleetRolePermission(BasePermission):
    """Writes need one of the view's `write_roles` in the object's fleet; reads only membership.

    Objects outside the user's fleets never get here: the scoped queryset already answered 404.
    """

    message = "Your role in this fleet does not allow this action."

    def has_object_permission(self, request, view, obj):
        if request.method in SAFE_METHODS:
            return True
        role = scoping.role_in(request.user, scoping.fleet_of(obj))
        return role in view.get_write_roles()
