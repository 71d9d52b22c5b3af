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
