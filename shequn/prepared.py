"""Statements PostgreSQL parses and plans once per database connection (PREPARE, then EXECUTE), for hot writes.

An INSERT that carries its own guard (INSERT … SELECT … WHERE NOT EXISTS …) costs PostgreSQL more to parse and
plan than to run; prepared, each call only binds its values. A prepared statement lives on one server
connection: behind PgBouncer in transaction mode (DATABASE_POOLER=pgbouncer) the next statement may run on
another one, so there the statement is sent whole each time, each value cast to its type as PREPARE declares it.
"""

from __future__ import annotations

import weakref

from django.conf import settings

# The statements prepared on each psycopg2 connection, forgotten with the connection (a new one prepares again).
_prepared_on: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


class PreparedStatement:
    """`sql` with one `%s` per parameter, `types` the SQL type of each, in order."""

    def __init__(self, name: str, sql: str, types: list[str]):
        pieces = sql.split("%s")
        if len(pieces) != len(types) + 1:
            raise ValueError(f"{name}: {len(pieces) - 1} placeholders for {len(types)} types")
        self.name = name
        self.plain = pieces[0] + "".join(f"%s::{t}{rest}" for t, rest in zip(types, pieces[1:], strict=True))
        body = pieces[0] + "".join(f"${n}{rest}" for n, rest in enumerate(pieces[1:], 1))
        # Sent without parameters, so psycopg2 leaves `%` alone: a `%%` of the parameterised text is one `%`.
        self.prepare = f"PREPARE {name} ({', '.join(types)}) AS {body.replace('%%', '%')}"
        self.call = f"EXECUTE {name} ({', '.join(['%s'] * len(types))})"

    def execute(self, cursor, params) -> None:
        """Run the statement on `cursor` (a Django cursor), preparing it first on a connection new to it."""
        if settings.DATABASE_POOLER == "pgbouncer":
            cursor.execute(self.plain, params)
            return
        raw = cursor.db.connection
        names = _prepared_on.setdefault(raw, set())
        if self.name not in names:
            # PREPARE is not transactional: it outlives a rollback of the transaction it ran in.
            cursor.execute(self.prepare)
            names.add(self.name)
        cursor.execute(self.call, params)
