"""Leaderboards: live ranks in Redis that always agree with the events in PostgreSQL.

Rules under test: every counted event lands once on each board it belongs to; ties go to whoever
reached the value first; a rebuild from the events gives the very same ranks; voided events leave
every board for good; top 50 and "my rank" never touch SQL.
"""

import random
from collections import Counter
from datetime import date, timedelta
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone

from referrals import leaderboards as lb
from referrals.leaderboards import Board, Metric, Period, Scope, rebuilding
from referrals.models import EventKind, ReferralEvent
from referrals.services import record_campaign_act, void_events
from referrals.tasks import refresh_boards
from tests.factories import GroupFactory, GroupSeriesFactory, ShopFactory, UserFactory
from tests.referrals.board_support import at, record

pytestmark = pytest.mark.django_db


@pytest.fixture
def committed(django_capture_on_commit_callbacks):
    """Run what the recording code defers to after commit, as a real commit would."""
    return lambda: django_capture_on_commit_callbacks(execute=True)


def board(shop, metric=Metric.CAMPAIGN_ACTS, **kwargs):
    return Board.of(shop_id=shop.pk, metric=metric, **kwargs)


def ranking(b):
    return [(e.user_id, e.value) for e in lb.top(b)]


def test_an_event_counts_once_on_every_board_it_belongs_to(shop, committed):
    series = GroupSeriesFactory(shop=shop)
    group = GroupFactory(shop=shop, series=series)
    alice, bob = UserFactory(), UserFactory()
    with committed():
        record(shop=shop, inviter=alice, invitee=bob, group=group, campaign_id=7, at=at(5))

    for scope, scope_id in [
        (Scope.SHOP, None),
        (Scope.GROUP, group.pk),
        (Scope.SERIES, series.pk),
        (Scope.CAMPAIGN, 7),
    ]:
        for period in (Period.DAY, Period.WEEK, Period.MONTH, Period.ALL):
            b = board(shop, scope=scope, scope_id=scope_id, period=period, day=date(2025, 3, 5))
            assert ranking(b) == [(alice.pk, 1)], (scope, period)
    # Not on another day's board, another group's, or another metric's.
    assert ranking(board(shop, period=Period.DAY, day=date(2025, 3, 6))) == []
    assert ranking(board(shop, scope=Scope.GROUP, scope_id=GroupFactory(shop=shop).pk)) == []
    assert ranking(board(shop, metric=Metric.JOINS)) == []


def test_each_metric_counts_its_own_events(shop, committed):
    alice, bob, carol = UserFactory(), UserFactory(), UserFactory()
    with committed():
        record(shop=shop, inviter=alice, invitee=bob, kind=EventKind.JOINED)
        record(shop=shop, inviter=alice, invitee=carol, kind=EventKind.JOINED)
        record(shop=shop, inviter=alice, invitee=bob, kind=EventKind.FIRST_ORDER, amount="39.90")
        record(shop=shop, inviter=alice, invitee=bob, kind=EventKind.REPEAT_ORDER, amount="100.05")
        record(shop=shop, inviter=alice, invitee=bob, kind=EventKind.QUALIFIED, amount="39.90")
        record(shop=shop, inviter=alice, invitee=carol, kind=EventKind.LINK_OPENED)

    assert ranking(board(shop, Metric.JOINS)) == [(alice.pk, 2)]
    assert ranking(board(shop, Metric.GMV)) == [(alice.pk, Decimal("139.95"))]
    assert ranking(board(shop, Metric.QUALIFIED)) == [(alice.pk, 1)]
    assert ranking(board(shop, Metric.CAMPAIGN_ACTS)) == []


def test_a_duplicate_act_counts_once(shop, committed):
    alice, bob = UserFactory(), UserFactory()
    with committed():
        for _ in range(3):  # a retried request: same campaign, same act key
            record_campaign_act(shop_id=shop.pk, campaign_id=1, inviter=alice, invitee=bob, key="help:bob")

    assert ReferralEvent.objects.count() == 1
    assert ranking(board(shop)) == [(alice.pk, 1)]


def test_a_replayed_apply_does_not_count_twice(shop, committed):
    alice, bob = UserFactory(), UserFactory()
    with committed():
        event = record(shop=shop, inviter=alice, invitee=bob)

    assert lb.apply_event(event) is False  # a redelivered after-commit callback, a second worker…
    assert lb.apply_event(event) is False
    assert ranking(board(shop)) == [(alice.pk, 1)]


