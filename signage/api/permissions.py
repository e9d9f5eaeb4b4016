from rest_framework.permissions import SAFE_METHODS, BasePermission

from apps.accounts import permissions, scoping

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
    """Writes need a role that the permission table allows for the view's action in the object's fleet;
    reads only membership (the table gives `view` to every role).

    Objects outside the user's fleets never get here: the scoped queryset already answered 404.
    """

    message = "Your role in this fleet does not allow this action."

    def has_object_permission(self, request, view, obj):
        if request.method in SAFE_METHODS:
            return True
        role = scoping.role_in(request.user, scoping.fleet_of(obj))
        return permissions.allows(role, view.resource, view.permission_action)
