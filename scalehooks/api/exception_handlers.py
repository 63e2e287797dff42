"""The one exception handler of the API: every error is ``{status_code, error[, details]}`` (SPEC §4).

Domain errors (``scalehooks.errors``) and Django's ``ValidationError`` are
converted here, once: services, selectors and validators never raise DRF's
exceptions.
"""

import logging

from django.core.exceptions import (
    PermissionDenied,
    SuspiciousOperation,
    TooManyFieldsSent,
)
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.serializers import as_serializer_error

from scalehooks.errors import Conflict, DomainError, IllegalStateChange, NotFound, NotOffered, RateLimited

logger = logging.getLogger(__name__)


def error_response(status_code: int, message: str, details=None, headers=None) -> Response:
    body = {"status_code": status_code, "error": message}
    if details is not None:
        body["details"] = details
    return Response(body, status=status_code, headers=headers)


def _summary(details) -> str:
    """A one-line human message for a validation error."""
    if isinstance(details, dict):
        for field, messages in details.items():
            first = messages[0] if isinstance(messages, list) and messages else messages
            if isinstance(first, (dict, list)):
                first = _summary(first)
            return str(first) if field == "non_field_errors" else f"{field}: {first}"
    if isinstance(details, list) and details:
        return _summary(details[0]) if isinstance(details[0], (dict, list)) else str(details[0])
    return "Invalid request."


def api_exception_handler(exc, context):
    if isinstance(exc, IllegalStateChange):  # as Scale answers it (SPEC §4): a 400, not a 409
        return error_response(status.HTTP_400_BAD_REQUEST, str(exc))
    if isinstance(exc, Conflict):
        return error_response(status.HTTP_409_CONFLICT, str(exc))
    if isinstance(exc, NotOffered):
        return error_response(status.HTTP_402_PAYMENT_REQUIRED, str(exc))
    if isinstance(exc, NotFound):
        return error_response(status.HTTP_404_NOT_FOUND, str(exc))
    if isinstance(exc, RateLimited):
        return error_response(
            status.HTTP_429_TOO_MANY_REQUESTS, str(exc), headers={"Retry-After": str(exc.retry_after)}
        )
    if isinstance(exc, DomainError):
        return error_response(status.HTTP_400_BAD_REQUEST, str(exc))
    if isinstance(exc, TooManyFieldsSent):
        return error_response(status.HTTP_400_BAD_REQUEST, "Too many query parameters.")
    if isinstance(exc, SuspiciousOperation):
        return error_response(status.HTTP_400_BAD_REQUEST, "Bad request.")
    if isinstance(exc, DjangoValidationError):
        exc = exceptions.ValidationError(as_serializer_error(exc))
    elif isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied()

    if isinstance(exc, exceptions.ValidationError):
        details = exc.detail if isinstance(exc.detail, dict) else {"non_field_errors": exc.detail}
        return error_response(exc.status_code, _summary(details), details=details)
    if isinstance(exc, exceptions.APIException):
        headers = {}
        if getattr(exc, "auth_header", None):
            headers["WWW-Authenticate"] = exc.auth_header
        if getattr(exc, "wait", None):
            headers["Retry-After"] = str(int(exc.wait))
        return error_response(exc.status_code, str(exc.detail), headers=headers)
    return None  # an unexpected error: Django's 500 handling, logged
