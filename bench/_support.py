"""What every benchmark in bench/ shares: a throwaway database on the server under test, and a timer.

Imported by the benchmark scripts (scripts/bench runs them with bench/ first on sys.path); not a
benchmark itself.
"""

import os
import time
from urllib.parse import urlsplit, urlunsplit


def _admin(url: str):
    import psycopg2

    admin = psycopg2.connect(urlunsplit(urlsplit(url)._replace(path="/postgres")))
    admin.autocommit = True
    return admin


def make_database(url: str, label: str) -> tuple[str, str]:
    """A new database named after `label` on the server of `url`; returns its name and URL."""
    name = f"shequn_bench_{label}_{os.getpid()}"
    admin = _admin(url)
    with admin.cursor() as cursor:
        cursor.execute(f'CREATE DATABASE "{name}"')
    admin.close()
    return name, urlunsplit(urlsplit(url)._replace(path=f"/{name}"))


def drop_database(url: str, name: str) -> None:
    admin = _admin(url)
    with admin.cursor() as cursor:
        cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    admin.close()


def timed(fn, *args, **kwargs):
    """`fn(*args, **kwargs)` and the seconds it took."""
    start = time.perf_counter()
    result = fn(*args, **kwargs)
    return result, time.perf_counter() - start
