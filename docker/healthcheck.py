"""Container health checks for docker-compose.yml (the slim image has no curl).

    python /app/docker/healthcheck.py web    # exit 0: the web process answers and reaches PostgreSQL and Redis
    python /app/docker/healthcheck.py beat   # exit 0: celery beat has written its schedule file lately

web: asks /healthz and reads its JSON whatever the status code. /healthz answers 503 while no Celery
worker heartbeat is seen; that is the worker's health (the worker container has its own check), so
it does not make the web container unhealthy. A web process that does not answer, answers something
other than /healthz's JSON (e.g. 400 for a Host not in ALLOWED_HOSTS), or cannot reach its database
or Redis is unhealthy.

beat: celery beat saves its schedule (a shelve file, one to three files depending on the dbm
backend) at least every few minutes while it sends the 30-second heartbeat task; a file older than
BEAT_MAX_AGE means beat is stuck or gone.
"""

import glob
import json
import os
import sys
import time
import urllib.error
import urllib.request

WEB_URL = "http://127.0.0.1:8000/healthz"
BEAT_SCHEDULE = "/tmp/celerybeat-schedule"
BEAT_MAX_AGE = 600  # seconds; beat syncs its schedule about every 3.5 minutes


def host_header() -> str:
    """A host Django accepts (the first of ALLOWED_HOSTS), so the check is not refused as a bad Host."""
    for host in os.environ.get("ALLOWED_HOSTS", "").split(","):
        host = host.strip().lstrip(".")
        if host and host != "*":
            return host
    return "localhost"


def check_web(url: str = WEB_URL, timeout: float = 5.0) -> tuple[bool, str]:
    request = urllib.request.Request(url, headers={"Host": host_header()})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            body = response.read()
    except urllib.error.HTTPError as error:  # 503 still carries the JSON report
        body = error.read()
    except OSError as error:
        return False, f"no answer from {url}: {error}"
    try:
        report = json.loads(body)
        failing = [name for name in ("database", "redis") if not report[name]["ok"]]
    except (ValueError, KeyError, TypeError):
        return False, f"unexpected answer from {url}: {body[:200]!r}"
    if failing:
        return False, "web cannot reach: " + ", ".join(failing)
    return True, "web ok (worker: %s)" % ("ok" if report.get("worker", {}).get("ok") else "no heartbeat")


def check_beat(schedule: str = BEAT_SCHEDULE, max_age: float = BEAT_MAX_AGE) -> tuple[bool, str]:
    files = glob.glob(schedule + "*")
    if not files:
        return False, f"no schedule file {schedule}*"
    age = time.time() - max(os.path.getmtime(f) for f in files)
    if age > max_age:
        return False, f"schedule not saved for {age:.0f} s"
    return True, f"beat ok (schedule saved {age:.0f} s ago)"


def main(argv: list[str]) -> int:
    checks = {"web": check_web, "beat": check_beat}
    if len(argv) != 2 or argv[1] not in checks:
        print(f"usage: {argv[0]} web|beat", file=sys.stderr)
        return 2
    ok, message = checks[argv[1]]()
    print(message)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
