"""PostgreSQL advisory locks: the one way the code takes them.

A lock here is `pg_advisory_xact_lock(namespace, key)`, two 32-bit integers:

- the namespace names one kind of critical section and is listed in `Namespace` below, the single
  registry of them: two kinds never share a number, and a number is never reused for another kind
  (old and new code running side by side during a deploy must still exclude each other);
- the key names the thing inside it (a shop id; a pair such as (campaign, member) folded into 32 bits
  with `pair_key`, where two pairs may share a key: they then merely wait for each other).

The rules `lock` enforces:
- Transaction-scoped only. The lock is released when the transaction ends, so it must be taken inside
  `transaction.atomic()`; outside one, autocommit would release it the moment it was taken and guard
  nothing, so `lock` raises `NotInTransaction` instead.
- A bounded wait. The wait is capped with a transaction-local lock_timeout (`set_config(…, true)`, what
  `SET LOCAL` does; `timeout` seconds); past it PostgreSQL raises (lock_not_available, an
  `OperationalError`) and the transaction rolls back, rather than a request hanging behind a stuck
  holder. The transaction's previous lock_timeout is restored once the lock is held, so later row locks
  in the same transaction wait as they did before. All of it is one statement.
"""

from __future__ import annotations

import enum
import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager

from django.db import connection, transaction

INT4_MIN, INT4_MAX = -(2**31), 2**31 - 1
DEFAULT_TIMEOUT = 10.0  # seconds: far above any critical section's own length


class Namespace(enum.IntEnum):
    """Every advisory lock namespace in the code (the first key of the lock). Never renumber one."""

    # key: shop id. Until 2026-12 every binding in a shop took it exclusively; binding now takes it shared
    # (with REFERRAL_MEMBER below), so code still taking it exclusively excludes every new binding.
    REFERRAL_BINDING = 0x5EF
    # key: pair_key(shop id, member id). Exclusive: the member is being bound as an invitee; shared: the
    # member is on the chain above an invitee being bound (their own inviter must not change meanwhile).
    REFERRAL_MEMBER = 0x5F0
    CAMPAIGN_MEMBER = 0xCA4  # key: pair_key(campaign id, member id). The per-member purchase limit.
    ANALYTICS_FACTS = 17017  # key: shop id. One builder at a time rewrites a shop's fact rows.
    SKU_MEMBER = 0x5C4  # key: pair_key(sku id, member id). A SKU's per-member purchase limit.


class NotInTransaction(RuntimeError):
    """An advisory lock was asked for outside a transaction, where it would guard nothing."""


def pair_key(first: int, second: int) -> int:
    """Two ids folded into one 32-bit key (distinct pairs may collide; they then only wait for each other)."""
    return (first * 1_000_003 + second) % 2_147_483_647


def _check(namespace: Namespace, key: int) -> None:
    if not isinstance(namespace, Namespace):
        raise ValueError(f"advisory lock namespace {namespace!r} is not listed in shequn.locks.Namespace")
    if not INT4_MIN <= key <= INT4_MAX:
        raise ValueError(f"advisory lock key {key} does not fit in 32 bits")


def lock(namespace: Namespace, key: int, *, timeout: float = DEFAULT_TIMEOUT) -> None:
    """Take the transaction-scoped advisory lock (namespace, key), waiting at most `timeout` seconds.

    Held until the surrounding transaction commits or rolls back. Raises `NotInTransaction` outside
    `transaction.atomic()`, and `OperationalError` (lock_not_available) when the wait times out.
    """
    _check(namespace, key)
    if timeout <= 0:
        raise ValueError("an advisory lock needs a positive timeout")
    if not connection.in_atomic_block:
        raise NotInTransaction(f"advisory lock {namespace.name}:{key} taken outside transaction.atomic()")
    _take("pg_advisory_xact_lock(%s, %s)", [int(namespace), key], timeout)


def lock_many(
    exclusive: Iterable[tuple[Namespace, int]] = (),
    shared: Iterable[tuple[Namespace, int]] = (),
    *,
    timeout: float = DEFAULT_TIMEOUT,
) -> None:
    """Take several transaction-scoped advisory locks in one statement: `exclusive` ones
    (`pg_advisory_xact_lock`) and `shared` ones (`pg_advisory_xact_lock_shared`: shared holders never
    wait for each other, only for an exclusive holder of the same lock and it for them).

    Same rules as `lock` (inside `transaction.atomic()` only, a bounded wait). The locks are taken in
    (namespace, key) order, so two callers taking overlapping sets this way wait rather than deadlock.
    """
    wanted = {(ns, key, False) for ns, key in exclusive} | {(ns, key, True) for ns, key in shared}
    if not wanted:
        return
    for namespace, key, _shared in wanted:
        _check(namespace, key)
    if timeout <= 0:
        raise ValueError("an advisory lock needs a positive timeout")
    if not connection.in_atomic_block:
        raise NotInTransaction(f"advisory locks {sorted(wanted)} taken outside transaction.atomic()")
    ordered = sorted(wanted, key=lambda w: (int(w[0]), w[1], w[2]))
    calls = ", ".join(
        "pg_advisory_xact_lock_shared(%s, %s)" if is_shared else "pg_advisory_xact_lock(%s, %s)"
        for _ns, _key, is_shared in ordered
    )
    params = [value for namespace, key, _shared in ordered for value in (int(namespace), key)]
    _take(calls, params, timeout)