def test_ties_go_to_whoever_reached_the_value_first(shop, committed):
    alice, bob, x = UserFactory(), UserFactory(), UserFactory()
    with committed():
        record(shop=shop, inviter=alice, invitee=x, at=at(1))
        record(shop=shop, inviter=bob, invitee=x, at=at(2))
        record(shop=shop, inviter=bob, invitee=x, at=at(3))  # bob reaches 2 on the 3rd
        record(shop=shop, inviter=alice, invitee=x, at=at(4))  # alice only on the 4th

    assert ranking(board(shop)) == [(bob.pk, 2), (alice.pk, 2)]
    bob_row, size = lb.rank_of(board(shop), bob.pk)
    assert (bob_row.rank, size, bob_row.reached_at) == (1, 2, at(3))

    with committed():
        record(shop=shop, inviter=alice, invitee=x, at=at(5))
    assert ranking(board(shop)) == [(alice.pk, 3), (bob.pk, 2)]


def test_an_event_arriving_late_still_dates_the_value_by_when_it_happened(shop, committed):
    alice, bob, x = UserFactory(), UserFactory(), UserFactory()
    with committed():
        record(shop=shop, inviter=alice, invitee=x, at=at(5))
        record(shop=shop, inviter=bob, invitee=x, at=at(4))
        record(shop=shop, inviter=alice, invitee=x, at=at(1))  # recorded last, happened first

    # alice reached 2 on the 5th, bob has 1: alice leads; her reached time stays the 5th.
    row, _size = lb.rank_of(board(shop), alice.pk)
    assert (row.rank, row.value, row.reached_at) == (1, 2, at(5))


def test_same_moment_ties_go_to_the_event_recorded_first(shop, committed):
    alice, bob, x = UserFactory(), UserFactory(), UserFactory()
    with committed():
        record(shop=shop, inviter=bob, invitee=x, at=at(1))
        record(shop=shop, inviter=alice, invitee=x, at=at(1))

    assert [e.user_id for e in lb.top(board(shop))] == [bob.pk, alice.pk]
    lb.rebuild(board(shop))
    assert [e.user_id for e in lb.top(board(shop))] == [bob.pk, alice.pk]


def test_top_and_my_rank_run_no_sql(shop, committed, django_assert_num_queries):
    members = [UserFactory() for _ in range(60)]
    x = UserFactory()
    with committed():
        for i, member in enumerate(members):
            for _ in range(i % 7 + 1):
                record(shop=shop, inviter=member, invitee=x)
    b = board(shop)

    with django_assert_num_queries(0):
        rows = lb.top(b)
        mine, size = lb.rank_of(b, members[10].pk)
        nobody, _ = lb.rank_of(b, x.pk)

    assert len(rows) == 50 and size == 60 and nobody is None
    assert [r.rank for r in rows] == list(range(1, 51))
    assert rows[0].name == members[rows[0].user_id - members[0].pk].public_name
    assert mine.value == 10 % 7 + 1 and rows[mine.rank - 1].user_id == members[10].pk


@pytest.mark.slow
def test_rebuild_from_random_events_gives_identical_ranks(shop, committed):
    rng = random.Random(20250301)
    groups = [GroupFactory(shop=shop, series=GroupSeriesFactory(shop=shop)) for _ in range(3)]
    inviters = [UserFactory() for _ in range(25)]
    invitees = [UserFactory() for _ in range(40)]
    kinds = [EventKind.CAMPAIGN_ACT, EventKind.JOINED, EventKind.REPEAT_ORDER, EventKind.LINK_OPENED]
    with committed():
        events = [
            record(
                shop=shop,
                inviter=rng.choice(inviters),
                invitee=rng.choice(invitees),
                kind=rng.choice(kinds),
                at=at(rng.randint(1, 28), rng.randint(0, 23), rng.randint(0, 59), rng.randint(0, 3)),
                amount=f"{rng.randint(0, 30000) / 100:.2f}",
                group=rng.choice(groups + [None]),
                campaign_id=rng.choice([None, 1, 2]),
            )
            for _ in range(400)
        ]
    with committed():
        void_events(rng.sample(events, 40), reason="测试")

    boards = [
        board(shop, metric, scope=scope, scope_id=scope_id, period=period, day=date(2025, 3, d))
        for metric in (Metric.CAMPAIGN_ACTS, Metric.JOINS, Metric.GMV)
        for scope, scope_id in [(Scope.SHOP, None), (Scope.GROUP, groups[0].pk), (Scope.CAMPAIGN, 2)]
        for period, d in [(Period.ALL, 1), (Period.WEEK, 10), (Period.DAY, 14), (Period.MONTH, 3)]
    ]
    live = {b: lb.top(b, 1000) for b in boards}
    assert any(len(rows) > 10 for rows in live.values())
    for b in boards:
        truth = [(s.user_id, b.display_value(s.raw)) for s in lb.standings(b)]
        assert [(e.user_id, e.value) for e in live[b]] == truth, b
        lb.rebuild(b)
        assert lb.top(b, 1000) == live[b], b


