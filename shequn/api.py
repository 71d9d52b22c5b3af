"""API conventions shared by every app: errors are JSON with a field and a human message.

    {"errors": [{"field": "capacity", "code": "invalid", "message": "容量不能超过…"}]}

`field` is null for errors that are not about one input.
"""

from django.core.exceptions import PermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler


def _flatten(detail, field=None):
    if isinstance(detail, dict):
        for key, value in detail.items():
            if isinstance(key, int):  # an item of a list field: "accepted.1"
                key = f"{field}.{key}"
            yield from _flatten(value, None if key in ("non_field_errors", "__all__") else key)
    elif isinstance(detail, list):
        for item in detail:
            yield from _flatten(item, field)
    else:
        yield {"field": field, "code": getattr(detail, "code", "error"), "message": str(detail)}


def django_validation_to_drf(exc: DjangoValidationError) -> exceptions.ValidationError:
    if hasattr(exc, "error_dict"):
        return exceptions.ValidationError(
            {k: [str(m) for e in v for m in e.messages] for k, v in exc.error_dict.items()}
        )
    return exceptions.ValidationError({"non_field_errors": exc.messages})


def exception_handler(exc, context):
    if isinstance(exc, DjangoValidationError):
        exc = django_validation_to_drf(exc)
    elif isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied(str(exc) or None)
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    response.data = {
        "errors": list(
            _flatten(response.data if isinstance(exc, exceptions.ValidationError) else {"detail": exc.detail})
        )
    }
    for error in response.data["errors"]:
        if error["field"] == "detail":
            error["field"] = None
    return response


def error_response(
    message: str, *, code: str, field: str | None = None, http_status: int = status.HTTP_400_BAD_REQUEST
) -> Response:
    return Response({"errors": [{"field": field, "code": code, "message": message}]}, status=http_status)
