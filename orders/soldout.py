"""The sold-out flag: a cheap answer for orders of something with none left, before any order work.

Scarce things are each taken by one conditional UPDATE of one row: a SKU's stock (here, the order core), a
campaign's stock cap (campaigns.services, through `scope="campaign"`). A flag per such row in the cache
(Redis) says "none left at <moment>"; its value is the thing's name, so the sold-out answer needs no query.
The database stays the only authority:

- the flag is set on commit of the transaction that took the last unit (an order, an operator's removal),
  and when an order is refused because the row it read had none left;
- it is cleared on commit of every transaction that gives units back or raises the limit (an operator's
  restock or a higher cap, stock given back by a cancel, a timeout or a refund), so the next order takes
  the normal path;
- a missing flag (expired, evicted, Redis down) only means the normal path: the conditional UPDATE
  decides as always. A stale flag (a restock committing in the same instant as the sell-out's flag is
  written) can only refuse an order of something restocked that instant, and lives at most
  FLAG_SECONDS: the flag never sells anything, so it can never oversell.
"""

from django.core.cache import cache
from django.db import transaction

FLAG_SECONDS = 120
SKU = "sku"


def _key(subject_id: int, scope: str = SKU) -> str:
    # A SKU's key has no scope word: flags written before scopes existed stay readable.
    return f"orders:sold-out:{subject_id}" if scope == SKU else f"orders:sold-out:{scope}:{subject_id}"


def mark(subject_id: int, name: str, *, scope: str = SKU) -> None:
    """Flag the SKU (or the `scope`'s row) sold out now (the caller read none left from the database)."""
    cache.set(_key(subject_id, scope), name or "-", FLAG_SECONDS)


def mark_on_commit(subject_id: int, name: str, *, scope: str = SKU) -> None:
    """Flag it sold out once the transaction that took its last unit commits."""
    transaction.on_commit(lambda: mark(subject_id, name, scope=scope), robust=True)


def clear_on_commit(subject_ids, *, scope: str = SKU) -> None:
    """Drop the flags once the transaction that gave units back (or raised the limit) commits."""
    keys = [_key(subject_id, scope) for subject_id in subject_ids]
    if keys:
        transaction.on_commit(lambda: cache.delete_many(keys), robust=True)


def first_sold_out(subject_ids, *, scope: str = SKU) -> str | None:
    """The name of the first flagged one among `subject_ids`, or None (one cache round trip, no query)."""
    keys = [_key(subject_id, scope) for subject_id in subject_ids]
    if not keys:
        return None
    found = cache.get_many(keys) or {}  # {} too when Redis is down (IGNORE_EXCEPTIONS)
    return next((found[key] for key in keys if key in found), None)
