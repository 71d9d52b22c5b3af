"""A PostgreSQL server that stops under a running site: every request after it gets the clean 503.

tests/test_database_unavailable.py points the site at a port nobody listens on; here the server is a
real one this test starts from the same pip-installed PostgreSQL that scripts/run uses (scripts/lib.sh),
serves a query from, and then stops with `pg_ctl stop -m fast`, as an operator or a crash would.
(transactional_db: no test transaction holds the suite's own connection open.)
"""

import subprocess
from pathlib import Path
from urllib.parse import urlparse

import pytest
from django.db import connection

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.django_db(transaction=True)


def _lib(script: str, data_dir: Path) -> str:
    """Run `script` in bash after sourcing scripts/lib.sh; its standard output."""
    done = subprocess.run(
        ["bash", "-c", f'source "{ROOT}/scripts/lib.sh"; {script}', "_", str(data_dir)],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return done.stdout.strip()


@pytest.fixture
def own_server(tmp_path):
    """Starts a throwaway cluster; yields (its settings, a function that stops it)."""
    data_dir = tmp_path / "pg"
    url = urlparse(_lib('start_postgres "$1" >&2 && echo "$PG_URL"', data_dir))
    stop = lambda: _lib('start_postgres "$1" >&2 && stop_postgres', data_dir)  # noqa: E731 (adopts, then stops)
    settings = {"HOST": url.hostname, "PORT": str(url.port), "USER": url.username, "PASSWORD": url.password}
    try:
        yield {**settings, "NAME": "postgres"}, stop
    finally:
        if (data_dir / "postmaster.pid").exists():
            stop()


@pytest.fixture
def site_on_own_server(own_server):
    server, stop = own_server
    saved = dict(connection.settings_dict)
    connection.close()
    connection.settings_dict.update(server)
    try:
        yield stop
    finally:
        connection.close()
        connection.settings_dict.clear()
        connection.settings_dict.update(saved)


def test_requests_after_the_server_stops_get_a_clean_503(client, site_on_own_server):
    with connection.cursor() as cursor:  # the site is connected and the server answers
        cursor.execute("SELECT 1")
        assert cursor.fetchone() == (1,)

    site_on_own_server()

    page = client.get("/m/j/abcdefghijklmnop/")
    assert page.status_code == 503 and page["Content-Type"].startswith("text/html")
    assert "数据库无法连接" in page.content.decode() and "Traceback" not in page.content.decode()
    api = client.get("/api/v1/links/abcdefghijklmnop/")
    assert api.status_code == 503 and api.json()["database"] == {"ok": False}
    health = client.get("/healthz")
    assert health.status_code == 503 and health.json()["database"] == {"ok": False, "error": "unreachable"}
