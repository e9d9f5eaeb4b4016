"""The API's error shapes (SPEC section 3).

- Validation errors: `{"<field>": [{"message": ..., "code": ...}]}`, `__all__` for the whole object,
  nested the same way for nested serializers.
- Domain errors whose shape a reference fixes (quota_exceeded, ...) are raised by services as
  `signage.errors.DomainError` with their payload and status, and rendered as they are (the objects the
  error names in the representation of the view's serializer).
- Throttling: `{"code": "throttled", "message": "Request was throttled. Expected available in N seconds."}`.
- Everything else (401, 403, 404, 405, 415, ...): `{"detail": ..., "code": ...}`.
No stack trace or SQL ever reaches a client: unexpected errors become a bare 500.
"""

import logging

from django.core.exceptions import NON_FIELD_ERRORS, RequestDataTooBig, SuspiciousOperation
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404, JsonResponse
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.views import set_rollback

from signage.errors import DomainError

from .ratelimit import throttled_payload

logger = logging.getLogger("signage.api")

ALL = "__all__"


def _entries(detail) -> list[dict]:
    return [{"message": str(item), "code": getattr(item, "code", None) or "invalid"} for item in detail]


def validation_payload(detail):
    """DRF's validation detail in our shape, recursively for nested serializers."""
    if isinstance(detail, dict):
        payload = {}
        for key, value in detail.items():
            name = ALL if key in (api_settings.NON_FIELD_ERRORS_KEY, NON_FIELD_ERRORS) else str(key)
            payload[name] = validation_payload(value)
        return payload
    if isinstance(detail, list):
        if all(isinstance(item, str) for item in detail):
            return _entries(detail)
        # A list of nested objects (many=True): keep positions, empty dicts for valid items.
        return [validation_payload(item) for item in detail]
    return _entries([detail])


def _details(errors) -> list[exceptions.ErrorDetail]:
    return [exceptions.ErrorDetail(message, error.code or "invalid") for error in errors for message in error.messages]


def _as_drf(exc):
    if isinstance(exc, RequestDataTooBig):  # read before a parser could (e.g. `request.body`)
        from .parsers import RequestTooLarge

        return RequestTooLarge()
    if isinstance(exc, SuspiciousOperation):  # too many form fields, a bad multipart boundary, ...
        return exceptions.ParseError(str(exc) or None)
    if isinstance(exc, Http404):
        return exceptions.NotFound()
    if isinstance(exc, DjangoPermissionDenied):
        return exceptions.PermissionDenied(str(exc) or None, code=getattr(exc, "code", None))
    if isinstance(exc, DjangoValidationError):
        # Model.clean()/services raise Django's error; give it the same shape as a serializer's.
        if hasattr(exc, "error_dict"):
            return exceptions.ValidationError({key: _details(errors) for key, errors in exc.error_dict.items()})
        return exceptions.ValidationError({ALL: _details(exc.error_list)})
    return exc


def _domain_payload(error: DomainError, view) -> dict:
    payload = dict(error.payload)
    for key, obj in error.objects.items():
        payload[key] = view.get_serializer(obj).data
    return payload


def exception_handler(exc, context):
    if isinstance(exc, DomainError):
        set_rollback()
        return Response(_domain_payload(exc, context.get("view")), status=exc.status)
    exc = _as_drf(exc)
    if not isinstance(exc, exceptions.APIException):
        logger.exception("Unhandled error in %s", context.get("view").__class__.__name__, exc_info=exc)
        set_rollback()
        return Response(
            {"detail": "A server error occurred.", "code": "server_error"},
            status=status.HTTP_500_INTERNAL_SERVER_ERROR,
        )

    headers = {}
    if getattr(exc, "auth_header", None):
        headers["WWW-Authenticate"] = exc.auth_header
    if getattr(exc, "wait", None) is not None:
        headers["Retry-After"] = str(int(exc.wait))

    if isinstance(exc, exceptions.Throttled):
        payload = throttled_payload(exc.wait)
    elif isinstance(exc, exceptions.ValidationError):
        detail = exc.detail if isinstance(exc.detail, dict) else {ALL: exc.detail}
        payload = validation_payload(detail)
    else:
        detail = exc.detail
        if isinstance(detail, dict | list):  # a view passed a structure to a non-validation error
            payload = {"detail": detail, "code": exc.default_code}
        else:
            payload = {"detail": str(detail), "code": getattr(detail, "code", None) or exc.default_code}

    set_rollback()
    return Response(payload, status=exc.status_code, headers=headers)


def _is_api(request) -> bool:
    return request.path.startswith("/api/")


def handler404(request, exception=None):
    if _is_api(request):
        return JsonResponse({"detail": "Not found.", "code": "not_found"}, status=404)
    from django.views.defaults import page_not_found

    return page_not_found(request, exception)


def handler500(request):
    if _is_api(request):
        return JsonResponse({"detail": "A server error occurred.", "code": "server_error"}, status=500)
    from django.views.defaults import server_error

    return server_error(request)
