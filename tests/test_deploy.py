"""Deployment: docker-compose.yml and the Dockerfile (read, since no Docker engine runs the tests), the
container health checks (run for real against a live server), and Django's deployment checklist
under production settings."""

import importlib.util
import os
import re
import secrets
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
LONG_RUNNING = ("postgres", "redis", "web", "worker", "beat")
APP_SERVICES = ("migrate", "web", "worker", "beat")

# Warnings `check --deploy` may report under production settings, each with the reason it is accepted.
ALLOWED_DEPLOY_WARNINGS = {
    "security.W021": "HSTS preload is a deliberate opt-in (SECURE_HSTS_PRELOAD=1): once a domain is on the "
    "browsers' preload list, every subdomain is HTTPS-only for months, which the operator must choose.",
}


def load_healthcheck():
    spec = importlib.util.spec_from_file_location("docker_healthcheck", ROOT / "docker" / "healthcheck.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


healthcheck = load_healthcheck()


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


@pytest.fixture(scope="module")
def dockerfile() -> str:
    return (ROOT / "Dockerfile").read_text()


# --- docker-compose.yml ------------------------------------------------------------------------------


def test_the_stack_has_its_services(compose):
    assert set(compose["services"]) == {"postgres", "redis", "migrate", "web", "worker", "beat"}
    assert compose["services"]["postgres"]["image"] == "postgres:16"
    assert compose["services"]["redis"]["image"] == "redis:7"
    assert {"pgdata", "media"} <= set(compose["volumes"])
    assert "pgdata:/var/lib/postgresql/data" in compose["services"]["postgres"]["volumes"]


def test_every_long_running_service_has_a_healthcheck_and_the_migration_runs_once(compose):
    services = compose["services"]
    for name in LONG_RUNNING:
        test = services[name].get("healthcheck", {}).get("test")
        assert test and test[0] in ("CMD", "CMD-SHELL") and len(test) > 1, name
        assert services[name]["restart"] == "unless-stopped", name
    assert "pg_isready" in " ".join(services["postgres"]["healthcheck"]["test"])
    assert services["redis"]["healthcheck"]["test"][1:] == ["redis-cli", "ping"]
    assert services["migrate"]["command"][-2:] == ["migrate", "--noinput"]
    assert services["migrate"]["restart"] == "no"


def test_app_services_share_one_production_environment(compose):
    env = compose["x-env"]
    for name in APP_SERVICES:
        assert compose["services"][name]["environment"] is env, f"{name} must use *env"
    assert env["DEBUG"] == "0"
    assert re.fullmatch(r"postgres://shequn:\S+@postgres:5432/shequn", env["DATABASE_URL"])
    assert env["REDIS_URL"] == "redis://redis:6379/0"
    assert env["SECRET_KEY"] == "${SECRET_KEY:?set SECRET_KEY}", "compose must refuse to start without a key"
    assert env["SECURE_SSL_REDIRECT"] == "${SECURE_SSL_REDIRECT:-0}"
    for name in ("ALLOWED_HOSTS", "SITE_URL", "CSRF_TRUSTED_ORIGINS", "SESSION_COOKIE_SECURE", "CSRF_COOKIE_SECURE"):
        assert name in env, name


def test_services_start_in_order(compose):
    services = compose["services"]
    assert services["migrate"]["depends_on"]["postgres"]["condition"] == "service_healthy"
    for name in ("web", "worker", "beat"):
        depends = services[name]["depends_on"]
        assert depends["migrate"]["condition"] == "service_completed_successfully", name
        assert depends["redis"]["condition"] == "service_healthy", name


def test_web_runs_gunicorn_and_shares_uploads_with_the_worker(compose):
    web, worker, beat = (compose["services"][name] for name in ("web", "worker", "beat"))
    assert web["command"][:2] == ["gunicorn", "shequn.wsgi"]
    assert "0.0.0.0:8000" in web["command"]
    assert "media:/app/media" in web["volumes"] and "media:/app/media" in worker["volumes"]
    assert worker["command"][:5] == ["celery", "-A", "shequn", "worker", "-l"]
    assert beat["command"][:4] == ["celery", "-A", "shequn", "beat"]


def test_health_checks_point_at_what_really_runs(compose):
    services = compose["services"]
    for name in ("web", "beat"):
        script, mode = services[name]["healthcheck"]["test"][-2:]
        assert script == "/app/docker/healthcheck.py" and mode == name
    worker_check = services["worker"]["healthcheck"]["test"][1]
    assert "celery -A shequn inspect ping -d celery@$$HOSTNAME" in worker_check  # $$: escaped for compose
    beat_command = services["beat"]["command"]
    assert beat_command[beat_command.index("--schedule") + 1] == healthcheck.BEAT_SCHEDULE
    assert healthcheck.WEB_URL.startswith("http://127.0.0.1:8000/")


# --- Dockerfile and build context -------------------------------------------------------------------


def test_dockerfile_builds_a_non_root_image_with_the_cjk_font(dockerfile):
    assert dockerfile.startswith("#") and "FROM python:3.11-slim-bookworm\n" in dockerfile
    install = re.search(r"apt-get install[^\n]*", dockerfile).group(0)
    assert "fonts-wqy-microhei" in install and "gettext" in install
    assert "pip install -r requirements.txt" in dockerfile
    assert "collectstatic --noinput" in dockerfile
    assert "compilemessages" in dockerfile
    users = re.findall(r"^USER\s+(\S+)", dockerfile, flags=re.M)
    assert users and users[-1] not in ("root", "0")
    cmd = re.findall(r"^CMD .*", dockerfile, flags=re.M)[-1]
    assert "gunicorn shequn.wsgi -b 0.0.0.0:8000 --workers ${WEB_CONCURRENCY:-3}" in cmd


def test_build_context_leaves_out_local_state_and_keeps_the_app():
    ignored = {
        line.strip()
        for line in (ROOT / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    }
    assert {".git", ".venv", "var", ".env"} <= ignored
    for needed in ("docker", "manage.py", "shequn", "groups", "templates", "static", "requirements.txt", "locale"):
        assert needed not in ignored, needed


# --- the health-check script, for real ---------------------------------------------------------------


def get_status(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


def test_web_check_passes_while_healthz_is_503_for_want_of_a_worker(live_server, transactional_db):
    url = f"{live_server.url}/healthz"
    assert get_status(url) == 503  # no worker heartbeat in the tests: the worker's problem, not the web's
    ok, message = healthcheck.check_web(url)
    assert ok, message
    assert "no heartbeat" in message


def test_web_check_fails_when_redis_is_unreachable(live_server, transactional_db, settings):
    settings.REDIS_URL = "redis://127.0.0.1:1/0"
    ok, message = healthcheck.check_web(f"{live_server.url}/healthz")
    assert not ok
    assert "redis" in message


def test_web_check_fails_when_nothing_answers():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    ok, message = healthcheck.check_web(f"http://127.0.0.1:{port}/healthz", timeout=2)
    assert not ok
    assert "no answer" in message


def test_web_check_sends_a_host_django_accepts(live_server, transactional_db, settings, monkeypatch):
    url = f"{live_server.url}/healthz"
    settings.ALLOWED_HOSTS = [".example.com"]
    monkeypatch.setenv("ALLOWED_HOSTS", ".example.com,www.example.com")
    assert healthcheck.host_header() == "example.com"
    assert healthcheck.check_web(url)[0]

    monkeypatch.setenv("ALLOWED_HOSTS", "other.example.org")  # Django answers 400: not a health report
    ok, message = healthcheck.check_web(url)
    assert not ok
    assert "unexpected answer" in message


def test_beat_check_wants_a_recently_saved_schedule(tmp_path):
    schedule = str(tmp_path / "celerybeat-schedule")
    assert not healthcheck.check_beat(schedule)[0]  # beat never started

    Path(schedule + ".dat").write_bytes(b"x")  # the dumb dbm's files; gdbm writes the bare name
    assert healthcheck.check_beat(schedule)[0]

    old = time.time() - healthcheck.BEAT_MAX_AGE - 60
    os.utime(schedule + ".dat", (old, old))
    ok, message = healthcheck.check_beat(schedule)
    assert not ok
    assert "not saved" in message


def test_healthcheck_script_usage():
    result = subprocess.run([sys.executable, str(ROOT / "docker" / "healthcheck.py")], capture_output=True, text=True)
    assert result.returncode == 2
    assert "usage" in result.stderr


# --- Django's deployment checklist -------------------------------------------------------------------


def test_deploy_checklist_under_production_settings(tmp_path):
    """`check --deploy` with DEBUG off and nothing else relaxed reports only the allowed warnings."""
    relaxed = {
        "DEBUG",
        "SECRET_KEY",
        "ALLOWED_HOSTS",
        "SECURE_SSL_REDIRECT",
        "SESSION_COOKIE_SECURE",
        "CSRF_COOKIE_SECURE",
        "SECURE_HSTS_SECONDS",
        "SECURE_HSTS_INCLUDE_SUBDOMAINS",
        "SECURE_HSTS_PRELOAD",
    }
    relaxed.add("DJANGO_ALLOW_ASYNC_UNSAFE")  # set by the browser tests for Playwright, never in production
    env = {key: value for key, value in os.environ.items() if key not in relaxed}
    env.update(DEBUG="0", SECRET_KEY=secrets.token_urlsafe(50), ALLOWED_HOSTS="example.com", DATA_DIR=str(tmp_path))
    assert env.get("DATABASE_URL") and env.get("REDIS_URL")  # as in production: PostgreSQL and Redis

    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    output = result.stdout + result.stderr
    assert "System check identified" in output, output  # the checks ran (settings loaded, no crash)
    reported = set(re.findall(r"\(([\w.]+\.[CEW]\d{3})\)", output))
    assert reported == set(ALLOWED_DEPLOY_WARNINGS), output
    assert not re.search(r"\(\S+\.[CE]\d{3}\)", output), output  # never an error, allowed or not
