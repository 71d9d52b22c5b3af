"""A clean 503 when the database or Redis cannot be reached, instead of an error page with a traceback.

Only an unreachable database is answered here: an OperationalError/InterfaceError raised while the
connection is not open, or no longer usable. Anything else (a lock timeout on a live connection, a bug)
goes on to Django's ordinary error handling. The page is rendered without the request's context (no
session, no user: they need the database), names the part that failed and nothing of its address.
Redis is answered the same way, but only reaches here from what reads Redis directly (leaderboards): the
cache ignores its errors (settings.CACHES), so every other page keeps working without it.
"""

import logging

from django.db import InterfaceError, OperationalError, connection
from django.http import HttpResponse, JsonResponse
from django.template.loader import render_to_string
from django.utils.translation import gettext as _
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

logger = logging.getLogger("shequn.health")

RETRY_AFTER_SECONDS = 30
JSON_PREFIXES = ("/api/", "/_allauth/", "/healthz")


def database_unreachable() -> bool:
    if connection.connection is None:
        return True  # the connect itself failed
    try:
        return not connection.is_usable()
    except Exception:
        return True


class ServiceUnavailableMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if isinstance(exception, RedisConnectionError | RedisTimeoutError):
            logger.error("Redis unreachable while serving %s", request.path, exc_info=exception)
            return unavailable(request, "redis", _("服务暂时不可用：缓存服务（Redis）无法连接，请稍后再试。"))
        if not isinstance(exception, OperationalError | InterfaceError) or not database_unreachable():
            return None
        logger.error("database unreachable while serving %s", request.path, exc_info=exception)
        connection.close()  # the next request connects afresh
        return unavailable(request, "database", _("服务暂时不可用：数据库无法连接，请稍后再试。"))


def unavailable(request, part: str, message: str) -> HttpResponse:
    if request.path.startswith(JSON_PREFIXES):
        body = {"status": "unavailable", "ok": False, "detail": message, part: {"ok": False}}
        response = JsonResponse(body, status=503)
    else:
        response = HttpResponse(render_to_string("503.html", {"message": message}), status=503)
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response
