"""Refuse a request carrying a NUL character in its path, query or form fields before any view runs.

No address, parameter or form field of the product can contain one, and PostgreSQL refuses NUL in a
string (a query that met one would be a 500): a path parameter such as an invite code (/m/j/%00…/)
is checked here, before it can reach the database. Only url-encoded bodies are read (Django keeps their
bytes, so a view may still read request.body); a multipart body is left to the forms, whose text fields
refuse NUL themselves, because parsing it here would consume the stream views such as allauth's read.
"""

from django.http import HttpResponseBadRequest, JsonResponse
from django.utils.translation import gettext as _

URLENCODED = "application/x-www-form-urlencoded"


def _carries_nul(request) -> bool:
    if "\x00" in request.path:
        return True
    sources = [request.GET]
    if request.method == "POST" and request.content_type == URLENCODED:
        sources.append(request.POST)
    return any("\x00" in key or any("\x00" in v for v in values) for s in sources for key, values in s.lists())


def refuse_nul_characters(get_response):
    def middleware(request):
        if _carries_nul(request):
            message = _("请求中含有不允许的字符。")
            if request.path.startswith("/api/"):
                return JsonResponse({"errors": [{"field": None, "code": "invalid", "message": message}]}, status=400)
            return HttpResponseBadRequest(message, content_type="text/plain; charset=utf-8")
        return get_response(request)

    return middleware
