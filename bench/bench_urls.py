"""The URLconf of the web benchmarks: every product route (shequn.urls), plus the baselines under /_bench/,
served by the same gunicorn workers (bench/bench_wsgi.py sends /_bench/ through Django with no
middleware). Bench-only: nothing in the product routes here.

- /_bench/hello          a bare Django hello (no query)
- /_bench/select/<id>    one one-row SELECT by primary key
- /_bench/write/<id>     (POST) one one-statement write: an UPDATE of one row by primary key, autocommit
"""

from django.db import connection
from django.http import HttpResponse
from django.urls import path

from shequn.urls import urlpatterns as product_urlpatterns

TABLE = "bench_row"  # made by bench/_web.py: (id int primary key, n bigint), 1,000 rows


def hello(request):  # noqa: ARG001 (a view's signature)
    return HttpResponse(b"hello", content_type="text/plain")


def select(request, pk):  # noqa: ARG001 (a view's signature)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT n FROM {TABLE} WHERE id = %s", [pk])
        row = cursor.fetchone()
    return HttpResponse(str(row[0] if row else "").encode(), content_type="text/plain")


def write(request, pk):  # noqa: ARG001 (a view's signature)
    with connection.cursor() as cursor:
        cursor.execute(f"UPDATE {TABLE} SET n = n + 1 WHERE id = %s", [pk])
    return HttpResponse(b"ok", content_type="text/plain")


urlpatterns = [
    path("_bench/hello", hello),
    path("_bench/select/<int:pk>", select),
    path("_bench/write/<int:pk>", write),
    *product_urlpatterns,
]
