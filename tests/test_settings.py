"""Settings: one database engine everywhere. Without a PostgreSQL DATABASE_URL they refuse to load,
saying why, instead of falling back to another engine."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def manage_check(tmp_path, database_url: str | None) -> subprocess.CompletedProcess:
    env = {key: value for key, value in os.environ.items() if key != "DATABASE_URL"}
    env.update(DEBUG="1", DATA_DIR=str(tmp_path))
    if database_url is not None:
        env["DATABASE_URL"] = database_url
    return subprocess.run(
        [sys.executable, "manage.py", "check"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )


def test_settings_refuse_to_load_without_a_database_url(tmp_path):
    result = manage_check(tmp_path, None)
    assert result.returncode != 0
    assert "DATABASE_URL must name a PostgreSQL database" in result.stderr
    assert "it is not set" in result.stderr and "scripts/run" in result.stderr
    assert list(tmp_path.iterdir()) == []  # and leave no database file behind


@pytest.mark.parametrize("url", ["mysql://user@localhost/shequn", "redis://127.0.0.1:6379/0"])
def test_settings_refuse_another_engine(tmp_path, url):
    result = manage_check(tmp_path, url)
    assert result.returncode != 0
    assert "DATABASE_URL must name a PostgreSQL database" in result.stderr
    assert f"it names {url.split(':')[0]!r}" in result.stderr


def test_settings_load_with_a_postgres_url(tmp_path):
    result = manage_check(tmp_path, os.environ["DATABASE_URL"])
    assert result.returncode == 0, result.stderr


def database_config(tmp_path, pooler: str | None) -> subprocess.CompletedProcess:
    """settings.DATABASES["default"] as JSON, loaded in a fresh process with DATABASE_POOLER = `pooler`."""
    env = {key: value for key, value in os.environ.items() if key != "DATABASE_POOLER"}
    env.update(DEBUG="1", DATA_DIR=str(tmp_path))
    if pooler is not None:
        env["DATABASE_POOLER"] = pooler
    code = (
        "import json; from django.conf import settings; print(json.dumps(settings.DATABASES['default'], default=str))"
    )
    return subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", code],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_behind_pgbouncer_in_transaction_mode_server_side_cursors_are_off(tmp_path):
    import json

    direct = database_config(tmp_path, None)
    pooled = database_config(tmp_path, "pgbouncer")
    assert direct.returncode == 0 and pooled.returncode == 0, direct.stderr + pooled.stderr
    direct, pooled = (json.loads(r.stdout.strip().splitlines()[-1]) for r in (direct, pooled))
    # A cursor declared in one transaction is gone when the next runs on another server connection.
    assert pooled["DISABLE_SERVER_SIDE_CURSORS"] is True
    assert direct["DISABLE_SERVER_SIDE_CURSORS"] is False
    # Everything else is the same: the pooler is addressed by DATABASE_URL like PostgreSQL itself.
    assert {k: v for k, v in pooled.items() if k != "DISABLE_SERVER_SIDE_CURSORS"} == {
        k: v for k, v in direct.items() if k != "DISABLE_SERVER_SIDE_CURSORS"
    }


def test_settings_refuse_an_unknown_pooler(tmp_path):
    result = database_config(tmp_path, "pgpool")
    assert result.returncode != 0
    assert "DATABASE_POOLER must be empty (connect directly) or 'pgbouncer' (transaction mode)" in result.stderr
    assert "'pgpool'" in result.stderr
