"""Rebuilding boards from PostgreSQL (the truth) while events keep arriving, and the repair jobs."""

from __future__ import annotations

import logging
import secrets
import time
from datetime import date, datetime, timedelta
from decimal import Decimal

from django.db import connection, transaction
from django.utils import timezone

from ..models import ReferralEvent
from .boards import CUSTOM_TTL, KIND_METRIC, Board, Period, boards_of
from .keys import names_key, rebuilding_key, registry_key
from .store import live_enabled, redis_client, script, text
from .truth import Standing, public_names, standings
from .writes import retie

logger = logging.getLogger(__name__)
REBUILD_LOCK_SECONDS = 900


class BoardBusy(RuntimeError):
    """Another rebuild of the same board is running."""


def rebuild(board: Board, *, wait: float = 30) -> int:
    """Recompute the board from the live events in PostgreSQL and swap it in. Returns its size.

    Safe while events keep arriving: the board is flagged while it is rebuilt, and every apply or
    void that touches it meanwhile is also noted in a list. The copy is computed from one snapshot
    (REPEATABLE READ); before the swap each noted event is checked against that snapshot and applied
    to (or taken off) the copy only if the snapshot did not already see it. The swap and those
    corrections are one atomic script, retried if more events were noted since they were read.
    Voided events are never in the snapshot, so a rebuild never brings one back.
    """
    if not live_enabled():
        return len(standings(board))
    client = redis_client()
    token = secrets.token_hex(8)
    flag, pending = board.key + ":rb", board.key + ":pending"
    deadline = time.monotonic() + wait
    while not client.set(flag, token, nx=True, ex=REBUILD_LOCK_SECONDS):
        if time.monotonic() > deadline:
            raise BoardBusy(board.key)
        time.sleep(0.05)
    rebuilding = rebuilding_key(board.shop_id)
    client.delete(pending)  # what a crashed rebuild may have left
    client.sadd(rebuilding, board.key)  # from now on, applies and voids on this board are noted
    copy = f"{board.key}:copy:{token}"
    to_retie = None
    try:
        outermost = not connection.in_atomic_block
        with transaction.atomic():
            if outermost:  # one snapshot for the copy and the checks
                with connection.cursor() as cursor:
                    cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
            ranked = standings(board)
            write_copy(client, board, copy, ranked)
            for _attempt in range(50):
                noted = [text(x) for x in client.lrange(pending, 0, -1)]
                corrections = _corrections(noted)
                result = script("swap")(
                    keys=[board.key, copy, pending, flag, registry_key(board.shop_id), rebuilding],
                    args=[token, len(noted), *corrections],
                )
                status = int(result[0])
                if status == 1:
                    to_retie = [text(item).split("|") for item in result[1:]]
                    break
                if status == -1:
                    raise BoardBusy(board.key)
        if to_retie is None:
            raise BoardBusy(board.key)
        for user_id, tie in to_retie:  # outside the old snapshot: the latest event left is read fresh
            retie(board, int(user_id), tie)
        return len(ranked)
    finally:
        client.delete(copy, copy + ":m")
        if client.get(flag) == token.encode():  # failed before the swap: stop noting, let the next one try
            client.srem(rebuilding, board.key)
            client.delete(flag, pending)


def write_copy(client, board: Board, copy: str, ranked: list[Standing]) -> None:
    client.delete(copy, copy + ":m")
    names = public_names([s.user_id for s in ranked])
    pipe = client.pipeline(transaction=False)
    for chunk_start in range(0, len(ranked), 5000):
        chunk = ranked[chunk_start : chunk_start + 5000]
        members = {f"{s.tie}{s.user_id}": s.raw for s in chunk}
        pipe.zadd(copy, members)
        pipe.hset(copy + ":m", mapping={s.user_id: f"{s.tie}{s.user_id}" for s in chunk})
        chunk_names = {s.user_id: names[s.user_id] for s in chunk if s.user_id in names}
        if chunk_names:
            pipe.hset(names_key(board.shop_id), mapping=chunk_names)
        pipe.execute()


