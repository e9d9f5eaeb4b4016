from rest_framework.permissions import SAFE_METHODS, BasePermission

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