def _take(calls: str, params: list, timeout: float) -> None:
    """Run the lock `calls` under a lock_timeout of `timeout`, then give the transaction its own lock_timeout
    back, in one statement (one round trip, where reading, setting, locking and restoring took four): the
    inner target list is evaluated left to right (the old value is read, the cap set, then the locks are
    taken), and OFFSET 0 keeps the subquery whole, so the outer set_config runs once they are all held. A
    timeout raises and rolls the transaction back, the cap with it."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT set_config('lock_timeout', taken.previous, true) FROM (SELECT current_setting('lock_timeout') "
            f"AS previous, set_config('lock_timeout', %s, true) AS capped, {calls} OFFSET 0) AS taken",
            [str(max(1, round(timeout * 1000))), *params],  # milliseconds
        )


# --- Hot rows last ---------------------------------------------------------------------------------------
#
# A row every buyer writes (a SKU's stock, a flash sale's cap) is held from its UPDATE to COMMIT, so each
# transaction that writes it should do so with its last statements: everything else first. A service deep in
# the call chain (place_order's stock) cannot know what its callers still write after it returns (the
# campaign order row, a team seat), so it hands its hot-row write to `take_last`, and the outermost
# `hot_rows_last` block runs them all when its body is done, just before the caller's COMMIT.


class Rank(enum.IntEnum):
    """The order hot rows are taken in, the same in every transaction (placing and giving back), so two
    transactions that both take a SKU and a campaign's counters wait rather than deadlock."""

    SKU_STOCK = 10  # orders.Sku rows, in primary-key order
    CAMPAIGN_CAPS = 20  # campaigns.Campaign stock_used / budget_used


_last = threading.local()


@contextmanager
def hot_rows_last() -> Iterator[None]:
    """Run the hot-row writes handed to `take_last` inside this block when the block's body is done, by
    `Rank` and then in the order they were handed in; an exception in the body drops them (its transaction
    rolls back), and so does the rollback of the savepoint (inner atomic block) a write was handed in
    under. Nested blocks hand theirs to the outermost one. Use inside `transaction.atomic()`:
    `with transaction.atomic(), locks.hot_rows_last():` runs them right before that block's COMMIT."""
    if getattr(_last, "writes", None) is not None:
        yield
        return
    if not connection.in_atomic_block:
        raise NotInTransaction("hot_rows_last() outside transaction.atomic() would hold nothing to COMMIT")
    _last.writes = []
    try:
        yield
        writes = sorted(_last.writes, key=lambda write: write[:2])
    finally:
        _last.writes = None
    alive = {id(func) for _sids, func, _robust in connection.run_on_commit}
    if writes:
        _check_deferred_constraints_now()
    for _rank, _seq, write, marker in writes:
        if id(marker) in alive:  # else handed in within a savepoint rolled back since: not to be written
            write()


def _check_deferred_constraints_now() -> None:
    """Run the checks deferred to COMMIT (foreign keys, an order's adjustments adding up) now, before the hot
    rows are locked, instead of at COMMIT while they are held. Switching the constraints to IMMEDIATE checks
    what is pending at once (PostgreSQL applies the new mode retroactively); switching them back to DEFERRED
    restores the mode every deferrable constraint here is created with (INITIALLY DEFERRED), so anything
    written later in the transaction is checked at COMMIT as before. A failed check raises here and rolls
    the transaction back, as it would have at COMMIT."""
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE; SET CONSTRAINTS ALL DEFERRED")


def take_last(rank: Rank, write: Callable[[], None]) -> None:
    """Write a hot row with the transaction's last statements: at the end of the enclosing `hot_rows_last`
    block, or now when there is none. `write` raises to refuse (its transaction then rolls back)."""
    writes = getattr(_last, "writes", None)
    if writes is None:
        write()
        return
    # Django drops an on_commit callback whose savepoint rolls back: the marker tells whether it still counts.
    marker = _Handed()
    transaction.on_commit(marker)
    writes.append((int(rank), len(writes), write, marker))


class _Handed:
    """The on_commit marker of a write handed to take_last (nothing to do after commit)."""

    def __call__(self) -> None:
        pass