def test_voided_events_leave_every_board_and_a_rebuild_never_brings_them_back(shop, committed, operator):
    group = GroupFactory(shop=shop)
    alice, bob, x = UserFactory(), UserFactory(), UserFactory()
    with committed():
        record(shop=shop, inviter=alice, invitee=x, at=at(1), group=group)
        record(shop=shop, inviter=bob, invitee=x, at=at(2), group=group)
        fake = record(shop=shop, inviter=alice, invitee=x, at=at(3), group=group)
    assert ranking(board(shop)) == [(alice.pk, 2), (bob.pk, 1)]

    with committed():
        void_events([fake], by=operator, reason="刷单")

    # alice is back to 1, reached on the 1st: before bob, on every board of the event.
    for b in [
        board(shop),
        board(shop, scope=Scope.GROUP, scope_id=group.pk),
        board(shop, period=Period.DAY, day=date(2025, 3, 3)),
    ]:
        expected = [(alice.pk, 1), (bob.pk, 1)] if b.period == Period.ALL else []
        assert ranking(b) == expected, b
        lb.rebuild(b)
        assert ranking(b) == expected, b
    row, _ = lb.rank_of(board(shop), alice.pk)
    assert row.reached_at == at(1)


def test_a_void_that_commits_before_the_apply_runs_leaves_nothing(shop, committed):
    alice, x = UserFactory(), UserFactory()
    event = record(shop=shop, inviter=alice, invitee=x)  # its apply never ran (callbacks not executed)
    with committed():
        void_events([event], reason="刷单")

    assert lb.apply_event(event) is False  # the late apply finds the event already settled
    assert ranking(board(shop)) == []


def test_a_member_whose_only_event_is_voided_leaves_the_board(shop, committed):
    alice, x = UserFactory(), UserFactory()
    with committed():
        event = record(shop=shop, inviter=alice, invitee=x)
    with committed():
        void_events([event], reason="刷单")
    assert ranking(board(shop)) == []
    assert lb.rank_of(board(shop), alice.pk) == (None, 0)


def test_custom_range_is_computed_once_then_read_without_sql(shop, committed, django_assert_num_queries):
    alice, bob, x = UserFactory(), UserFactory(), UserFactory()
    with committed():
        record(shop=shop, inviter=alice, invitee=x, at=at(3))
        record(shop=shop, inviter=bob, invitee=x, at=at(10))
        record(shop=shop, inviter=bob, invitee=x, at=at(11))
    b = board(shop, period=Period.CUSTOM, start=date(2025, 3, 1), end=date(2025, 3, 10))

    assert ranking(b) == [(alice.pk, 1), (bob.pk, 1)]
    with django_assert_num_queries(0):
        assert lb.rank_of(b, bob.pk)[0].rank == 2


def test_without_redis_boards_are_computed_from_sql(shop, committed, settings):
    alice, bob, x = UserFactory(), UserFactory(), UserFactory()
    settings.REDIS_URL = ""  # the embedded mode of scripts/run
    with committed():
        record(shop=shop, inviter=alice, invitee=x, at=at(1))
        record(shop=shop, inviter=bob, invitee=x, at=at(2))
        record(shop=shop, inviter=bob, invitee=x, at=at(3))

    assert ranking(board(shop)) == [(bob.pk, 2), (alice.pk, 1)]
    assert lb.rank_of(board(shop), alice.pk)[0].rank == 2
    assert lb.rebuild(board(shop)) == 2


def test_boards_of_one_shop_never_show_another_shops_events(shop, committed):
    other = ShopFactory()
    alice, x = UserFactory(), UserFactory()
    with committed():
        record(shop=other, inviter=alice, invitee=x)
    assert ranking(board(shop)) == []
    assert ranking(board(other)) == [(alice.pk, 1)]


