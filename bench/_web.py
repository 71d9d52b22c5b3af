"""What the web scenarios (P1–P7) share: a throwaway database with the product migrated, gunicorn with the
production settings serving the product and the baselines (bench/bench_wsgi.py), Celery workers, the load
generators (wrk for plain requests, an asyncio client for prepared multi-member requests), pgbench for the
hot-row baseline, signed-in sessions, and the median-of-3 pairing.

Not a benchmark itself. Typical use in a scenario:

    bench = Bench("p3", argv_options)      # database (from a migrated template), Django set up here
    ... seed with the product's services ...
    with bench.serving():                  # gunicorn (and Celery) up for the measured part
        product, baseline = bench.paired(lambda i: ..., lambda i: ...)
"""

import argparse
import asyncio
import hashlib
import os
import re
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlencode, urlsplit, urlunsplit

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
for entry in (str(ROOT), str(BENCH)):
    if entry not in sys.path:
        sys.path.insert(0, entry)

from _support import _admin, drop_database  # noqa: E402

VENV_BIN = Path(sys.executable).parent


def web_options(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """The options every web scenario takes."""
    parser.add_argument("--workers", type=int, default=5, help="gunicorn sync workers per process (default 5)")
    parser.add_argument("--seconds", type=float, default=3.0, help="seconds per timed round of wrk (default 3)")
    parser.add_argument("--rounds", type=int, default=3, help="rounds; the median is reported (default 3)")
    parser.add_argument("--connections", type=int, default=10, help="concurrent connections (default 10)")
    parser.add_argument(
        "--scale", action="store_true", help="also run on two gunicorn processes and two Celery workers"
    )
    parser.add_argument(
        "--pgbouncer",
        action="store_true",
        help="also run with gunicorn and Celery connecting through a throwaway PgBouncer in transaction mode",
    )
    parser.add_argument(
        "--pool-size", type=int, default=20, help="--pgbouncer: server connections per pool at most (default 20)"
    )
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    return parser


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# --- The database ------------------------------------------------------------------------------------


def _migrations_digest() -> str:
    digest = hashlib.sha1()
    for path in sorted(ROOT.glob("*/migrations/*.py")) + sorted(ROOT.glob("campaigns/types/*/migrations/*.py")):
        digest.update(str(path.relative_to(ROOT)).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:10]


def _url_for(url: str, name: str) -> str:
    return urlunsplit(urlsplit(url)._replace(path=f"/{name}"))


def migrated_template(url: str) -> str:
    """A database with every migration applied, made once per set of migration files and kept on the
    server as a template (CREATE DATABASE … TEMPLATE copies it in a second instead of migrating for 25)."""
    import psycopg2
    from psycopg2 import errors

    name = f"shequn_bench_template_{_migrations_digest()}"
    admin = _admin(url)
    with admin.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name])
        exists = cursor.fetchone() is not None
    if not exists:
        building = f"{name}_building_{os.getpid()}"
        with admin.cursor() as cursor:
            cursor.execute(f'CREATE DATABASE "{building}"')
        print(f"· migrating a template database ({name}), once per set of migrations", flush=True)
        env = dict(os.environ, DATABASE_URL=_url_for(url, building), DJANGO_SETTINGS_MODULE="shequn.settings")
        subprocess.run([sys.executable, "manage.py", "migrate", "-v", "0"], cwd=ROOT, env=env, check=True)
        with admin.cursor() as cursor:
            try:
                cursor.execute(f'ALTER DATABASE "{building}" RENAME TO "{name}"')
            except errors.DuplicateDatabase:  # another run built it meanwhile: use theirs
                cursor.execute(f'DROP DATABASE "{building}"')
            # Templates of earlier migrations are of no further use: dropped unless something is copying one.
            cursor.execute(
                "SELECT datname FROM pg_database WHERE datname LIKE 'shequn\\_bench\\_template\\_%%' "
                "AND datname <> %s AND datname NOT LIKE '%%building%%'",
                [name],
            )
            for (stale,) in cursor.fetchall():
                try:
                    cursor.execute(f'DROP DATABASE IF EXISTS "{stale}"')
                except psycopg2.Error:
                    pass
    admin.close()
    return name


