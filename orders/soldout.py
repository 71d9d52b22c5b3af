"""The sold-out flag: a cheap answer for orders of a SKU with no stock left, before any order work.

A flag per SKU in the cache (Redis) says "this SKU had no stock at <moment>"; its value is the SKU's name,
so the sold-out answer needs no query. The database stays the only authority on stock:

- the flag is set on commit of the transaction that took a SKU's last unit (an order, an operator's
  removal), and when an order is refused because the stock it read was 0;
- it is cleared on commit of every transaction that raises a SKU's stock (an operator's restock, stock
  given back by a cancel, a timeout or a refund), so the next order takes the normal path;
- a missing flag (expired, evicted, Redis down) only means the normal path: the conditional UPDATE
  decides as always. A stale flag (a restock committing in the same instant as the sell-out's flag is
  written) can only refuse an order of a SKU that was restocked that instant, and lives at most
  FLAG_SECONDS: the flag never sells anything, so it can never oversell.
"""

from django.core.cache import cache
from django.db import transaction

FLAG_SECONDS = 120


def _key(sku_id: int) -> str:
    return f"orders:sold-out:{sku_id}"


def mark(sku_id: int, name: str) -> None:
    """Flag the SKU sold out now (the caller read stock 0 from the database)."""
    cache.set(_key(sku_id), name or "-", FLAG_SECONDS)


def mark_on_commit(sku_id: int, name: str) -> None:
    """Flag the SKU sold out once the transaction that took its last unit commits."""
    transaction.on_commit(lambda: mark(sku_id, name), robust=True)


def clear_on_commit(sku_ids) -> None:
    """Drop the SKUs' flags once the transaction that raised their stock commits."""
    keys = [_key(sku_id) for sku_id in sku_ids]
    if keys:
        transaction.on_commit(lambda: cache.delete_many(keys), robust=True)


def first_sold_out(sku_ids) -> str | None:
    """The name of the first flagged SKU among `sku_ids`, or None (one cache round trip, no query)."""
    keys = [_key(sku_id) for sku_id in sku_ids]
    if not keys:
        return None
    found = cache.get_many(keys) or {}  # {} too when Redis is down (IGNORE_EXCEPTIONS)
    return next((found[key] for key in keys if key in found), None)
