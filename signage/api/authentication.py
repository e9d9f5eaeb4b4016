"""Authentication of API users: JWT and OAuth2 client-credentials tokens, behind `JWT` or `Bearer`.

Reference 000 sends OAuth2 tokens as `Authorization: JWT <token>`, so the prefix does not say which
kind of token follows: a token with the three dot-separated parts of a JWT is checked as one, anything
else is looked up as an OAuth2 access token.
"""

import hashlib

from django.utils import timezone
from oauth2_provider.models import AccessToken
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication, get_authorization_header
from rest_framework_simplejwt.authentication import JWTAuthentication
from rest_framework_simplejwt.exceptions import InvalidToken, TokenError

from signage.audit import record_principal


class TokenAuthentication(BaseAuthentication):
    keywords = (b"jwt", b"bearer")

    def __init__(self):
        self.jwt = JWTAuthentication()

    def authenticate(self, request):
        parts = get_authorization_header(request).split()
        if not parts or parts[0].lower() not in self.keywords:
            return None
        if len(parts) != 2:
            raise exceptions.AuthenticationFailed("Invalid Authorization header: expected '<type> <token>'.")
        try:
            raw = parts[1].decode("ascii")
        except UnicodeDecodeError:
            raise exceptions.AuthenticationFailed("Invalid token.") from None
        if raw.count(".") == 2:
            return self._authenticate_jwt(raw)
        return self._authenticate_oauth2(raw)

    def authenticate_header(self, request):
        return 'JWT realm="api"'

    def _authenticate_jwt(self, raw: str):
        try:
            validated = self.jwt.get_validated_token(raw.encode())
            user = self.jwt_user(validated)
        except (InvalidToken, TokenError, exceptions.AuthenticationFailed):
            raise exceptions.AuthenticationFailed("Invalid or expired token.", code="token_not_valid") from None
        record_principal(user)
        return user, validated

    def jwt_user(self, validated):
        """The user of a validated JWT: simplejwt's query (and its refusal of unknown and inactive users).
        The project's setting names a subclass that keeps it a while (apps/accounts/principals.py)."""
        return self.jwt.get_user(validated)

    def _authenticate_oauth2(self, raw: str):
        # django-oauth-toolkit stores the token's sha256 and looks tokens up by it.
        checksum = hashlib.sha256(raw.encode()).hexdigest()
        token = AccessToken.objects.select_related("application__user", "user").filter(token_checksum=checksum).first()
        if token is None or token.expires <= timezone.now():
            raise exceptions.AuthenticationFailed("Invalid or expired token.", code="token_not_valid")
        # A client-credentials token has no user of its own: it acts as the user who owns the
        # application. Tokens of other grants carry their user.
        user = token.user or (token.application.user if token.application else None)
        if user is None or not user.is_active:
            raise exceptions.AuthenticationFailed(
                "This token's application has no active owner.", code="token_not_valid"
            )
        record_principal(user, application=token.application.name if token.application else None)
        return user, token


def oauth2_token(request) -> AccessToken | None:
    auth = getattr(request, "auth", None)
    return auth if isinstance(auth, AccessToken) else None
