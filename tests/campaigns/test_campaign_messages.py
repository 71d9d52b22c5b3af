"""Issue 15, campaign messages: each type tells its members through the outbox, once per act (a unique key),
as campaign messages (the member's quiet hours hold them, the cap and opt-outs apply): a team one seat short,
a team succeeded, a team failed and refunded, a bargain near its floor, a help task completed, a coupon
about to expire (the engine's job)."""

from datetime import timedelta

import pytest
from django.utils import timezone

from campaigns import services
from campaigns.models import Coupon, Team, TeamState
from campaigns.types.bargain import kind as bargaining
from campaigns.types.coupon.kind import claim_coupon
from campaigns.types.group_buy import kind as group_buy
from campaigns.types.help import kind as helping
from notifications import services as outbox
from notifications.models import Category, HoldReason, Notification, NotificationState
from tests.builders.campaigns import coupon_template, join, open_team
from tests.builders.notifications import at_local
from tests.builders.orders import deliver, pay
from tests.campaigns.coupon_support import member_of
from tests.campaigns.social_support import bargain_campaign, friends, help_campaign, starter_in

pytestmark = pytest.mark.django_db


def _told(kind: str, member=None) -> list[Notification]:
    found = Notification.objects.filter(kind=kind)
    if member is not None:
        found = found.filter(user=member)
    return list(found.order_by("pk"))


def _held_in_quiet_hours_then_sent(notification: Notification, *, days: int = 1) -> None:
    """The shop's quiet hours (21:00–09:00) hold a campaign message until they end; then it goes."""
    assert notification.category == Category.CAMPAIGN
    outbox.deliver_due(now=at_local(22, days=days))
    notification.refresh_from_db()
    assert notification.state == NotificationState.PENDING and notification.reason == HoldReason.QUIET_HOURS
    outbox.deliver_due(now=at_local(9, days=days + 1))
    notification.refresh_from_db()
    assert notification.state == NotificationState.SENT


# --- 拼团 ---------------------------------------------------------------------------------------------------


def test_a_team_one_seat_short_tells_each_paid_member_once(campaign, people, gb_group, transport):
    leader = open_team(campaign, people[0], gb_group)
    pay(leader.order, transport)
    assert _told("team_one_short") == []  # two seats left: nothing yet
    team = Team.objects.get(pk=leader.team_id)
    pay(join(team, people[1], gb_group).order, transport)

    told = _told("team_one_short")
    assert {n.user_id for n in told} == {people[0].pk, people[1].pk}
    assert all(team.get_absolute_url() == n.url for n in told)
    # The act again (a seat refunded and taken again) tells no one twice.
    group_buy.tell_one_seat_short(team)
    assert len(_told("team_one_short")) == 2
    _held_in_quiet_hours_then_sent(told[0])


def test_a_team_that_succeeds_tells_each_winner_once(campaign, people, gb_group, transport):
    leader = open_team(campaign, people[0], gb_group)
    pay(leader.order, transport)
    team = Team.objects.get(pk=leader.team_id)
    for person in people[1:3]:
        pay(join(team, person, gb_group).order, transport)
    team.refresh_from_db()
    assert team.state == TeamState.SUCCEEDED

    told = _told("team_succeeded")
    assert sorted(n.user_id for n in told) == sorted(p.pk for p in people[:3])
    group_buy.tell_succeeded(team)
    assert len(_told("team_succeeded")) == 3
    _held_in_quiet_hours_then_sent(_told("team_succeeded", people[2])[0])


def test_campaign_messages_keep_to_the_shops_daily_cap(campaign, people, gb_group, transport):
    """The leader was told "one seat short", then "succeeded" the same day: with the default cap of one
    commercial message a day, the second is dropped as capped (visibly), never sent past the cap."""
    leader = open_team(campaign, people[0], gb_group)
    pay(leader.order, transport)
    team = Team.objects.get(pk=leader.team_id)
    for person in people[1:3]:
        pay(join(team, person, gb_group).order, transport)
    one_short, succeeded = _told("team_one_short", people[0])[0], _told("team_succeeded", people[0])[0]

    outbox.deliver_due(now=at_local(12))

    one_short.refresh_from_db()
    succeeded.refresh_from_db()
    assert one_short.state == NotificationState.SENT and succeeded.state == NotificationState.CAPPED


