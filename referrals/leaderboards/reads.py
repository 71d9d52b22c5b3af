"""Reading boards: top rows and "my rank" from Redis (one Lua call each), or from SQL when not live."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from .boards import TOP, Board, reached_at
from .keys import names_key
from .rebuilding import materialise
from .store import live_enabled, redis_client, script, text
from .truth import Standing, public_names, standings


@dataclass(frozen=True)
class Entry:
    rank: int
    user_id: int
    name: str
    value: int | Decimal
    reached_at: datetime


def top(board: Board, limit: int = TOP) -> list[Entry]:
    """The board's first `limit` rows. Live boards: one Redis call, no SQL."""
    if not live_enabled():
        return _entries(board, standings(board)[:limit])
    if not board.is_live:
        materialise(board)
    rows = script("top")(keys=[board.key, names_key(board.shop_id)], args=[limit])
    entries = []
    for i in range(0, len(rows), 4):
        tie = text(rows[i + 3])
        entries.append(
            Entry(
                rank=i // 4 + 1,
                user_id=int(rows[i]),
                name=text(rows[i + 2]),
                value=board.display_value(int(float(rows[i + 1]))),
                reached_at=reached_at(tie),
            )
        )
    return entries


def rank_of(board: Board, user_id: int) -> tuple[Entry | None, int]:
    """(the member's row, or None when not on the board; how many are on it). Live boards: no SQL."""
    if not live_enabled():
        ranked = standings(board)
        for position, standing in enumerate(ranked):
            if standing.user_id == user_id:
                return _entries(board, [standing], start=position + 1)[0], len(ranked)
        return None, len(ranked)
    if not board.is_live:
        materialise(board)
    row = script("rank")(keys=[board.key, names_key(board.shop_id)], args=[user_id])
    if not row:
        return None, size(board)
    entry = Entry(
        rank=int(row[0]) + 1,
        user_id=user_id,
        name=text(row[2]),
        value=board.display_value(int(float(row[1]))),
        reached_at=reached_at(text(row[3])),
    )
    return entry, int(row[4])


def size(board: Board) -> int:
    if not live_enabled():
        return len(standings(board))
    return redis_client().zcard(board.key)


def _entries(board: Board, ranked: list[Standing], start: int = 1) -> list[Entry]:
    names = public_names([s.user_id for s in ranked])
    return [
        Entry(
            rank=start + i,
            user_id=s.user_id,
            name=names.get(s.user_id, ""),
            value=board.display_value(s.raw),
            reached_at=s.last_at,
        )
        for i, s in enumerate(ranked)
    ]
