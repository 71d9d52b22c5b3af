"""API conventions shared by every app: errors are JSON with a field and a human message.

    {"errors": [{"field": "capacity", "code": "invalid", "message": "容量不能超过…"}]}

`field` is null for errors that are not about one input.
"""

from django.core.exceptions import PermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiResponse
from rest_framework import exceptions, status
from rest_framework.pagination import LimitOffsetPagination
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from .serializers import ErrorSerializer


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


def error_doc(description: str) -> OpenApiResponse:
    """An error response in the schema: the one error shape, with what this status means here."""
    return OpenApiResponse(ErrorSerializer, description=description)


# The error responses most operations share, for their @extend_schema(responses=…).
DENIED = error_doc("Not signed in (code not_authenticated), or not allowed.")
NOT_FOUND = error_doc("No such object here (another member's or another shop's objects are not found either).")
INVALID = error_doc("Invalid input: one entry per field in errors[].")
SHOP_DENIED = error_doc("Not signed in, no seat on any shop (code no_shop_seat), or the seat's role may not write.")


class BoundedLimitOffsetPagination(LimitOffsetPagination):
    """?limit=&offset= with a range each: a value outside it is a 400 on that parameter, never a query.

    (DRF's own class turns an offset past the database's integer range into a 500, and has no page-size
    maximum.)
    """

    default_limit = 50
    max_limit = 200
    max_offset = 10**9  # far beyond any list here, well inside PostgreSQL's bigint

    def _bounded(self, request, name: str, low: int, high: int, default: int) -> int:
        raw = request.query_params.get(name)
        if raw is None or raw == "":
            return default
        if not (raw.isascii() and raw.isdigit() and len(raw) <= 12 and low <= int(raw) <= high):
            raise exceptions.ValidationError(
                {name: [_("%(name)s 必须是 %(low)d–%(high)d 之间的整数。") % {"name": name, "low": low, "high": high}]}
            )
        return int(raw)

    def get_limit(self, request):
        return self._bounded(request, self.limit_query_param, 1, self.max_limit, self.default_limit)

    def get_offset(self, request):
        return self._bounded(request, self.offset_query_param, 0, self.max_offset, 0)

    def get_schema_operation_parameters(self, view):
        parameters = super().get_schema_operation_parameters(view)
        ranges = {self.limit_query_param: (1, self.max_limit), self.offset_query_param: (0, self.max_offset)}
        for parameter in parameters:
            low, high = ranges[parameter["name"]]
            parameter["schema"] = {"type": "integer", "minimum": low, "maximum": high}
        return parameters


def document_refused_requests(result, **_context):
    """drf-spectacular hook: every operation may answer 400 in the error shape, as every request may be
    refused before its view (a NUL character: shequn.input_guard) or by a bounded query parameter."""
    for item in result["paths"].values():
        for operation in item.values():
            operation["responses"].setdefault(
                "400",
                {
                    "description": "Invalid input: one entry per field in errors[].",
                    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
                },
            )
    return result