def test_a_failed_team_tells_each_member_once_when_the_refund_starts(campaign, people, gb_group, transport):
    leader = open_team(campaign, people[0], gb_group)
    pay(leader.order, transport)
    later = timezone.now() + timedelta(minutes=61)

    group_buy.GroupBuy().expire_due(now=later)
    group_buy.GroupBuy().expire_due(now=later)  # the job again: no second refund, no second message
    deliver(transport)

    told = _told("team_failed_refunded")
    assert [n.user_id for n in told] == [people[0].pk]
    assert "¥29.90 已原路退回" in told[0].body
    _held_in_quiet_hours_then_sent(told[0])


# --- 砍价 and 助力 -------------------------------------------------------------------------------------------


def test_a_bargain_near_its_floor_tells_its_starter_once(shop):
    campaign = bargain_campaign(shop)
    starter, group = starter_in(shop)
    task = bargaining.start_bargain(campaign=campaign, member=starter, group=group)
    cutters = friends(task.cuts_planned)

    bargaining.cut(task=task, cutter=cutters[0])  # the first cut is half the way: far from the floor
    assert _told("bargain_near_floor") == []
    near_at = None
    for number, cutter in enumerate(cutters[1:], start=2):
        bargaining.cut(task=task, cutter=cutter)
        if near_at is None and _told("bargain_near_floor"):
            near_at = number
    task.refresh_from_db()

    assert task.cuts_done == task.cuts_planned  # at the floor
    told = _told("bargain_near_floor", starter)
    assert len(told) == 1 and near_at is not None and near_at < task.cuts_planned  # before the last cut
    _held_in_quiet_hours_then_sent(told[0])


def test_a_help_task_completed_tells_its_starter_once(shop):
    campaign = help_campaign(shop)
    starter, group = starter_in(shop)
    task = helping.start_task(campaign=campaign, member=starter, group=group)
    helpers = friends(3)
    for helper in helpers[:2]:
        helping.give_help(task=task, helper=helper)
    assert _told("help_completed") == []

    helping.give_help(task=task, helper=helpers[2])

    told = _told("help_completed", starter)
    assert len(told) == 1 and "¥0.01" in told[0].body and told[0].url == task.get_absolute_url()
    _held_in_quiet_hours_then_sent(told[0])


# --- 券: the job -----------------------------------------------------------------------------------------------


def test_a_coupon_about_to_expire_is_reminded_once_by_the_engines_job(shop):
    template = coupon_template(shop)
    member, _group = member_of(shop)
    coupon = claim_coupon(campaign=template, member=member)
    early = coupon.valid_until - timedelta(hours=shop.settings.coupon_expiry_notice_hours, minutes=1)
    assert services.run_due_jobs(now=early)["coupon_messages"] == 0  # not yet within a day of its end

    within = coupon.valid_until - timedelta(hours=3)
    assert services.run_due_jobs(now=within)["coupon_messages"] == 1
    assert services.run_due_jobs(now=within + timedelta(minutes=1))["coupon_messages"] == 0

    told = _told("coupon_expiring", member)
    assert len(told) == 1 and "满 100 减 20" in told[0].body
    _held_in_quiet_hours_then_sent(told[0], days=8)  # written a week ahead (the job's `now`)


def test_a_used_coupon_or_one_claimed_within_the_notice_is_not_reminded(shop):
    template = coupon_template(shop, settings={"valid_days": 1})
    member, _group = member_of(shop)
    fresh = claim_coupon(campaign=template, member=member)  # valid a day: claimed inside the notice
    other = claim_coupon(campaign=coupon_template(shop, name="满 100 减 20 二号"), member=member)
    Coupon.objects.filter(pk=other.pk).update(state="void")

    assert services.run_due_jobs(now=fresh.valid_until - timedelta(hours=1))["coupon_messages"] == 0
    assert _told("coupon_expiring") == []
