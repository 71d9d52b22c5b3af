"""The check-in boards of a group: the leaderboards' own boards (referrals.leaderboards, metric 打卡天数),
kept live in Redis from the check-in events and rebuildable from PostgreSQL like every other board."""

from datetime import date

from django.utils.translation import gettext_lazy as _

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
    """Each board's first rows and the member's own row: two Redis calls a board, no SQL when live."""
    shown = []
    for title, board in boards_for(campaign, group, today):
        mine, size = lb.rank_of(board, user.pk)
        shown.append({"title": title, "key": board.period, "rows": lb.top(board, SHOWN), "mine": mine, "size": size})
    return shown
