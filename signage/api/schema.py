"""drf-spectacular extensions for the project's own authentication classes."""

from drf_spectacular.extensions import OpenApiAuthenticationExtension


class TokenAuthenticationScheme(OpenApiAuthenticationExtension):
    target_class = "signage.api.authentication.TokenAuthentication"
    match_subclasses = True  # the setting names apps.accounts.principals' subclass
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


def add_oauth2_token_endpoint(result, generator, request, public):
    """Documents `POST /api/oauth/token/`, a django-oauth-toolkit view that drf-spectacular cannot see."""
    result.setdefault("components", {}).setdefault("securitySchemes", {})["oauth2ClientCredentials"] = {
        "type": "oauth2",
        "flows": {
            "clientCredentials": {
                "tokenUrl": "/api/oauth/token/",
                "scopes": {"read": "Read the fleets' data", "write": "Change the fleets' data", "groups": "Groups"},
            }
        },
    }
    result["paths"]["/api/oauth/token/"] = {
        "post": {
            "operationId": "oauth_token_create",
            "summary": "OAuth2 access token (client credentials)",
            "description": (
                "HTTP Basic authentication with the application's client id and secret; the token acts as the "
                "user who owns the application. Send it as `Authorization: Bearer <token>` (or `JWT <token>`)."
            ),
            "tags": ["auth"],
            "security": [{"basicAuth": []}],
            "requestBody": {
                "required": True,
                "content": {
                    "application/x-www-form-urlencoded": {
                        "schema": {
                            "type": "object",
                            "properties": {"grant_type": {"type": "string", "enum": ["client_credentials"]}},
                            "required": ["grant_type"],
                        }
                    }
                },
            },
            "responses": {
                "200": {
                    "description": "A new access token.",
                    "content": {
                        "application/json": {
                            "schema": {
                                "type": "object",
                                "properties": {
                                    "access_token": {"type": "string"},
                                    "token_type": {"type": "string", "example": "Bearer"},
                                    "expires_in": {"type": "integer", "example": 36000},
                                    "scope": {"type": "string", "example": "read write groups"},
                                },
                            }
                        }
                    },
                },
                "400": {"description": "Unsupported grant type or bad request."},
                "401": {"description": "Unknown client or wrong secret."},
                "429": {"description": "Too many requests from this address."},
            },
        }
    }
    result["components"]["securitySchemes"].setdefault("basicAuth", {"type": "http", "scheme": "basic"})
    return result


ERROR_SCHEMAS = {
    "ErrorDetail": {
        "type": "object",
        "properties": {"detail": {"type": "string"}, "code": {"type": "string"}},
        "required": ["detail", "code"],
    },
    "ValidationErrors": {
        "type": "object",
        "description": 'Per field (`__all__` for the whole object): `{"field": [{"message": ..., "code": ...}]}`; '
        "share-of-voice errors keep reference 000's own shapes.",
        "additionalProperties": {
            "oneOf": [
                {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "properties": {"message": {"type": "string"}, "code": {"type": "string"}},
                    },
                },
                {"type": "object"},
            ]
        },
    },
    "Throttled": {
        "type": "object",
        "properties": {
            "code": {"type": "string", "enum": ["throttled"]},
            "message": {"type": "string", "example": "Request was throttled. Expected available in 42 seconds."},
        },
        "required": ["code", "message"],
    },
}


def _response(description: str, *schemas: str) -> dict:
    refs = [{"$ref": f"#/components/schemas/{schema}"} for schema in schemas]
    return {
        "description": description,
        "content": {"application/json": {"schema": refs[0] if len(refs) == 1 else {"anyOf": refs}}},
    }


def add_error_responses(result, generator, request, public):
    """Documents the error responses every API operation can give, in the project's error shapes."""
    result.setdefault("components", {}).setdefault("schemas", {}).update(ERROR_SCHEMAS)
    for path, operations in result["paths"].items():
        for method, operation in operations.items():
            if method not in ("get", "post", "put", "patch", "delete"):
                continue
            responses = operation.setdefault("responses", {})
            public_operation = operation.get("security") == [] or any(
                not item for item in operation.get("security", [{}])
            )
            if method in ("post", "put", "patch") or "parameters" in operation:
                responses.setdefault(
                    "400",
                    _response(
                        "Invalid input; nothing was changed. Field errors, or `parse_error` for a body or query "
                        "string that cannot be read (bad JSON, nested too deep, NUL characters, lone surrogates).",
                        "ValidationErrors",
                        "ErrorDetail",
                    ),
                )
            if any(parameter.get("in") == "query" for parameter in operation.get("parameters", [])):
                # Answered by the HTTP server before the application (gunicorn's --limit-request-line).
                responses.setdefault("414", {"description": "The URL is longer than the server accepts."})
            if method in ("post", "put", "patch"):
                responses.setdefault(
                    "413", _response("The body is larger than the server accepts (`request_too_large`).", "ErrorDetail")
                )
            if not public_operation:
                responses.setdefault("401", _response("No or invalid credentials.", "ErrorDetail"))
                responses.setdefault("403", _response("Not allowed for this principal.", "ErrorDetail"))
            if "{" in path:
                responses.setdefault("404", _response("No such object among yours.", "ErrorDetail"))
            responses.setdefault("429", _response("Rate limit exceeded (see Retry-After).", "Throttled"))
    return result


SELECTION_NOTE = "`fields=` and `omit=` (on lists) leave properties out; without them every property is present."


def selected_properties_are_optional(result, generator, request, public):
    """Objects answered by an operation that takes `fields=` may lack any property the client left out,
    so their schemas (and every other answer sharing them) mark none as required: `?fields=id` answers
    `{"id": ...}` and still matches."""
    schemas = result.get("components", {}).get("schemas", {})
    names = set()
    for operations in result["paths"].values():
        for operation in operations.values():
            if not isinstance(operation, dict):
                continue
            if not any(parameter.get("name") == "fields" for parameter in operation.get("parameters", [])):
                continue
            for response in operation.get("responses", {}).values():
                for content in response.get("content", {}).values():
                    names.update(_object_refs(content.get("schema", {}), schemas))
    for name in names:
        schema = schemas[name]
        if schema.pop("required", None) is not None:
            schema["description"] = f"{schema.get('description', '')}\n\n{SELECTION_NOTE}".strip()
    return result


def _object_refs(schema: dict, schemas: dict) -> set[str]:
    """The components a response's objects are: the item of a page, or the object itself."""
    ref = schema.get("$ref", "")
    name = ref.rsplit("/", 1)[-1]
    if not name:
        return set()
    items = schemas[name].get("properties", {}).get("results", {}).get("items", {})
    if name.startswith("Paginated") and "$ref" in items:
        return {items["$ref"].rsplit("/", 1)[-1]}
    return {name}
