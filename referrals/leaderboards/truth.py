"""A board computed from the live events in SQL: the truth that live ranks must match and rebuilds copy."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db.models import Count, F, Sum, Window
from django.db.models.functions import RowNumber

from accounts.models import User

from .boards import Board, tie_of


@dataclass(frozen=True)
class Standing:
    user_id: int
    raw: int
    last_at: datetime
    last_id: int

    @property
    def tie(self) -> str:
        return tie_of(self.last_at, self.last_id)


def standings(board: Board) -> list[Standing]:
    """The board computed from the live events in SQL, in rank order: the truth live ranks must match."""
    value = Sum("amount") if board.is_money else Count("pk")
    per_inviter = [F("inviter_id")]
    rows = (
        board.events()
        .annotate(
            total=Window(value, partition_by=per_inviter),
            position=Window(RowNumber(), partition_by=per_inviter, order_by=[F("occurred_at").desc(), F("pk").desc()]),
        )
        .filter(position=1)
        .values_list("inviter_id", "total", "occurred_at", "pk")
    )
    ranked = [
        Standing(
            user_id=user_id,
            raw=int((total * 100).to_integral_value()) if board.is_money else int(total),
            last_at=last_at,
            last_id=last_id,
        )
        for user_id, total, last_at, last_id in rows
    ]
    ranked.sort(key=lambda s: (-s.raw, s.last_at, s.last_id))
    return ranked


def public_names(user_ids: list[int]) -> dict[int, str]:
    names = {}
    for chunk_start in range(0, len(user_ids), 5000):
        chunk = user_ids[chunk_start : chunk_start + 5000]
        for user in User.objects.filter(pk__in=chunk).only("display_name", "phone", "email", "username"):
            names[user.pk] = user.public_name
    return names
