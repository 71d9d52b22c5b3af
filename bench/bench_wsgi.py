"""The WSGI entry point of the web benchmarks (gunicorn bench_wsgi:application --pythonpath bench).

Requests under /_bench/ (the baselines of bench/bench_urls.py) go through a Django handler with no
middleware: "bare Django" in the scenarios' tables. Everything else goes through the product's own handler
with the full middleware stack of shequn.settings. Both handlers live in the same worker processes, so a
product figure and its baseline share workers, database connections and CPU.
"""

import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench_settings")

from django.core.handlers.wsgi import WSGIHandler  # noqa: E402
from django.core.wsgi import get_wsgi_application  # noqa: E402
from django.test.utils import override_settings  # noqa: E402

product = get_wsgi_application()


class BareHandler(WSGIHandler):
    """Django's WSGI handler with an empty MIDDLEWARE list."""

    def load_middleware(self, is_async=False):
        with override_settings(MIDDLEWARE=[]):
            super().load_middleware(is_async)


bare = BareHandler()


def application(environ, start_response):
    if environ.get("PATH_INFO", "").startswith("/_bench/"):
        return bare(environ, start_response)
    return product(environ, start_response)
