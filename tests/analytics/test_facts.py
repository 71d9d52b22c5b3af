"""The fact tables equal a direct computation from the source tables, however they were built: from scratch,
incrementally by the job after later changes, for a date range, or run twice."""

import random
from datetime import timedelta
from decimal import Decimal
from unittest import mock

import pytest
from django.core.management import call_command
from django.db.models import Sum
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from analytics import facts
from analytics.models import CohortFact, DailyFact, FactWatermark, RepeatFact
from analytics.tasks import refresh_facts
from campaigns.models import Campaign, CampaignVisit
from campaigns.types.help.models import HelpTask, HelpTaskState
from groups.models import ActivityKind, LinkVisit, MemberActivity, VisitKind
from groups.space_models import SpacePost
from orders import fulfilment
from orders.models import FulfilmentItem, Refund, RepurchaseReminder
from referrals.models import CommissionAccount, CommissionEntry, EventKind, PointsAccount, PointsEntry, ReferralEvent
from shequn.models import JobRun
from tests.analytics import shopdata
from tests.factories import InviteLinkFactory

pytestmark = pytest.mark.django_db


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(seed=st.integers(0, 2**32), members=st.integers(1, 10), orders=st.integers(0, 25), days=st.integers(1, 30))
def test_daily_facts_equal_a_direct_computation(seed, members, orders, days):
    data = shopdata.make_shop(random.Random(seed), members=members, orders=orders, days=days)
    facts.rebuild_shop(shop_id=data.shop.pk)
    assert shopdata.fact_cells(data.shop) == shopdata.direct_daily(data.shop)