def database_from_template(url: str, label: str) -> tuple[str, str]:
    template = migrated_template(url)
    name = f"shequn_bench_{label}_{os.getpid()}"
    admin = _admin(url)
    with admin.cursor() as cursor:
        cursor.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
    admin.close()
    return name, _url_for(url, name)


# --- The processes under load ------------------------------------------------------------------------


@dataclass
class Servers:
    ports: list[int]
    processes: list[subprocess.Popen] = field(default_factory=list)

    def urls(self) -> list[str]:
        return [f"http://127.0.0.1:{port}" for port in self.ports]


def _wait_for(port: int, process: subprocess.Popen, seconds: float = 180) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"gunicorn on port {port} exited with {process.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5) as s:
                s.sendall(b"GET /_bench/hello HTTP/1.0\r\nHost: localhost\r\n\r\n")
                if s.recv(64).startswith(b"HTTP/1"):
                    return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"gunicorn on port {port} did not answer in {seconds:.0f} s")


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


class Bench:
    """One web scenario's world: its database, Django set up in this process on it, and helpers."""

    def __init__(self, label: str, args: argparse.Namespace):
        self.args = args
        self.label = label
        base = os.environ.get("DATABASE_URL", "")
        if not base:
            raise SystemExit("DATABASE_URL is not set (scripts/bench sets it)")
        self.server_url = base
        self.db_name, self.db_url = database_from_template(base, label)
        self.queue = f"bench-{label}-{os.getpid()}"
        self.prefix = f"bench-{label}-{os.getpid()}"
        self.env = dict(
            os.environ,
            DATABASE_URL=self.db_url,
            DJANGO_SETTINGS_MODULE="bench_settings",
            BENCH_QUEUE=self.queue,
            CACHE_KEY_PREFIX=self.prefix,
            DEBUG="0",
            # Payments on the simulated provider (the setting a demo uses): team leaders pay in the set-up.
            PAYMENT_PROVIDER="simulated",
            ALLOW_SIMULATED_PAYMENTS="1",
            PYTHONPATH=os.pathsep.join([str(ROOT), str(BENCH)]),
        )
        os.environ.update(
            DATABASE_URL=self.db_url,
            DJANGO_SETTINGS_MODULE="bench_settings",
            BENCH_QUEUE=self.queue,
            CACHE_KEY_PREFIX=self.prefix,
            PAYMENT_PROVIDER="simulated",
            ALLOW_SIMULATED_PAYMENTS="1",
        )
        import django

        django.setup()
        from django.db import connection

        with connection.cursor() as cursor:
            cursor.execute("CREATE TABLE bench_row (id int PRIMARY KEY, n bigint NOT NULL)")
            cursor.execute("INSERT INTO bench_row SELECT g, 1000000000 FROM generate_series(1, 1000) g")
            cursor.execute("CREATE TABLE bench_hot (id int PRIMARY KEY, n bigint NOT NULL)")
        self.tmp = Path(tempfile.mkdtemp(prefix=f"shequn-{label}-"))
        self.collect_static()
        self.servers: Servers | None = None
        self.workers: list[subprocess.Popen] = []
        self.pooler: PgBouncer | None = None  # while set, the servers connect through it

    # --- lifecycle ---

    def collect_static(self) -> None:
        """Production settings serve hashed static files from a manifest: collect them once per DATA_DIR."""
        from django.conf import settings
        from django.core.management import call_command

        if not (Path(settings.STATIC_ROOT) / "staticfiles.json").exists():
            print("· collecting static files", flush=True)
            call_command("collectstatic", interactive=False, verbosity=0)

    def close(self) -> None:
        from django.db import connections

        self.stop()
        connections.close_all()
        try:
            import redis

            client = redis.Redis.from_url(os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0"))
            for key in client.scan_iter(f"*{self.prefix}*", count=1000):
                client.delete(key)
            client.delete(self.queue)
        except Exception as error:  # noqa: BLE001 - a Redis leftover must not hide the results
            print(f"· could not clear the bench's Redis keys: {error}", flush=True)
        if not self.args.keep:
            drop_database(self.server_url, self.db_name)
        shutil.rmtree(self.tmp, ignore_errors=True)

    def start(self, web: int = 1, celery: int = 1) -> Servers:
        """`web` gunicorn processes (each with --workers sync workers) and `celery` Celery workers."""
        from django.db import connections

        connections.close_all()  # no connection of the set-up stays open while the servers run
        self.stop()
        ports = [free_port() for _ in range(web)]
        servers = Servers(ports)
        env = self.env if self.pooler is None else dict(self.env, **self.pooler.client_env())
        log = open(self.tmp / "gunicorn.log", "a")  # noqa: SIM115 - closed with the process
        for port in ports:
            command = [
                str(VENV_BIN / "gunicorn"),
                "bench_wsgi:application",
                "--pythonpath",
                f"{BENCH},{ROOT}",
                "-b",
                f"127.0.0.1:{port}",
                "--workers",
                str(self.args.workers),
                "--worker-class",
                "sync",
                "--backlog",
                "2048",
                "--timeout",
                "120",
            ]
            servers.processes.append(subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=log))
        for _ in range(celery):
            command = [
                str(VENV_BIN / "celery"),
                "-A",
                "shequn",
                "worker",
                "-P",
                "solo",
                "-Q",
                self.queue,
                "-l",
                "WARNING",
                "--without-gossip",
                "--without-mingle",
                "-n",
                f"{self.queue}-{len(self.workers)}@%h",
            ]
            self.workers.append(subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=log))
        for port, process in zip(ports, servers.processes, strict=True):
            _wait_for(port, process)
        self.servers = servers
        return servers

    def stop(self) -> None:
        if self.servers:
            for process in self.servers.processes:
                _stop(process)
            self.servers = None
        for worker in self.workers:
            _stop(worker)
        self.workers = []

    @contextmanager
    def through_pgbouncer(self):
        """A throwaway PgBouncer in transaction mode in front of this bench's database: the servers started
        inside connect through it with DATABASE_POOLER=pgbouncer (this process, which seeds and checks the
        invariants, and pgbench stay direct). Yields it; its peaks are read after the block."""
        self.stop()
        pooler = PgBouncer(self.db_url, pool_size=self.args.pool_size, log=self.tmp / "pgbouncer.log")
        self.pooler = pooler
        try:
            yield pooler
        finally:
            self.stop()
            self.pooler = None
            pooler.close()

    def variants(self, measure) -> list:
        """`measure(web)` (web processes, each Measures of one run) on one gunicorn and one Celery worker,
        then what --scale and --pgbouncer ask for, as ratios to it."""
        single = measure(1)
        measures = list(single)
        if self.args.scale:
            measures += scale_measures(single, measure(2))
        if self.args.pgbouncer:
            with self.through_pgbouncer() as pooler:
                pooled = measure(1)
            measures += pooled_measures(single, pooled, pooler)
        return measures

    @contextmanager
    def serving(self, web: int = 1, celery: int = 1):
        servers = self.start(web, celery)
        try:
            yield servers
        finally:
            self.stop()

    def drain_celery(self, seconds: float = 60) -> None:
        """Wait until the Celery queue of this run is empty (what the requests queued is done)."""
        import redis

        client = redis.Redis.from_url(os.environ["REDIS_URL"])
        deadline = time.monotonic() + seconds
        while client.llen(self.queue) and time.monotonic() < deadline:
            time.sleep(0.2)

    # --- sessions ---

    def sessions(self, users) -> list[str]:
        """A signed-in session for each user, made directly in the session store (set-up, not measured)."""
        from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
        from django.contrib.sessions.backends.db import SessionStore

        keys = []
        for user in users:
            store = SessionStore()
            store[SESSION_KEY] = str(user.pk)
            store[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
            store[HASH_SESSION_KEY] = user.get_session_auth_hash()
            store.create()
            keys.append(store.session_key)
        return keys

    # --- rounds ---

    def paired(self, product, baseline, *, rounds: int | None = None) -> tuple[float, float, list, list]:
        """`rounds` pairs, each the product then its baseline back to back (each returns a rate);
        the medians and every round's figures."""
        ours, base = [], []
        for i in range(rounds or self.args.rounds):
            ours.append(product(i))
            base.append(baseline(i))
            print(f"  round {i + 1}: product {ours[-1]:,.1f}/s   baseline {base[-1]:,.1f}/s", flush=True)
        return statistics.median(ours), statistics.median(base), ours, base

    def rounds(self, runs: dict, *, rounds: int | None = None) -> dict[str, float]:
        """Each round runs every callable of `runs` (name -> fn(round) -> rate) back to back, in order;
        the median rate of each name."""
        seen: dict[str, list[float]] = {name: [] for name in runs}
        for i in range(rounds or self.args.rounds):
            for name, fn in runs.items():
                seen[name].append(fn(i))
            print(f"  round {i + 1}: " + "   ".join(f"{n} {v[-1]:,.1f}/s" for n, v in seen.items()), flush=True)
        return {name: statistics.median(values) for name, values in seen.items()}

    def post(self, path: str, session_key: str, form: dict) -> "Request":
        """A signed-in member's form POST with a CSRF cookie and its token."""
        from django.conf import settings

        cookie, token = csrf_pair()
        cookies = {settings.SESSION_COOKIE_NAME: session_key, settings.CSRF_COOKIE_NAME: cookie}
        return Request("POST", path, cookies, {**form, "csrfmiddlewaretoken": token})

    def fire(self, requests: list["Request"]) -> tuple[list["Answer"], float]:
        """Every request through the asyncio client, --connections at a time; the answers and the rate."""
        return fire(self.servers.urls(), requests, connections=self.args.connections)

    def warm(self, paths: list[tuple]) -> None:
        """Three seconds of wrk before the timed rounds (workers import, templates compile) over a few rows
        of each distinct page of `paths`, so every page is warm whatever the order of the rows."""
        by_path: dict[str, list[tuple]] = {}
        for row in paths:  # one page = one path up to its numbers (/_bench/select/1 … /1000 are one)
            by_path.setdefault(re.sub(r"\d+", "N", row[0] if len(row) == 2 else row[1]), []).append(row)
        rows = [row for group in zip(*(rows[:5] * 5 for rows in by_path.values()), strict=False) for row in group]
        wrk(self.servers.urls(), rows, seconds=3, connections=self.args.connections, tmp=self.tmp)
        self.settle()

    def heartbeat(self) -> None:
        """Queue the worker heartbeat once (no beat runs in a bench), so /healthz sees a live worker."""
        from shequn.tasks import heartbeat

        heartbeat.delay()

    def get_rate(self, paths: list[tuple[str, str]], *, servers: "Servers | None" = None, check=True) -> float:
        """wrk over `paths` for --seconds with --connections; its rate. Any non-2xx/3xx answer or socket
        error is reported (a page that fails is not a figure)."""
        servers = servers or self.servers
        load = wrk(servers.urls(), paths, seconds=self.args.seconds, connections=self.args.connections, tmp=self.tmp)
        if check and (load.statuses.get(0) or load.errors):
            where = paths[0][0] if len(paths[0]) == 2 else f"{paths[0][0]} {paths[0][1]}"
            print(f"  ! {where}: {load.statuses.get(0, 0)} non-2xx/3xx, {load.errors} socket errors", flush=True)
        self.settle()
        return load.rate

    def settle(self) -> None:
        """Let the requests wrk sent but stopped waiting for finish before the next figure starts: a slow
        page's queue would otherwise be served inside the next round. Two hello requests per worker, all
        at once, queue behind them; when they are answered, the queue ahead of them is gone."""
        count = 2 * self.args.workers * len(self.servers.urls())
        fire(self.servers.urls(), [Request("GET", "/_bench/hello")] * count, connections=count)


# --- PgBouncer ------------------------------------------------------------------------------------------


def pgbouncer_binary() -> str:
    found = shutil.which("pgbouncer") or next(
        (p for p in ("/usr/sbin/pgbouncer", "/usr/bin/pgbouncer") if os.access(p, os.X_OK)), None
    )
    if not found:
        raise SystemExit("--pgbouncer: pgbouncer is not installed (Debian: pgbouncer; scripts/bench installs it)")
    return found


class PgBouncer:
    """A PgBouncer in transaction mode on a free port in front of one database, and a thread that reads
    its admin console (SHOW POOLS, every 50 ms) for the peaks: server connections it held, how many of
    them ran a transaction at once, client connections, clients waiting for a server connection."""

    def __init__(self, db_url: str, *, pool_size: int, log: Path):
        import psycopg2

        parts = urlsplit(db_url)
        self.database = parts.path.lstrip("/")
        self.user, self.password = parts.username or "postgres", parts.password or ""
        self.port = free_port()
        self.pool_size = pool_size
        # Its own directory, not the bench's: as root PgBouncer must drop to `nobody`, who reads its files.
        self.folder = Path(tempfile.mkdtemp(prefix="shequn-pgbouncer-"))
        (self.folder / "userlist.txt").write_text(f'"{self.user}" "{self.password}"\n')
        (self.folder / "pgbouncer.ini").write_text(
            "[databases]\n"
            f"{self.database} = host={parts.hostname or '127.0.0.1'} port={parts.port or 5432} "
            f"dbname={self.database}\n"
            "[pgbouncer]\n"
            f"listen_addr = 127.0.0.1\nlisten_port = {self.port}\nunix_socket_dir =\n"
            # The same password as PostgreSQL's (sent on to it); trust only when PostgreSQL trusts too.
            f"auth_type = {'scram-sha-256' if self.password else 'trust'}\n"
            f"auth_file = {self.folder / 'userlist.txt'}\n"
            f"admin_users = {self.user}\n"
            "pool_mode = transaction\n"
            f"default_pool_size = {pool_size}\nmax_client_conn = 1000\n"
            "log_connections = 0\nlog_disconnections = 0\n" + ("user = nobody\n" if os.geteuid() == 0 else "")
        )
        if os.geteuid() == 0:
            import pwd

            nobody = pwd.getpwnam("nobody")
            for path in (self.folder, *self.folder.iterdir()):
                os.chown(path, nobody.pw_uid, nobody.pw_gid)
        self.log = open(log, "a")  # noqa: SIM115 - closed in close()
        self.process = subprocess.Popen(
            [pgbouncer_binary(), str(self.folder / "pgbouncer.ini")], stdout=self.log, stderr=self.log
        )
        deadline = time.monotonic() + 15
        while True:
            try:
                self.admin = psycopg2.connect(
                    host="127.0.0.1", port=self.port, dbname="pgbouncer", user=self.user, password=self.password
                )
                break
            except psycopg2.OperationalError:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"PgBouncer did not start; see {log}") from None
                time.sleep(0.1)
        self.admin.autocommit = True  # the admin console knows no transactions
        self.peak = {"servers": 0, "active servers": 0, "clients": 0, "waiting clients": 0}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)
        self._thread.start()

    def url(self) -> str:
        auth = f"{self.user}:{self.password}" if self.password else self.user
        return f"postgres://{auth}@127.0.0.1:{self.port}/{self.database}"

    def client_env(self) -> dict[str, str]:
        return {"DATABASE_URL": self.url(), "DATABASE_POOLER": "pgbouncer"}

    def console(self, command: str) -> list[dict]:
        with self.admin.cursor() as cursor:
            cursor.execute(command)
            names = [column[0] for column in cursor.description]
            return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]

    def _watch(self) -> None:
        while not self._stop.wait(0.05):
            for pool in self.console("SHOW POOLS"):
                if pool["database"] != self.database:
                    continue
                servers = sum(pool[k] for k in ("sv_active", "sv_idle", "sv_used", "sv_tested", "sv_login"))
                now = {
                    "servers": servers,
                    "active servers": pool["sv_active"],
                    "clients": pool["cl_active"] + pool["cl_waiting"],
                    "waiting clients": pool["cl_waiting"],
                }
                self.peak = {k: max(v, now[k]) for k, v in self.peak.items()}

    def transactions(self) -> int:
        """Transactions PgBouncer passed on to PostgreSQL for the database so far (SHOW STATS)."""
        rows = [row for row in self.console("SHOW STATS") if row["database"] == self.database]
        return int(rows[0]["total_xact_count"]) if rows else 0

    def close(self) -> None:
        self._stop.set()
        self._thread.join(5)
        self.xacts = self.transactions()
        self.admin.close()
        _stop(self.process)
        self.log.close()
        shutil.rmtree(self.folder, ignore_errors=True)


