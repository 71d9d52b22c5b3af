"""Leaderboard counts stay exact under real concurrent transactions; the controls show the races are real."""

import threading

import pytest
from django.db import connections, transaction

from referrals import leaderboards as lb
from referrals.leaderboards import Board, Metric, keys, rebuilding
from referrals.models import ReferralEvent
from referrals.services import record_campaign_act, void_events
from shops.models import OperatorRole
from tests.factories import OperatorFactory, ShopFactory, UserFactory
from tests.race import race
from tests.referrals.board_support import at, record

pytestmark = [pytest.mark.race, pytest.mark.django_db(transaction=True)]

RACERS = 10


def _ranking(board):
    return [(e.user_id, e.value) for e in lb.top(board, 1000)]


def _truth(board):
    return [(s.user_id, board.display_value(s.raw)) for s in lb.standings(board)]


def test_duplicate_and_distinct_acts_racing_count_exactly():
    shop = ShopFactory()
    board = Board.of(shop_id=shop.pk, metric=Metric.CAMPAIGN_ACTS)
    alice, bob = UserFactory(), UserFactory()
    helpers = [UserFactory() for _ in range(RACERS)]

    def act(i):
        with transaction.atomic():
            # Every racer retries the same act of bob's, and makes one of its own for alice.
            record_campaign_act(shop_id=shop.pk, campaign_id=1, inviter=bob, invitee=helpers[0], key="same-act")
            record_campaign_act(shop_id=shop.pk, campaign_id=1, inviter=alice, invitee=helpers[i], key=f"own-{i}")

    results = race(RACERS, act)

    assert not [r for r in results if isinstance(r, Exception)], results
    assert ReferralEvent.objects.count() == RACERS + 1
    assert _ranking(board) == [(alice.pk, RACERS), (bob.pk, 1)] == _truth(board)


def test_acts_recorded_with_no_transaction_open_count_exactly_once_and_never_for_staff():
    # The recording INSERT is atomic by itself: outside any transaction it commits alone and the board is
    # updated right after it. Retries of one act still count once; the shop's staff are never counted.
    shop = ShopFactory()
    board = Board.of(shop_id=shop.pk, metric=Metric.CAMPAIGN_ACTS)
    alice, bob = UserFactory(), UserFactory()
    staff = OperatorFactory(shop=shop, role=OperatorRole.OPERATOR).user
    helpers = [UserFactory() for _ in range(RACERS)]

    def act(i):
        assert not transaction.get_connection().in_atomic_block
        record_campaign_act(shop_id=shop.pk, campaign_id=1, inviter=bob, invitee=helpers[0], key="same-act")
        record_campaign_act(shop_id=shop.pk, campaign_id=1, inviter=alice, invitee=helpers[i], key=f"own-{i}")
        return record_campaign_act(shop_id=shop.pk, campaign_id=1, inviter=staff, invitee=helpers[i], key=f"s-{i}")

    results = race(RACERS, act)

    assert results == [None] * RACERS, results
    assert ReferralEvent.objects.count() == RACERS + 1
    assert _ranking(board) == [(alice.pk, RACERS), (bob.pk, 1)] == _truth(board)


def test_an_event_applied_by_many_workers_at_once_counts_once():
    shop = ShopFactory()
    board = Board.of(shop_id=shop.pk, metric=Metric.CAMPAIGN_ACTS)
    alice, x = UserFactory(), UserFactory()
    with transaction.atomic():
        event = record(shop=shop, inviter=alice, invitee=x, at=at(1))
    lb.redis_client().delete(*keys.applied_bit(event.pk)[:1], board.key, board.key + ":m")  # as if never applied

    results = race(RACERS, lambda i: lb.apply_event(event, name="A"))

    assert results.count(True) == 1 and results.count(False) == RACERS - 1, results
    assert _ranking(board) == [(alice.pk, 1)]


def _rebuild_while(board, monkeypatch, during):
    """Run a rebuild that pauses after reading its snapshot; `during()` commits meanwhile."""
    real_standings = rebuilding.standings
    snapshot_read, resume = threading.Event(), threading.Event()

    def slow_standings(b):
        rows = real_standings(b)
        snapshot_read.set()
        assert resume.wait(20)
        return rows

    monkeypatch.setattr(rebuilding, "standings", slow_standings)
    failure = []

    def run():
        try:
            lb.rebuild(board)
        except Exception as exc:  # reported by the test below
            failure.append(exc)
        finally:
            connections.close_all()

    thread = threading.Thread(target=run)
    thread.start()
    assert snapshot_read.wait(20)
    during()
    resume.set()
    thread.join(30)
    monkeypatch.setattr(rebuilding, "standings", real_standings)
    assert not failure, failure


def _seed_then_race_a_rebuild(monkeypatch):
    shop = ShopFactory()
    board = Board.of(shop_id=shop.pk, metric=Metric.CAMPAIGN_ACTS)
    inviters, x = [UserFactory() for _ in range(4)], UserFactory()
    with transaction.atomic():
        seeded = [record(shop=shop, inviter=inviters[i % 4], invitee=x, at=at(1, i)) for i in range(8)]

    def during():
        with transaction.atomic():  # committed while the rebuild works from its older snapshot
            for i in range(6):
                record(shop=shop, inviter=inviters[3], invitee=x, at=at(2, i))
        void_events(seeded[:2], reason="刷单")

    _rebuild_while(board, monkeypatch, during)
    return board


def test_events_recorded_and_voided_during_a_rebuild_are_neither_lost_nor_revived(monkeypatch):
    board = _seed_then_race_a_rebuild(monkeypatch)

    assert _ranking(board) == _truth(board)
    assert _ranking(board)[0][1] == 2 + 6


def test_control_a_rebuild_that_ignores_what_arrived_meanwhile_loses_it(monkeypatch):
    monkeypatch.setattr(rebuilding, "_corrections", lambda noted: [])

    board = _seed_then_race_a_rebuild(monkeypatch)

    assert _ranking(board) != _truth(board)