@pytest.mark.slow
@settings(max_examples=5, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(seed=st.integers(0, 2**32), members=st.integers(1, 8), orders=st.integers(0, 25), days=st.integers(1, 40))
def test_the_summaries_kept_by_difference_equal_them_computed_from_scratch(seed, members, orders, days):
    """The repeat and cohort summaries, kept by difference while days are rewritten in any order, any number of
    times, in batches of any size, are the rows a computation from scratch gives."""
    data = shopdata.make_shop(random.Random(seed), members=members, orders=orders, days=days)
    rng = random.Random(seed + 1)
    span = [data.start.date() + timedelta(days=i) for i in range(days + 3)]
    for _ in range(2):  # the whole span in random batches, then again
        shuffled = rng.sample(span, len(span))
        while shuffled:
            cut = rng.randint(max(1, len(shuffled) // 3), len(shuffled))
            facts.rebuild_days(shop_id=data.shop.pk, days=shuffled[:cut])
            shuffled = shuffled[cut:]
    kept = shopdata.snapshot(data.shop)
    facts.rebuild_summaries(shop_id=data.shop.pk)
    assert shopdata.snapshot(data.shop) == kept
    assert CohortFact.objects.filter(shop=data.shop).exists()  # every member joined a group
    paid = data.shop.orders.filter(paid_at__isnull=False).exists()
    assert RepeatFact.objects.filter(shop=data.shop).exists() == paid


def _later_changes(data, now):
    """What happens after the first build, stamped now: new orders (before and after older payments of the
    same member are renumbered), a refund of an old order, a voided old event, a late join, activity."""
    rng = data.rng
    person = data.members[0]
    shopdata.order(data, person, now - timedelta(minutes=30), paid=True)
    old = data.shop.orders.filter(paid_at__isnull=False).order_by("paid_at").first()
    shopdata.refund(data, old, now - timedelta(minutes=5))
    Refund.objects.filter(order=old).update(state="succeeded", succeeded_at=now - timedelta(minutes=5))
    oldest_live = ReferralEvent.objects.filter(shop=data.shop, voided_at__isnull=True).order_by("occurred_at")[:1]
    ReferralEvent.objects.filter(pk__in=oldest_live.values("pk")).update(voided_at=now - timedelta(minutes=1))
    newcomer = shopdata.UserFactory()
    shopdata.join(data, newcomer, data.groups[0], now - timedelta(minutes=2))
    shopdata.event(data, EventKind.LINK_OPENED, person, newcomer, None, now - timedelta(minutes=3))
    MemberActivity.objects.create(group=data.groups[0], user=newcomer, kind=ActivityKind.CHECK_IN, at=now)
    RepurchaseReminder.objects.create(
        shop=data.shop,
        member=person,
        product=data.skus[0].product,
        cycle=rng.randint(1, 10**9),
        due_at=now,
        sent_at=now - timedelta(minutes=40),
    )


def test_the_job_builds_incrementally_what_a_rebuild_from_scratch_builds():
    data = shopdata.make_shop(random.Random(7), members=10, orders=30, days=20)
    first = timezone.now()
    facts.refresh(result=facts.JobResult(), now=first)
    assert FactWatermark.objects.get(name=facts.JOB_NAME).changes_until == first
    before = shopdata.snapshot(data.shop)
    assert before[0], "the first run builds the whole history"

    later = first + timedelta(hours=1)
    _later_changes(data, later - timedelta(minutes=1))
    facts.refresh(result=facts.JobResult(), now=later)
    incremental = shopdata.snapshot(data.shop)
    assert incremental != before

    DailyFact.objects.all().delete()
    # Up to the day of `later`, not the real today: after 23:00 Shanghai time `later` falls on tomorrow.
    facts.rebuild_shop(shop_id=data.shop.pk, end=timezone.localdate(later))
    assert shopdata.snapshot(data.shop) == incremental
    assert shopdata.fact_cells(data.shop) == shopdata.direct_daily(data.shop)


def test_the_job_rebuilds_only_the_days_that_changed():
    data = shopdata.make_shop(random.Random(3), members=6, orders=12, days=10)
    now = timezone.now() + facts.OVERLAP * 2  # the first run comes well after the shop was written
    facts.refresh(result=facts.JobResult(), now=now)
    DailyFact.objects.filter(shop=data.shop).update(joins=999)  # a marker: days left alone keep it

    newcomer = shopdata.UserFactory()
    shopdata.join(data, newcomer, data.groups[0], now + timedelta(minutes=1))
    facts.refresh(result=facts.JobResult(), now=now + timedelta(minutes=10))

    today = timezone.localdate(now + timedelta(minutes=1))
    rebuilt = DailyFact.objects.filter(shop=data.shop).exclude(joins=999).values_list("day", flat=True)
    assert set(rebuilt) == {today}
    assert DailyFact.objects.filter(shop=data.shop, joins=999).exists()


def test_a_second_run_with_nothing_new_changes_nothing():
    data = shopdata.make_shop(random.Random(11), members=8, orders=20, days=15)
    now = timezone.now()
    facts.refresh(result=facts.JobResult(), now=now)
    before = shopdata.snapshot(data.shop)
    again = facts.JobResult()
    facts.refresh(result=again, now=now + timedelta(minutes=10))
    assert shopdata.snapshot(data.shop) == before
    facts.rebuild_shop(shop_id=data.shop.pk)
    assert shopdata.snapshot(data.shop) == before


def test_a_date_range_rebuild_rewrites_only_that_range():
    data = shopdata.make_shop(random.Random(5), members=8, orders=30, days=20)
    facts.rebuild_shop(shop_id=data.shop.pk)
    expected = shopdata.snapshot(data.shop)
    days = sorted(set(DailyFact.objects.filter(shop=data.shop).values_list("day", flat=True)))
    inside, outside = days[len(days) // 2], days[0]
    DailyFact.objects.filter(shop=data.shop).update(joins=999)

    call_command("build_analytics", "--shop", str(data.shop.pk), "--from", str(inside), "--to", str(inside))
    assert not DailyFact.objects.filter(shop=data.shop, day=inside, joins=999).exists()
    assert DailyFact.objects.filter(shop=data.shop, day=outside, joins=999).exists()

    call_command("build_analytics", "--shop", str(data.shop.pk))
    assert shopdata.snapshot(data.shop) == expected


def test_the_periodic_task_runs_under_its_lease_and_is_recorded():
    data = shopdata.make_shop(random.Random(1), members=3, orders=4, days=3)
    items = refresh_facts.apply().get()
    assert items == DailyFact.objects.filter(shop=data.shop).count() > 0
    run = JobRun.objects.get(job=facts.JOB_NAME)
    assert run.status == "succeeded" and run.shop_items == {str(data.shop.pk): items}


@pytest.mark.parametrize("change", ["link_visit", "help_gift", "campaign_visit"])
def test_a_link_visit_or_a_gift_alone_marks_its_day_changed(change):
    data = shopdata.make_shop(random.Random(5), members=4, orders=4, days=10)
    if not data.campaigns:
        data.campaigns.append(
            Campaign.objects.create(
                shop=data.shop, type="help", name="助力", starts_at=data.start, ends_at=data.start + timedelta(days=30)
            )
        )
    now = timezone.now() + facts.OVERLAP * 2
    facts.refresh(result=facts.JobResult(), now=now)
    at = now + timedelta(minutes=1)
    if change == "link_visit":
        link = InviteLinkFactory(group=data.groups[0], inviter=data.members[0])
        LinkVisit.objects.create(
            shop=data.shop, link=link, group=link.group, channel=link.channel, kind=VisitKind.OPENED, at=at
        )
        measure = "link_opens"
    elif change == "campaign_visit":  # a campaign share page opened: a source of its own (campaigns.visits)
        CampaignVisit.objects.create(
            campaign=data.campaigns[0], shop=data.shop, kind=CampaignVisit.Kind.OPENED, signed_in=True, at=at
        )
        measure = "signed_in_opens"
    else:
        HelpTask.objects.create(
            campaign=data.campaigns[0],
            starter=data.members[0],
            group=data.groups[0],
            state=HelpTaskState.COMPLETED,
            helps_needed=1,
            help_count=1,
            started_at=at,
            expires_at=at + timedelta(days=1),
            completed_at=at,
            reward_granted_at=at,
            reward={"kind": "free_item", "price": None, "label": "赠品"},
            reward_value=Decimal("12.30"),
        )
        measure = "gifts"
    before = DailyFact.objects.filter(shop=data.shop, day=timezone.localdate(at)).aggregate(n=Sum(measure))["n"] or 0
    facts.refresh(result=facts.JobResult(), now=now + timedelta(minutes=10))
    after = DailyFact.objects.filter(shop=data.shop, day=timezone.localdate(at)).aggregate(n=Sum(measure))["n"]
    assert after == before + 1
    assert shopdata.fact_cells(data.shop) == shopdata.direct_daily(data.shop)


def test_a_campaigns_points_prizes_cash_and_a_post_alone_mark_their_days_and_a_void_marks_the_prizes_day():
    data = shopdata.make_shop(random.Random(9), members=4, orders=4, days=10)
    campaign = Campaign.objects.create(
        shop=data.shop, type="checkin", name="打卡", starts_at=data.start, ends_at=data.start + timedelta(days=30)
    )
    now = timezone.now() + facts.OVERLAP * 2
    facts.refresh(result=facts.JobResult(), now=now)
    at, person = now + timedelta(minutes=1), data.members[0]
    account, _created = PointsAccount.objects.get_or_create(shop=data.shop, member=person)
    PointsEntry.objects.create(
        account=account,
        kind="earn",
        points=70,
        balance_after=70,
        key="p",
        campaign_id=campaign.pk,
        worth="0.70",
        created_at=at,
    )
    old_day = data.start + timedelta(days=1)
    prize = FulfilmentItem.objects.create(
        shop=data.shop, member=person, source=f"campaign:{campaign.pk}", key="prize", label="奖杯", quantity=2,
        campaign_id=campaign.pk, worth="88.00", delivery="shipping", recipient_name="张三",
        recipient_phone="13800000000", address="上海市", owed_at=old_day,
    )  # fmt: skip
    SpacePost.objects.create(group=data.groups[0], author=person, body="分享", created_at=at)
    cash = CommissionAccount.objects.create(shop=data.shop, member=person)
    CommissionEntry.objects.create(
        account=cash, kind="reward", amount="20.00", balance_after="20.00", key="cash", campaign_id=campaign.pk,
        created_at=at,
    )  # fmt: skip
    facts.refresh(result=facts.JobResult(), now=now + timedelta(minutes=10))
    # the prize was stamped before the watermark: only a rebuild (or its void, below) reaches its day
    mine = DailyFact.objects.filter(shop=data.shop, campaign_id=campaign.pk)
    assert mine.aggregate(n=Sum("points_cost_fen"))["n"] == 70
    assert mine.aggregate(n=Sum("cash_prize_cost_fen"))["n"] == 2000
    assert DailyFact.objects.filter(shop=data.shop, day=timezone.localdate(at)).aggregate(n=Sum("posts"))["n"] == 1
    facts.rebuild_shop(shop_id=data.shop.pk)
    assert mine.aggregate(n=Sum("prize_cost_fen"), k=Sum("prizes")) == {"n": 8800, "k": 2}

    void_at = now + timedelta(minutes=20)
    with mock.patch("django.utils.timezone.now", return_value=void_at):
        assert fulfilment.void_item("prize") == 1
    prize.refresh_from_db()
    assert prize.voided_at == void_at
    facts.refresh(result=facts.JobResult(), now=now + timedelta(minutes=30))
    assert mine.aggregate(n=Sum("prize_cost_fen"))["n"] in (None, 0)
    assert shopdata.fact_cells(data.shop) == shopdata.direct_daily(data.shop)
