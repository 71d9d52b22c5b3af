"""The check-in boards of a group: the leaderboards' own boards (referrals.leaderboards, metric 打卡天数),
kept live in Redis from the check-in events and rebuildable from PostgreSQL like every other board; and the
streak board (current streaks in the group), read from the standings: a streak breaks, which no event says,
so it is ranked where it is kept (CheckinStanding, under the member's lock) rather than added up in Redis."""

from dataclasses import dataclass
from datetime import date, timedelta

from django.db.models import Count, Max, Q
from django.utils.translation import gettext_lazy as _

from campaigns.models import CheckinStanding
from referrals import leaderboards as lb

SHOWN = 10


def boards_for(campaign, group, today: date) -> list[tuple[str, lb.Board]]:
    """(title, board): today in the group, the campaign's whole run (every group), all time in the group."""
    metric = lb.Metric.CHECK_IN_DAYS
    return [
        (
            _("今日打卡"),
            lb.Board.of(
                shop_id=campaign.shop_id,
                metric=metric,
                scope=lb.Scope.GROUP,
                scope_id=group.pk,
                period=lb.Period.DAY,
                day=today,
            ),
        ),
        (
            _("本期打卡天数"),
            lb.Board.of(shop_id=campaign.shop_id, metric=metric, scope=lb.Scope.CAMPAIGN, scope_id=campaign.pk),
        ),
        (
            _("本群累计打卡天数"),
            lb.Board.of(shop_id=campaign.shop_id, metric=metric, scope=lb.Scope.GROUP, scope_id=group.pk),
        ),
    ]


def group_boards(campaign, group, user, today: date) -> list[dict]:
    """Each board's first rows and the member's own row: two Redis calls a board, no SQL when live; then the
    streak board (streak_board)."""
    shown = []
    for title, board in boards_for(campaign, group, today):
        mine, size = lb.rank_of(board, user.pk)
        shown.append({"title": title, "key": board.period, "rows": lb.top(board, SHOWN), "mine": mine, "size": size})
    shown.append(streak_board(campaign, group, user, today))
    return shown


@dataclass(frozen=True)
class StreakRow:
    rank: int
    user_id: int
    name: str
    value: int


def streak_board(campaign, group, user, today: date, *, limit: int = SHOWN) -> dict:
    """The group's members by their streak still alive today (ending today or yesterday), longest first; equal
    streaks share a rank, the one whose streak has gone on longest (the earlier last day) listed first. At most
    three queries, whatever the group's size."""
    alive = CheckinStanding.objects.filter(
        campaign=campaign, group=group, last_day__gte=today - timedelta(days=1), streak__gt=0
    )
    top = list(alive.select_related("member").order_by("-streak", "last_day", "updated_at", "member_id")[:limit])
    rows, rank, previous = [], 0, None
    for position, standing in enumerate(top, 1):
        if standing.streak != previous:
            rank, previous = position, standing.streak
        rows.append(StreakRow(rank, standing.member_id, standing.member.public_name, standing.streak))
    counts = alive.aggregate(size=Count("pk"), mine=Max("streak", filter=Q(member_id=user.pk)))
    mine = next((row for row in rows if row.user_id == user.pk), None)
    if mine is None and counts["mine"]:
        ahead = alive.filter(streak__gt=counts["mine"]).count()
        mine = StreakRow(ahead + 1, user.pk, user.public_name, counts["mine"])
    return {"title": _("连续打卡榜"), "key": "streak", "rows": rows, "mine": mine, "size": counts["size"]}