def _corrections(noted: list[str]) -> list:
    """What the snapshot missed among the noted applies and voids, as (op, user, value, tie) flattened.

    An event counts in the snapshot iff it was visible there and not voided. Walking the notes in
    order: '+' adds an event the copy does not count yet; '-' takes one off that the copy counts.
    """
    if not noted:
        return []
    parsed = [entry.split("|") for entry in noted]
    ids = {int(p[1]) for p in parsed}
    counted = set(ReferralEvent.objects.filter(pk__in=ids, voided_at__isnull=True).values_list("pk", flat=True))
    out = []
    for op, event_id, user_id, value, tie in parsed:
        event_id = int(event_id)
        if op == "+" and event_id not in counted:
            counted.add(event_id)
            out += ["+", user_id, value, tie]
        elif op == "-" and event_id in counted:
            counted.discard(event_id)
            out += ["-", user_id, value, tie]
    return out


def materialise(board: Board) -> None:
    """A custom range: computed from SQL on first read, then served from Redis for CUSTOM_TTL seconds."""
    client = redis_client()
    marker = board.key + ":built"
    if client.exists(marker):
        return
    ranked = standings(board)
    copy = f"{board.key}:copy:{secrets.token_hex(8)}"
    write_copy(client, board, copy, ranked)
    pipe = client.pipeline()
    pipe.delete(board.key, board.key + ":m")
    if ranked:
        pipe.rename(copy, board.key)
        pipe.rename(copy + ":m", board.key + ":m")
        pipe.expire(board.key, CUSTOM_TTL)
        pipe.expire(board.key + ":m", CUSTOM_TTL)
    pipe.set(marker, 1, ex=CUSTOM_TTL)
    pipe.execute()


def boards_to_refresh(shop_id: int, today: date | None = None) -> list[Board]:
    """The shop's registered boards of the current day/week/month and all time."""
    if not live_enabled():
        return []
    today = today or timezone.localdate()
    found = []
    for raw in redis_client().smembers(registry_key(shop_id)):
        board = Board.from_key(text(raw))
        if board.period == Period.ALL or (board.start and board.start <= today <= board.end):
            found.append(board)
    return sorted(found, key=lambda b: b.key)


def rebuild_shop(shop_id: int, *, everything: bool = False, since: datetime | None = None) -> int:
    """Rebuild a shop's current boards and those of events recorded `since` (or, with `everything`, every
    board its events imply: after Redis lost its data). Returns how many boards."""
    boards = set(boards_to_refresh(shop_id))
    if everything and live_enabled():
        boards |= {Board.from_key(text(raw)) for raw in redis_client().smembers(registry_key(shop_id))}
        boards |= set(boards_from_events(shop_id))
    elif since is not None and live_enabled():
        boards |= set(boards_from_events(shop_id, since=since))
    for board in sorted(boards, key=lambda b: b.key):
        rebuild(board)
    return len(boards)


def boards_from_events(shop_id: int, since: datetime | None = None) -> list[Board]:
    """Every live board implied by the shop's live events (recorded `since`, when given)."""
    found: set[Board] = set()
    events = ReferralEvent.objects.filter(shop_id=shop_id, voided_at__isnull=True, kind__in=list(KIND_METRIC))
    if since is not None:
        events = events.filter(recorded_at__gte=since)
    # order_by(): without it the model's ordering joins the DISTINCT and every event is its own row.
    rows = (
        events.order_by()
        .values_list("kind", "group_id", "series_id", "campaign_id", "occurred_at")
        .distinct()
        .iterator(chunk_size=5000)
    )
    for kind, group_id, series_id, campaign_id, occurred_at in rows:
        probe = ReferralEvent(
            shop_id=shop_id,
            kind=kind,
            group_id=group_id,
            series_id=series_id,
            campaign_id=campaign_id,
            occurred_at=occurred_at,
            amount=Decimal("1"),
        )
        found.update(boards_of(probe))
    return list(found)


def shops_with_events(since: datetime | None = None) -> list[int]:
    """Each shop with events (recorded `since`, when given) once.

    order_by() matters: the model's ordering (occurred_at, pk) would join the DISTINCT and return one
    row per event, so a shop with 1,000 events would be rebuilt 1,000 times.
    """
    events = ReferralEvent.objects.all() if since is None else ReferralEvent.objects.filter(recorded_at__gte=since)
    return list(events.order_by("shop_id").values_list("shop_id", flat=True).distinct())


def refresh_recent_boards() -> int:
    """Beat job: rebuild the current boards of every shop that recorded events in the last day."""
    count = 0
    since = timezone.now() - timedelta(days=1)
    for shop_id in shops_with_events(since):
        try:
            count += rebuild_shop(shop_id, since=since)
        except BoardBusy:
            logger.info("boards of shop %s are being rebuilt already", shop_id)
    return count