@pytest.mark.parametrize(
    "kwargs",
    [
        {"metric": "likes"},
        {"scope": Scope.GROUP},
        {"period": "year"},
        {"period": Period.CUSTOM, "start": date(2025, 3, 2)},
        {"period": Period.CUSTOM, "start": date(2025, 3, 2), "end": date(2025, 3, 1)},
        {"period": Period.CUSTOM, "start": date(2024, 1, 1), "end": date(2025, 3, 1)},
    ],
)
def test_impossible_boards_are_refused_in_words(kwargs):
    with pytest.raises(lb.BoardError) as refused:
        Board.of(shop_id=1, **kwargs)
    assert refused.value.args[0]


def test_periods_follow_shop_time():
    assert lb.period_bounds(Period.WEEK, date(2025, 3, 5)) == (date(2025, 3, 3), date(2025, 3, 9))
    assert lb.period_bounds(Period.MONTH, date(2024, 2, 10)) == (date(2024, 2, 1), date(2024, 2, 29))
    b = Board.of(shop_id=1, metric=Metric.JOINS, period=Period.DAY, day=date(2025, 3, 5))
    lo, hi = b.window()
    assert (hi - lo) == timedelta(days=1) and str(lo.utcoffset()) == "8:00:00"
    assert Board.from_key(b.key) == b


def test_boards_lost_with_redis_come_back_from_the_events(shop, committed):
    group = GroupFactory(shop=shop, series=GroupSeriesFactory(shop=shop))
    alice, bob, x = UserFactory(), UserFactory(), UserFactory()
    with committed():
        for day, who in [(1, alice), (2, bob), (9, bob), (20, alice), (20, alice)]:
            record(shop=shop, inviter=who, invitee=x, at=at(day), group=group, campaign_id=3)
    boards = [b for b in rebuilding.boards_from_events(shop.pk)]
    before = {b: lb.top(b) for b in boards}
    assert len(boards) == 4 * (4 + 3 + 1 + 1) and all(before.values())  # scopes × (days, weeks, month, all)

    lb.redis_client().flushdb()  # Redis restarted without its data
    assert all(lb.top(b) == [] for b in boards)
    call_command("rebuild_leaderboards", "--all")

    assert {b: lb.top(b) for b in boards} == before


def test_the_periodic_refresh_repairs_an_update_a_crash_lost(shop, committed):
    alice, x = UserFactory(), UserFactory()
    with committed():
        record(shop=shop, inviter=alice, invitee=x, at=at(1))
    record(shop=shop, inviter=alice, invitee=x, at=at(2))  # committed, but its after-commit update never ran
    assert ranking(board(shop)) == [(alice.pk, 1)]

    assert refresh_boards() >= 1

    assert ranking(board(shop)) == [(alice.pk, 2)]
    assert ranking(board(shop, period=Period.DAY, day=date(2025, 3, 2))) == [(alice.pk, 1)]


@pytest.mark.slow
def test_a_long_board_reads_whole(shop, committed):
    x = UserFactory()
    members = UserFactory.create_batch(1200)
    with committed():
        for member in members:
            record(shop=shop, inviter=member, invitee=x)
    rows = lb.top(board(shop), 10000)
    assert len(rows) == 1200 and {r.name for r in rows} == {m.public_name for m in members}


def test_a_repair_rebuilds_each_shop_once_however_many_events_it_has(shop, other_shop, committed, monkeypatch):
    members = UserFactory.create_batch(20)
    x = UserFactory()
    now = timezone.now()
    ReferralEvent.objects.bulk_create(
        ReferralEvent(
            shop=shop,
            kind=EventKind.CAMPAIGN_ACT,
            key=f"bulk:{i}",
            inviter=members[i % 20],
            invitee=x,
            occurred_at=now,
        )
        for i in range(1000)
    )
    with committed():
        record(shop=other_shop, inviter=members[0], invitee=x)
    rebuilt = Counter()
    real = rebuilding.rebuild_shop
    monkeypatch.setattr(
        rebuilding, "rebuild_shop", lambda shop_id, **kw: rebuilt.update([shop_id]) or real(shop_id, **kw)
    )

    out = StringIO()
    call_command("rebuild_leaderboards", stdout=out)
    assert rebuilt == {shop.pk: 1, other_shop.pk: 1}
    assert out.getvalue().count(" boards rebuilt\n") == 3  # one line per shop and the total

    rebuilt.clear()
    boards = refresh_boards()
    assert rebuilt == {shop.pk: 1, other_shop.pk: 1}
    assert boards == 2 * 4  # per shop: the shop-wide day, week, month and all-time boards
    assert lb.top(board(shop))[0].value == 50  # the repair counted the 1,000 events the hooks never saw
