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

The early answer (orders.early): a form POST to an order URL a plug-in registered (shequn.hooks
`sold_out_routes`: the checkout, 立即抢购) is refused from the flag before the session, the user or CSRF are
loaded — a refusal changes nothing, so it needs none of them. One exception must still find its order: a
resubmitted form whose idempotency key already placed one (a double tap, a retry after a lost answer). The
member's orders need the session (a query), so instead the order pages note every key they hand to the
order service (`note_submitted`, before the order is placed, so never too late) and a key noted in the last
SUBMITTED_SECONDS goes the normal way, which finds the order. A resubmit later than that of something sold
out since is told it is sold out; its order is in 我的订单 all the same.
"""

from collections.abc import Callable
from dataclasses import dataclass

from django.core.cache import cache
from django.db import transaction
from django.http import QueryDict

FLAG_SECONDS = 120
SUBMITTED_SECONDS = 3600
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


def _submitted_key(idempotency_key: str) -> str:
    return f"orders:submitted:{idempotency_key}"


def note_submitted(idempotency_key: str) -> None:
    """Remember that a form with this key is going on to place an order (called before it is placed): a
    resubmit of it is then never answered early."""
    if idempotency_key:
        cache.set(_submitted_key(idempotency_key), 1, SUBMITTED_SECONDS)


def early_sold_out(subject_ids, *, scope: str = SKU, idempotency_key: str = "") -> str | None:
    """The first flagged one's name, unless the form's key was noted as submitted: one cache round trip
    for both, no query. None (the normal path) as well when Redis is down."""
    keys = [_key(subject_id, scope) for subject_id in subject_ids]
    if not keys:
        return None
    submitted = _submitted_key(idempotency_key) if idempotency_key else None
    found = cache.get_many([*keys, submitted] if submitted else keys) or {}
    if submitted in found:
        return None
    return next((found[key] for key in keys if key in found), None)


@dataclass(frozen=True)
class EarlyRoute:
    """An order URL whose POST is answered from the flags before the middleware's work (orders.early).

    `url_name` and `back_name` take one integer argument (the group's, the campaign's id); `subjects` gives
    the flagged things' ids from that id and the POST (no query; [] for the normal path); the `template`
    stands alone (no session, user or CSRF token in it) and is rendered once per language with `name` (when
    `show_name`: the page is public anyway) and `back` filled in per request."""

    url_name: str
    back_name: str
    scope: str
    subjects: Callable[[int, QueryDict], list[int]]
    template: str
    show_name: bool
