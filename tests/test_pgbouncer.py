"""Behind PgBouncer in transaction mode (README, "Scaling out"): each transaction, or each statement in
autocommit, may run on another server connection. Through a real PgBouncer in front of the test database:

- DATABASE_POOLER=pgbouncer's DISABLE_SERVER_SIDE_CURSORS is what keeps `.iterator()` working; the
  control, with server-side cursors on, loses its cursor to another server connection;
- the product's advisory locks (`shequn/locks.py`: `pg_advisory_xact_lock`) still exclude each other
  across clients; the control, a session lock, is handed to whichever client gets that server connection
  next, which is why the product takes none;
- DATABASE_POOLER=pgbouncer sends a prepared statement of the product (`shequn/prepared.py`) whole each time;
  the control, prepared on one server connection, is not found on the next one.

scripts/test installs pgbouncer (Debian package) with the other system packages.
"""

import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import psycopg2
import pytest
from django.contrib.contenttypes.models import ContentType
from django.db import connection, connections
from django.db.backends.postgresql.base import DatabaseWrapper
from django.db.utils import DatabaseError

from shequn.prepared import PreparedStatement

pytestmark = pytest.mark.django_db


def _pgbouncer() -> str:
    for found in (shutil.which("pgbouncer"), "/usr/sbin/pgbouncer"):
        if found and os.access(found, os.X_OK):
            return found
    pytest.fail("pgbouncer is required (scripts/test installs it: apt-get install pgbouncer)")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def pgbouncer():
    """A PgBouncer in transaction mode (pool_size 2) in front of the test database; its settings_dict maker."""
    direct = connection.settings_dict
    user, password = direct["USER"] or "postgres", direct["PASSWORD"] or ""
    port = _free_port()
    folder = Path(tempfile.mkdtemp(prefix="shequn-test-pgbouncer-"))
    (folder / "userlist.txt").write_text(f'"{user}" "{password}"\n')
    (folder / "pgbouncer.ini").write_text(
        f"[databases]\n{direct['NAME']} = host={direct['HOST'] or '127.0.0.1'} port={direct['PORT'] or 5432}\n"
        f"[pgbouncer]\nlisten_addr = 127.0.0.1\nlisten_port = {port}\nunix_socket_dir =\n"
        f"auth_type = {'scram-sha-256' if password else 'trust'}\nauth_file = {folder / 'userlist.txt'}\n"
        "pool_mode = transaction\ndefault_pool_size = 2\n"
        + ("user = nobody\n" if os.geteuid() == 0 else "")  # PgBouncer refuses to run as root
    )
    if os.geteuid() == 0:
        nobody = pwd.getpwnam("nobody")
        for path in (folder, *folder.iterdir()):
            os.chown(path, nobody.pw_uid, nobody.pw_gid)
    process = subprocess.Popen(
        [_pgbouncer(), str(folder / "pgbouncer.ini")], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    deadline = time.monotonic() + 10
    while True:
        try:
            psycopg2.connect(host="127.0.0.1", port=port, dbname=direct["NAME"], user=user, password=password).close()
            break
        except psycopg2.OperationalError:
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                pytest.fail(f"PgBouncer did not start: {process.communicate()[1].decode()[-2000:]}")
            time.sleep(0.05)
    opened = []

    def client(*, server_side_cursors_off: bool = True) -> DatabaseWrapper:
        """A Django connection through PgBouncer, as settings make it with DATABASE_POOLER=pgbouncer
        (or, for a control, with server-side cursors left on)."""
        settings = {
            **direct,
            "HOST": "127.0.0.1",
            "PORT": port,
            "CONN_MAX_AGE": 0,
            "DISABLE_SERVER_SIDE_CURSORS": server_side_cursors_off,
        }
        wrapper = DatabaseWrapper(settings, alias=f"through-pgbouncer-{len(opened)}")
        opened.append(wrapper)
        return wrapper

    yield client
    for wrapper in opened:
        wrapper.close()
    process.terminate()
    process.wait(10)
    shutil.rmtree(folder, ignore_errors=True)


def hold_a_server_connection(other: DatabaseWrapper) -> None:
    """`other` opens a transaction and keeps it: PgBouncer hands it the server connection used last
    (it reuses them LIFO) and gives that connection to no one else until `other` ends the transaction."""
    other.set_autocommit(False)
    with other.cursor() as cursor:
        cursor.execute("SELECT 1")


def read_in_chunks(client: DatabaseWrapper, other: DatabaseWrapper) -> list[int]:
    """`QuerySet.iterator(chunk_size=1)` through `client`, in autocommit; between the first and the second
    chunk another client takes the server connection it ran on."""
    connections[client.alias] = client  # a QuerySet addresses its connection by alias
    try:
        rows = ContentType.objects.using(client.alias).order_by("pk").values_list("pk", flat=True).iterator(1)
        seen = [next(rows)]
        hold_a_server_connection(other)
        try:
            seen += list(rows)
        finally:
            other.rollback()
            other.set_autocommit(True)
        return seen
    finally:
        del connections[client.alias]


def every_content_type() -> list[int]:
    return list(ContentType.objects.order_by("pk").values_list("pk", flat=True))


def test_iterator_reads_every_row_behind_pgbouncer_with_server_side_cursors_off(pgbouncer):
    assert read_in_chunks(pgbouncer(), pgbouncer()) == every_content_type()


def test_control_a_server_side_cursor_is_lost_to_another_server_connection(pgbouncer):
    # Django declares `WITH HOLD` cursors in autocommit; the next FETCH runs on the other server connection
    # (and closing the cursor fails the same way, raised by psycopg2 itself).
    with pytest.raises((DatabaseError, psycopg2.Error), match='cursor "_django_curs_.*" does not exist'):
        read_in_chunks(pgbouncer(server_side_cursors_off=False), pgbouncer(server_side_cursors_off=False))


def try_lock(client: DatabaseWrapper, sql: str) -> bool:
    with client.cursor() as cursor:
        cursor.execute(sql)
        return cursor.fetchone()[0]


def test_transaction_advisory_locks_exclude_other_clients_behind_pgbouncer(pgbouncer):
    holder, other = pgbouncer(), pgbouncer()
    holder.set_autocommit(False)
    other.set_autocommit(False)
    try:
        # What shequn.locks.lock takes: held until the transaction ends, on whatever server connection.
        assert try_lock(holder, "SELECT pg_try_advisory_xact_lock(424242, 1)") is True
        assert try_lock(other, "SELECT pg_try_advisory_xact_lock(424242, 1)") is False
        holder.commit()
        other.rollback()
        assert try_lock(other, "SELECT pg_try_advisory_xact_lock(424242, 1)") is True  # released at COMMIT
    finally:
        holder.rollback()
        other.rollback()


def test_control_a_session_advisory_lock_goes_to_the_next_client(pgbouncer):
    holder, other = pgbouncer(), pgbouncer()
    # In autocommit the session lock stays on the server connection, not with the client that took it:
    # the next client given that connection (LIFO) "takes" a lock someone else holds.
    assert try_lock(holder, "SELECT pg_try_advisory_lock(424242, 2)") is True
    assert try_lock(other, "SELECT pg_try_advisory_lock(424242, 2)") is True
    try_lock(other, "SELECT pg_advisory_unlock_all() IS NULL")


def add_one_through(client: DatabaseWrapper, other: DatabaseWrapper, statement: PreparedStatement) -> list[int]:
    """The statement twice through `client` in autocommit; between the two, another client takes the server
    connection the first one ran on."""
    results = []
    for n in (1, 2):
        with client.cursor() as cursor:
            statement.execute(cursor, [n])
            results.append(cursor.fetchone()[0])
        if n == 1:
            hold_a_server_connection(other)
    other.rollback()
    other.set_autocommit(True)
    return results


def test_prepared_statements_are_sent_whole_behind_pgbouncer(pgbouncer, settings):
    settings.DATABASE_POOLER = "pgbouncer"
    statement = PreparedStatement("shequn_test_bouncer_whole", "SELECT %s + 1", ["integer"])
    assert add_one_through(pgbouncer(), pgbouncer(), statement) == [2, 3]


def test_control_a_prepared_statement_is_not_on_the_next_server_connection(pgbouncer, settings):
    settings.DATABASE_POOLER = ""
    statement = PreparedStatement("shequn_test_bouncer_lost", "SELECT %s + 1", ["integer"])
    with pytest.raises(DatabaseError, match='prepared statement "shequn_test_bouncer_lost" does not exist'):
        add_one_through(pgbouncer(), pgbouncer(), statement)
