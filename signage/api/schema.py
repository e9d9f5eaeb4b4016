"""drf-spectacular extensions for the project's own authentication classes."""

from drf_spectacular.extensions import OpenApiAuthenticationExtension


class TokenAuthenticationScheme(OpenApiAuthenticationExtension):
    target_class = "signage.api.authentication.TokenAuthentication"
    name = "tokenAuth"

    def get_security_definition(self, auto_schema):
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": (
                "`JWT <token>` or `Bearer <token>`: a token from /api/get_jwt_token/ or an OAuth2 "
                "client-credentials access token from /api/oauth/token/."
            ),
        }