# --- Load: wrk -----------------------------------------------------------------------------------------


@dataclass
class Load:
    requests: int
    seconds: float
    statuses: dict[int, int] = field(default_factory=dict)
    errors: int = 0

    @property
    def rate(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0


def _lua_string(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def wrk(urls: list[str], paths: list[tuple], *, seconds: float, connections: int, tmp: Path) -> Load:
    """Send `paths` round-robin for `seconds` with `connections`, split evenly over the servers in `urls`
    (one wrk each, run at the same time); the summed rate. Each row is (path, cookie header or "") for a
    GET, or (method, path, cookie, form body) for a POST. Non-2xx/3xx answers and socket errors are counted."""
    script = tmp / f"wrk-{secrets.token_hex(4)}.lua"
    full = [row if len(row) == 4 else ("GET", row[0], row[1], "") for row in paths]
    rows = ",\n".join("{" + ", ".join(_lua_string(x) for x in row) + "}" for row in full)
    script.write_text(
        "local rows = {\n" + rows + "\n}\n"
        "local i = 0\n"
        "request = function()\n"
        "  i = i + 1\n"
        "  local row = rows[(i % #rows) + 1]\n"
        "  local headers = {}\n"
        '  if row[3] ~= "" then headers["Cookie"] = row[3] end\n'
        '  if row[1] == "POST" then headers["Content-Type"] = "application/x-www-form-urlencoded" end\n'
        '  if row[4] == "" then return wrk.format(row[1], row[2], headers) end\n'
        "  return wrk.format(row[1], row[2], headers, row[4])\n"
        "end\n"
    )
    per = max(1, connections // len(urls))
    processes = [
        subprocess.Popen(
            # --timeout 10s: a slow answer is counted in the figure, not dropped as a timeout (wrk's default 2 s).
            [
                "wrk",
                "-t",
                "1",
                "-c",
                str(per),
                "-d",
                f"{max(1, round(seconds))}s",
                "--timeout",
                "10s",
                "-s",
                str(script),
                url,
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for url in urls
    ]
    total = Load(0, 0.0)
    for process in processes:
        out, _ = process.communicate()
        requests = re.search(r"(\d+) requests in ([\d.]+)(m?s)", out)
        if not requests:
            raise RuntimeError("wrk printed no result:\n" + out)
        took = float(requests.group(2)) / (1000 if requests.group(3) == "ms" else 1)
        total.requests += int(requests.group(1))
        total.seconds = max(total.seconds, took)
        bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
        total.statuses[0] = total.statuses.get(0, 0) + (int(bad.group(1)) if bad else 0)
        socket_errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
        if socket_errors:
            total.errors += sum(int(x) for x in socket_errors.groups())
    script.unlink()
    # A rate over the summed requests in the longest wrk's time: the servers ran side by side.
    return total


def have_wrk() -> bool:
    return shutil.which("wrk") is not None


# --- Load: an asyncio client for prepared requests ----------------------------------------------------


@dataclass
class Request:
    method: str
    path: str
    cookies: dict[str, str] = field(default_factory=dict)
    form: dict | list | None = None


@dataclass
class Answer:
    status: int
    location: str
    body: bytes


async def _send(url: str, request: Request, keep_body: bool) -> Answer:
    parts = urlsplit(url)
    reader, writer = await asyncio.open_connection(parts.hostname, parts.port)
    body = urlencode(request.form, doseq=True).encode() if request.form is not None else b""
    head = [f"{request.method} {request.path} HTTP/1.1", f"Host: {parts.hostname}:{parts.port}", "Connection: close"]
    if request.cookies:
        head.append("Cookie: " + "; ".join(f"{k}={v}" for k, v in request.cookies.items()))
    if request.method == "POST":
        head += ["Content-Type: application/x-www-form-urlencoded", f"Content-Length: {len(body)}"]
    writer.write(("\r\n".join(head) + "\r\n\r\n").encode() + body)
    await writer.drain()
    data = await reader.read()
    writer.close()
    header, _, rest = data.partition(b"\r\n\r\n")
    lines = header.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1]) if lines and len(lines[0].split()) > 1 else 0
    location = next((line.split(":", 1)[1].strip() for line in lines[1:] if line.lower().startswith("location:")), "")
    return Answer(status, location, rest if keep_body else b"")


def fire(urls: list[str], requests: list[Request], *, connections: int, keep_body: bool = False):
    """Send every request, `connections` at a time (spread round-robin over the servers in `urls`); the
    answers in order and the rate (requests per second of wall time)."""

    async def main():
        queue = list(enumerate(requests))
        queue.reverse()
        answers: list[Answer | None] = [None] * len(requests)

        async def lane():
            while queue:
                i, request = queue.pop()
                url = urls[i % len(urls)]
                try:
                    answers[i] = await _send(url, request, keep_body)
                except OSError:
                    answers[i] = Answer(0, "", b"")

        start = time.perf_counter()
        await asyncio.gather(*(lane() for _ in range(connections)))
        return answers, time.perf_counter() - start

    answers, seconds = asyncio.run(main())
    return answers, len(requests) / seconds


def csrf_pair() -> tuple[str, str]:
    """A CSRF cookie value and the matching form token (Django accepts the 32-character secret as both)."""
    token = secrets.token_hex(16)
    return token, token


# --- pgbench --------------------------------------------------------------------------------------------


def pgbench_hot_row(db_url: str, *, clients: int, seconds: float, tmp: Path, stock: int = 10**12) -> float:
    """pgbench with `clients` clients, each transaction the single-hot-row conditional UPDATE
    `UPDATE bench_hot SET n = n - 1 WHERE id = 1 AND n > 0`; transactions per second."""
    pgbench = shutil.which("pgbench")
    if not pgbench:
        raise RuntimeError("pgbench is not installed (Debian: postgresql-client)")
    parts = urlsplit(db_url)
    env = dict(
        os.environ,
        PGHOST=parts.hostname or "127.0.0.1",
        PGPORT=str(parts.port or 5432),
        PGUSER=parts.username or "postgres",
        PGDATABASE=parts.path.lstrip("/"),
    )
    if parts.password:
        env["PGPASSWORD"] = parts.password
    script = tmp / "hot_row.sql"
    script.write_text("UPDATE bench_hot SET n = n - 1 WHERE id = 1 AND n > 0;\n")
    subprocess.run(
        ["psql", "-q", "-c", f"INSERT INTO bench_hot VALUES (1, {stock}) ON CONFLICT (id) DO UPDATE SET n = {stock}"],
        env=env,
        check=True,
        capture_output=True,
    )
    out = subprocess.run(
        [pgbench, "-n", "-c", str(clients), "-j", "1", "-T", str(max(1, round(seconds))), "-f", str(script)],
        env=env,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    match = re.search(r"tps = ([\d.]+)", out)
    if not match:
        raise RuntimeError("pgbench printed no tps:\n" + out)
    return float(match.group(1))


# --- Counting queries of a page (in this process, through Django's test client) ------------------------


def query_count(path: str, session_key: str | None = None) -> tuple[int, int]:
    """The status and the number of SQL queries of one GET of `path` through the full stack, signed in with
    `session_key` when given (Django's test client in this process, on the bench database)."""
    from django.conf import settings
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    client = Client(HTTP_HOST="localhost")
    if session_key:
        client.cookies[settings.SESSION_COOKIE_NAME] = session_key
    with CaptureQueriesContext(connection) as captured:
        response = client.get(path)
    return response.status_code, len(captured.captured_queries)


def _ratio(a: float, b: float) -> float:
    return a / b if b else 0.0


def scale_measures(single: list, double: list) -> list:
    """--scale: each figure on two gunicorn processes and two Celery workers as a ratio to the same figure on
    one of each (target 1.0 = no gain; 2.0 would be linear), invariants of the two-process run kept."""
    from _support import Measure

    return [
        Measure(
            id=one.id,
            name=f"scale-out ×2: {one.name}",
            figure=two.figure,
            baseline=one.figure,
            unit=one.unit,
            baseline_name="the same on 1 gunicorn + 1 Celery worker",
            target=1.0,
            invariants=two.invariants,
            notes=f"its baseline ({one.baseline_name}) ×2 vs ×1: {_ratio(two.baseline, one.baseline):.2f}; {two.notes}",
        )
        for one, two in zip(single, double, strict=True)
    ]


POOLED_TARGET = 0.8  # an extra hop per statement; at least 80 % of the direct rate


def pooled_measures(direct: list, pooled: list, pooler: PgBouncer) -> list:
    """--pgbouncer: each figure with gunicorn and Celery connecting through PgBouncer in transaction mode as
    a ratio to the same figure connecting directly, with the connections it used and the invariants of the
    pooled run; a line per figure printed as well."""
    from _support import Measure

    peak = pooler.peak
    connections = (
        f"PgBouncer held at most {peak['servers']} server connections ({peak['active servers']} in a transaction "
        f"at once, pool_size {pooler.pool_size}) for {peak['clients']} client connections "
        f"({peak['waiting clients']} waiting at most); {pooler.xacts:,} transactions"
    )
    measures = []
    for one, two in zip(direct, pooled, strict=True):
        print(
            f"· through PgBouncer: {one.name}: {two.figure:,.1f} vs {one.figure:,.1f} {one.unit} direct "
            f"= ×{_ratio(two.figure, one.figure):.2f}; {connections}",
            flush=True,
        )
        measures.append(
            Measure(
                id=one.id,
                name=f"through PgBouncer (transaction mode): {one.name}",
                figure=two.figure,
                baseline=one.figure,
                unit=one.unit,
                baseline_name="the same connecting to PostgreSQL directly",
                target=POOLED_TARGET,
                invariants=two.invariants,
                notes=f"{connections}; its baseline ({one.baseline_name}) pooled vs direct: "
                f"{_ratio(two.baseline, one.baseline):.2f}; {two.notes}",
            )
        )
    return measures
