"""JSON pieces every app's API shares: the error shape, references to named objects, and people.

People appear by `public_name` (nickname or masked phone), never by their phone number.
"""

from django.conf import settings
from rest_framework import serializers


class ErrorItemSerializer(serializers.Serializer):
    field = serializers.CharField(allow_null=True, help_text="出错的输入字段；与单个字段无关时为 null。")
    code = serializers.CharField(help_text="机器可读的错误代码，如 invalid、full、not_found。")
    message = serializers.CharField(help_text="给用户看的说明（按请求语言）。")


class ErrorSerializer(serializers.Serializer):
    """The one error shape of the whole API (shequn.api.exception_handler renders it)."""

    errors = ErrorItemSerializer(many=True)


class RefSerializer(serializers.Serializer):
    """A reference to a named object: {id, name}."""

    id = serializers.IntegerField(read_only=True)
    name = serializers.CharField(read_only=True)


class PersonSerializer(serializers.Serializer):
    """Another person as others may see them: an id and the public name, never the phone number."""

    id = serializers.IntegerField(read_only=True)
    public_name = serializers.CharField(read_only=True)


def person(user) -> dict | None:
    """A user as PersonSerializer renders them, or None for nobody."""
    return None if user is None else {"id": user.pk, "public_name": user.public_name}


def absolute(request, url: str) -> str:
    """The full address of a site path: the request's own host, or SITE_URL outside a request."""
    return request.build_absolute_uri(url) if request is not None else settings.SITE_URL + url
