"""打卡 under real concurrent transactions: a double check-in at the same moment leaves one row, a make-up
card is spent once, and a milestone is granted once however many job runs race; each with a control that
shows the race is real without the guard."""

import pytest
from django.db import IntegrityError

from campaigns.models import CheckIn, CheckinMilestone, CheckinStanding
from campaigns.types.checkin import kind as checkin
from campaigns.types.checkin.kind import CheckinRefused
from referrals.points import balance_of
from tests.campaigns.checkin_support import a_group, checkin_campaign, days_ago, members_of, shop_moment
from tests.factories import ShopFactory
from tests.race import Gate, race

pytestmark = [pytest.mark.race, pytest.mark.django_db(transaction=True)]

RACERS = 8


def _member_and_campaign(settings=None):
    shop = ShopFactory()
    group = a_group(shop)
    campaign = checkin_campaign(shop, settings=settings)
    return campaign, members_of(group, 1)[0]


def test_a_double_check_in_at_the_same_moment_leaves_one_row():
    campaign, member = _member_and_campaign()
    at = shop_moment(days_ago(1), "08:00:00")

    results = race(RACERS, lambda i: checkin.check_in(campaign=campaign, member=member, now=at))

    made = [r for r in results if isinstance(r, CheckIn)]
    refused = [r for r in results if isinstance(r, CheckinRefused)]
    assert len(made) == 1 and len(refused) == RACERS - 1, results
    assert all(r.reason == "already" for r in refused)
    assert CheckIn.objects.filter(campaign=campaign, member=member).count() == 1
    standing = CheckinStanding.objects.get(campaign=campaign, member=member)
    assert (standing.total_days, standing.streak) == (1, 1)


def test_control_without_the_lock_every_tap_passes_the_check_and_only_the_constraint_stops_them(monkeypatch):
    campaign, member = _member_and_campaign()
    at = shop_moment(days_ago(1), "08:00:00")
    gate = Gate(RACERS)
    passed = []

    def no_lock(campaign, member, group):  # the guard taken away: no row locked
        seen = CheckIn.objects.filter(campaign=campaign, member=member, day=checkin.shop_day(at)).exists()
        passed.append(not seen)
        gate.wait()  # everyone has checked before anyone writes
        return CheckinStanding(campaign=campaign, member=member)

    monkeypatch.setattr(checkin, "_lock_standing", no_lock)
    monkeypatch.setattr(checkin, "_after_write", lambda *args: None)
    results = race(RACERS, lambda i: checkin.check_in(campaign=campaign, member=member, now=at))

    # Every racer saw the day free: the check-then-insert alone would have written eight rows.
    assert passed == [True] * RACERS
    assert sum(isinstance(r, CheckIn) for r in results) == 1
    assert sum(isinstance(r, CheckinRefused) and r.reason == "already" for r in results) == RACERS - 1
    assert CheckIn.objects.filter(campaign=campaign, member=member).count() == 1


def test_a_make_up_card_is_spent_once_when_two_days_are_filled_at_once():
    campaign, member = _member_and_campaign({"makeup_cards": 1, "makeup_every_days": 0, "makeup_days_back": 5})
    now = shop_moment(days_ago(0), "09:00:00")
    days = [days_ago(n) for n in (1, 2, 3, 4)]

    results = race(len(days), lambda i: checkin.make_up(campaign=campaign, member=member, day=days[i], now=now))

    assert sum(isinstance(r, CheckIn) for r in results) == 1, results
    assert all(r.reason == "no_card" for r in results if isinstance(r, CheckinRefused))
    assert CheckIn.objects.filter(campaign=campaign, member=member, made_up=True).count() == 1
    assert CheckinStanding.objects.get(campaign=campaign, member=member).cards_used == 1


def test_control_without_the_lock_the_one_card_is_spent_many_times(monkeypatch):
    campaign, member = _member_and_campaign({"makeup_cards": 1, "makeup_every_days": 0, "makeup_days_back": 5})
    now = shop_moment(days_ago(0), "09:00:00")
    days = [days_ago(n) for n in (1, 2, 3, 4)]
    CheckinStanding.objects.create(campaign=campaign, member=member)  # the control reads it without a lock
    gate = Gate(len(days))

    def read_without_lock(campaign, member, group):
        standing = CheckinStanding.objects.get(campaign=campaign, member=member)
        gate.wait()
        return standing

    monkeypatch.setattr(checkin, "_lock_standing", read_without_lock)
    results = race(len(days), lambda i: checkin.make_up(campaign=campaign, member=member, day=days[i], now=now))

    assert sum(isinstance(r, CheckIn) for r in results) > 1, results
    assert CheckIn.objects.filter(campaign=campaign, member=member, made_up=True).count() > 1


def _standings_with_lost_milestones(n_members: int):
    shop = ShopFactory()
    group = a_group(shop)
    campaign = checkin_campaign(shop, settings={"milestones": "2:10,3:30"})
    members = members_of(group, n_members)
    for member in members:
        for n in (4, 3, 2):
            checkin.check_in(campaign=campaign, member=member, now=shop_moment(days_ago(n), "09:00:00"))
    CheckinMilestone.objects.all().delete()  # the job finds them all to grant
    return campaign, members


def test_concurrent_job_runs_grant_each_milestone_exactly_once():
    campaign, members = _standings_with_lost_milestones(3)

    results = race(4, lambda i: checkin.settle_milestones())

    assert sum(results) == 6, results  # two milestones for each of three members, in all the runs together
    assert CheckinMilestone.objects.filter(campaign=campaign).count() == 6
    for member in members:
        assert sorted(CheckinMilestone.objects.filter(member=member).values_list("days", flat=True)) == [2, 3]
        # The re-granted rows find their ledger keys taken: the points stay 10 + 30, never twice.
        assert balance_of(shop_id=campaign.shop_id, member_id=member.pk) == 40


def test_control_a_check_then_insert_grant_races(monkeypatch):
    campaign, members = _standings_with_lost_milestones(1)
    gate = Gate(4)

    def check_then_insert(*, campaign, member_id, best_streak, now):
        reached = [days for days, _points in checkin.Rules.of(campaign).milestones if days <= best_streak]
        missing = [
            d for d in reached if not CheckinMilestone.objects.filter(campaign=campaign, member_id=member_id, days=d)
        ]
        gate.wait()  # every run has looked before any writes
        for days in missing:
            CheckinMilestone.objects.create(campaign=campaign, member_id=member_id, days=days, points=1, granted_at=now)
        return missing

    monkeypatch.setattr(checkin, "grant_milestones", check_then_insert)
    results = race(4, lambda i: checkin.settle_milestones())

    # All four runs decided to grant; only the unique row kept three of them from granting twice.
    assert sum(isinstance(r, IntegrityError) for r in results) == 3, results
    assert CheckinMilestone.objects.filter(campaign=campaign).count() == 2
