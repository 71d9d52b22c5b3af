"""Keeping the live boards in step with the events: apply once, take voided events back, redo ties."""

from __future__ import annotations

import logging

from django.db import transaction

from ..models import ReferralEvent
from .boards import KIND_METRIC, Board, board_keys, boards_of, tie_of, value_of
from .keys import applied_bit, names_key, rebuilding_key, registry_key
from .store import live_enabled, redis_client, script

logger = logging.getLogger(__name__)


def _apply_args(event: ReferralEvent, boards: list[str], name: str) -> tuple[list[str], list]:
    bitmap, bit = applied_bit(event.pk)
    keys = [bitmap, names_key(event.shop_id), registry_key(event.shop_id), rebuilding_key(event.shop_id), *boards]
    args = [
        bit,
        event.inviter_id,
        name,
        value_of(event, KIND_METRIC[event.kind]),
        tie_of(event.occurred_at, event.pk),
        event.pk,
    ]
    return keys, args


def _inviter_name(event: ReferralEvent) -> str:
    return event.inviter.public_name  # the recording code hands the inviter in, so usually no query


def apply_event(event: ReferralEvent, *, name: str | None = None) -> bool:
    """Count one recorded event on its live boards, exactly once. True if this call counted it."""
    boards = board_keys(event)
    if not boards or not live_enabled():
        return False
    keys, args = _apply_args(event, boards, name if name is not None else _inviter_name(event))
    return bool(script("apply")(keys=keys, args=args))


def apply_events(events, *, names: dict[int, str], batch: int = 200) -> int:
    """`apply_event` for many events, `batch` per Lua call, 20 calls per pipeline (replays, bulk loads).

    Same exactly-once rule: an event already applied changes nothing. Returns how many were new.
    """
    if not live_enabled():
        return 0
    lua = script("apply_many")
    pipe = redis_client().pipeline(transaction=False)
    counted, queued, args, shop_id = 0, 0, [], None

    def queue_call():
        nonlocal counted, queued
        if len(args) > 3:
            lua(keys=[], args=args, client=pipe)
            queued += 1
        if queued >= 20:
            counted += sum(int(x) for x in pipe.execute())
            queued = 0

    in_call = 0
    for event in events:
        keys = board_keys(event)
        if not keys:
            continue
        if event.shop_id != shop_id or in_call >= batch:
            queue_call()
            shop_id, in_call = event.shop_id, 0
            args = [names_key(shop_id), registry_key(shop_id), rebuilding_key(shop_id)]
        bitmap, bit = applied_bit(event.pk)
        value = value_of(event, KIND_METRIC[event.kind])
        args += [
            bitmap,
            bit,
            event.inviter_id,
            names.get(event.inviter_id, ""),
            value,
            tie_of(event.occurred_at, event.pk),
            event.pk,
            len(keys),
            *keys,
        ]
        in_call += 1
    queue_call()
    if queued:
        counted += sum(int(x) for x in pipe.execute())
    return counted


def unapply_events(events) -> None:
    """Take voided events off their live boards (each at most once), then redo ties they decided."""
    if not live_enabled():
        return
    lua = script("unapply")
    to_retie = []
    for event in events:
        metric = KIND_METRIC.get(event.kind)
        if metric is None or value_of(event, metric) <= 0:
            continue
        boards = boards_of(_as_live(event))
        bitmap, bit = applied_bit(event.pk)
        tie = tie_of(event.occurred_at, event.pk)
        keys = [bitmap, rebuilding_key(event.shop_id), *(b.key for b in boards)]
        for key in lua(keys=keys, args=[bit, event.inviter_id, value_of(event, metric), tie, event.pk]):
            to_retie.append((key.decode() if isinstance(key, bytes) else key, event.inviter_id, tie))
    for key, user_id, tie in to_retie:
        retie(Board.from_key(key), user_id, tie)


def _as_live(event: ReferralEvent) -> ReferralEvent:
    """The event as it was before its void, to find the boards it counted on."""
    copy = ReferralEvent(**{f.attname: getattr(event, f.attname) for f in ReferralEvent._meta.concrete_fields})
    copy.voided_at = None
    return copy


def retie(board: Board, user_id: int, old_tie: str) -> None:
    """The member's latest counted event was taken away: their tie moves to the latest one left."""
    latest = (
        board.events()
        .filter(inviter_id=user_id)
        .order_by("-occurred_at", "-pk")
        .values_list("occurred_at", "pk")
        .first()
    )
    if latest is not None:
        script("retie")(keys=[board.key], args=[user_id, old_tie, tie_of(*latest)])


class LeaderboardPlugin:
    """Receivers of the referral event hooks (shequn.hooks): boards follow the events, after the transaction commits."""

    @staticmethod
    def event_recorded(event: ReferralEvent) -> None:
        if live_enabled() and KIND_METRIC.get(event.kind):
            name = _inviter_name(event)  # read now: after commit the instance may be gone from the caller
            transaction.on_commit(lambda: _safely(apply_event, event, name=name))

    @staticmethod
    def events_voided(events) -> None:
        if live_enabled():
            events = list(events)
            transaction.on_commit(lambda: _safely(unapply_events, events))


def _safely(fn, *args, **kwargs) -> None:
    """Redis trouble must not fail a request whose data is already committed: a rebuild repairs the board."""
    try:
        fn(*args, **kwargs)
    except Exception:
        logger.exception("leaderboard update failed; the next rebuild repairs it")
