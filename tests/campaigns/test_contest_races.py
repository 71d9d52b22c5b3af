"""比 contest settlement under real concurrent transactions: settlement runs racing each other freeze one
ranking and give each prize once; grants of one prize racing each other give it once. Each with a control
that takes the guard away and shows the race is real."""

import threading

import pytest
from django.db import IntegrityError

from campaigns.models import ContestEntry, ContestPrize, ContestSettlement, PrizeState
from campaigns.types.contest import kind as contests
from referrals.models import PointsEntry
from referrals.points import balance_of
from tests.campaigns.contest_support import contest, end, invites
from tests.factories import ShopFactory, UserFactory
from tests.race import Gate, race

pytestmark = [pytest.mark.race, pytest.mark.django_db(transaction=True)]

RACERS = 8


def _ended_contest():
    """An ended contest (1st: 500 points, 2nd–3rd: ¥20) with three ranked members."""
    shop = ShopFactory()
    campaign = contest(shop)
    winners = [UserFactory() for _ in range(3)]
    for n, member in zip((5, 3, 2), winners, strict=True):
        invites(campaign, member, n)
    return end(campaign), winners


def test_concurrent_settlement_runs_freeze_one_ranking_and_grant_each_prize_once():
    campaign, (first, second, third) = _ended_contest()

    results = race(RACERS, lambda i: contests.settle(campaign))

    assert sorted(results, key=str) == [False] * (RACERS - 1) + [True], results
    assert ContestSettlement.objects.filter(campaign=campaign).count() == 1
    assert ContestEntry.objects.filter(campaign=campaign).count() == 3
    prizes = ContestPrize.objects.filter(campaign=campaign)
    assert prizes.count() == 3 and set(prizes.values_list("state", flat=True)) == {PrizeState.GRANTED}
    assert balance_of(shop_id=campaign.shop_id, member_id=first.pk) == 500
    assert PointsEntry.objects.filter(key__startswith=f"contest:{campaign.pk}:").count() == 1


def test_control_without_the_settlement_row_every_run_would_freeze_and_only_the_constraint_stops_them(monkeypatch):
    campaign, _winners = _ended_contest()
    gate = Gate(RACERS)
    passed = []

    def check_then_insert(campaign, now):  # the guard taken away: look first, insert after
        seen = ContestSettlement.objects.filter(campaign=campaign).exists()
        passed.append(not seen)
        gate.wait()  # everyone has looked before anyone inserts
        if seen:
            return False
        ContestSettlement.objects.create(campaign=campaign, settled_at=now)
        return True

    monkeypatch.setattr(contests, "_claim_settlement", check_then_insert)
    results = race(RACERS, lambda i: contests.settle(campaign))

    # Every run saw the contest unsettled: the check alone would have frozen eight rankings.
    assert passed == [True] * RACERS
    assert sum(r is True for r in results) == 1
    assert sum(isinstance(r, IntegrityError) for r in results) == RACERS - 1
    assert ContestEntry.objects.filter(campaign=campaign).count() == 3


def _settled_with_a_pending_prize():
    campaign, (first, *_rest) = _ended_contest()
    contests.settle(campaign)
    prize = ContestPrize.objects.get(campaign=campaign, member=first)
    # As if the settlement crashed before granting: the first prize is still owed.
    PointsEntry.objects.filter(key=prize.key).delete()
    from referrals.models import PointsAccount

    PointsAccount.objects.filter(shop_id=campaign.shop_id, member=first).update(balance=0)
    ContestPrize.objects.filter(pk=prize.pk).update(state=PrizeState.PENDING, granted_at=None)
    return campaign, prize, first


def test_concurrent_grants_of_one_prize_give_it_once():
    campaign, prize, first = _settled_with_a_pending_prize()

    results = race(RACERS, lambda i: contests.grant_prize(prize.pk))

    assert sorted(results) == [False] * (RACERS - 1) + [True], results
    assert balance_of(shop_id=campaign.shop_id, member_id=first.pk) == 500
    assert ContestPrize.objects.get(pk=prize.pk).state == PrizeState.GRANTED


def test_control_without_the_lock_and_the_prizes_key_every_run_grants_the_prize_again(monkeypatch):
    campaign, prize, first = _settled_with_a_pending_prize()
    gate = Gate(RACERS)

    def read_without_lock(prize_id):  # the guard taken away, and the grant keyed by its run, not the prize
        found = (
            ContestPrize.objects.select_related("campaign", "member", "entry")
            .filter(pk=prize_id, state=PrizeState.PENDING)
            .first()
        )
        gate.wait()  # everyone has read it pending before anyone grants
        found.key = f"{found.key}:run{threading.get_ident()}"
        return found

    monkeypatch.setattr(contests, "_lock_pending", read_without_lock)
    results = race(RACERS, lambda i: contests.grant_prize(prize.pk))

    assert results == [True] * RACERS
    assert balance_of(shop_id=campaign.shop_id, member_id=first.pk) == 500 * RACERS  # the double grant
