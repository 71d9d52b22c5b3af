"""The README's first command: scripts/run, on the embedded default (a private PostgreSQL, tasks
in-process), serves the product with the demo shop and prints an operator login and a member invite link."""

import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def test_scripts_run_serves_the_demo_on_the_embedded_default(tmp_path):
    port = _free_port()
    unset = {"DATABASE_URL", "REDIS_URL", "DEBUG", "SECRET_KEY", "ALLOWED_HOSTS", "DJANGO_SETTINGS_MODULE"}
    env = {key: value for key, value in os.environ.items() if key not in unset}
    env.update(DATA_DIR=str(tmp_path / "data"), PORT=str(port), SHEQUN_VENV=sys.prefix)
    log = tmp_path / "run.log"
    with log.open("w") as out:
        process = subprocess.Popen(
            ["bash", "scripts/run"], cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    try:
        deadline = time.monotonic() + 240
        status = None
        while time.monotonic() < deadline and process.poll() is None:
            try:
                status, body = _get(f"http://127.0.0.1:{port}/healthz")
                if status == 200:
                    break
            except OSError:
                pass
            time.sleep(1)
        output = log.read_text()
        assert status == 200, output[-3000:]
        assert '"vendor": "postgresql"' in body and '"in-process"' in body

        assert "owner@demo.shequn" in output and "shequn-demo-2026" in output
        invite = re.search(rf"http://localhost:{port}/m/j/[\w-]+/", output)
        assert invite, output[-3000:]
        status, page = _get(invite.group(0).replace("localhost", "127.0.0.1"))
        assert status == 200 and "宝宝辅食交流" in page
        assert _get(f"http://127.0.0.1:{port}/accounts/login/")[0] == 200
        assert "run_schedule" in output  # the periodic jobs run beside the server
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
