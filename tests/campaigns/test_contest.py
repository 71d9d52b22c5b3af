"""比 contests: the settings, the live ranking (metric, scope, period, minimum, first-to-reach tie-break), my
rank and the gap to the next prize, the settlement (frozen once, prizes through the reward machinery under
the contest's keys, fraud holds and their review), group-vs-group contests, the job and the effect figures."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.test import Client
from django.utils import timezone

from campaigns import services
from campaigns.models import (
    Campaign,
    CampaignType,
    ContestEntry,
    ContestPrize,
    ContestSettlement,
    Coupon,
    PrizeState,
)
from campaigns.types.contest import kind as contests
from groups.models import ActivityKind, MemberActivity
from orders.models import FulfilmentItem, Order
from referrals.fraud_models import FlagKind, FlagStatus, FraudFlag
from referrals.models import CommissionAccount, CommissionEntry, EventKind, PointsEntry
from referrals.points import balance_of
from referrals.services import void_events
from shops.models import AuditEntry
from tests.builders.campaigns import coupon_template
from tests.builders.orders import DjangoClientTransport, order_for, pay
from tests.campaigns.contest_support import a_group, contest, end, invites, members
from tests.campaigns.coupon_support import sku_of
from tests.factories import PickupPointFactory, ShopFactory, TagFactory, UserFactory

pytestmark = pytest.mark.django_db


def _commission(shop, member) -> Decimal:
    return CommissionAccount.objects.filter(shop=shop, member=member).values_list("balance", flat=True).first() or 0


# --- Settings ---------------------------------------------------------------------------------------------


def test_tiers_are_parsed_from_lines_in_chinese_words(shop):
    template = coupon_template(shop, name="满100减20")
    PickupPointFactory(shop=shop, name="中山路店")
    campaign = contest(
        shop,
        settings={
            "tiers": "1 现金 100\n2-3 积分 500\n4-10 券 满100减20\n1 实物 蓝牙音箱 199",
            "pickup_point": "中山路店",
            "rules": "邀请好友入群并下单即算一位合格邀请。",
        },
    )
    tiers = contests.Rules.of(campaign).tiers
    assert tiers[0] == {"from": 1, "to": 1, "kind": "cash", "amount": "100.00"}
    assert tiers[1] == {"from": 2, "to": 3, "kind": "points", "points": 500}
    assert tiers[2] == {"from": 4, "to": 10, "kind": "coupon", "template": template.pk, "label": "满100减20"}
    assert tiers[3] == {"from": 1, "to": 1, "kind": "item", "label": "蓝牙音箱", "cost": "199.00"}
    assert contests.Rules.of(campaign).rules.startswith("邀请好友")


@pytest.mark.parametrize(
    ("given", "field", "words"),
    [
        ({"tiers": ""}, "tiers", "至少设置一档"),
        ({"tiers": "1 奖杯 1"}, "tiers", "第 1 行"),
        ({"tiers": "3-2 积分 5"}, "tiers", "前小后大"),
        ({"tiers": "1 积分 -5"}, "tiers", "积分须是"),
        ({"tiers": "1 现金 abc"}, "tiers", "现金须在"),
        ({"tiers": "1 券 没有这张券"}, "tiers", "找不到本店"),
        ({"tiers": "1 实物 蓝牙音箱 199"}, "pickup_point", "自提点"),
        ({"metric": "likes"}, "metric", "排行指标"),
        ({"scope": "groups"}, "scope", "取消「本店所有群」"),
        ({"scope": "tags", "tags": "不存在的标签"}, "tags", "不存在的标签"),
        ({"minimum": "1.5"}, "minimum", "整数"),
        ({"minimum": "-1"}, "minimum", "0 或正数"),
    ],
)
def test_bad_settings_are_refused_with_a_chinese_message_on_their_field(shop, given, field, words):
    with pytest.raises(ValidationError) as refused:
        contest(shop, settings=given)
    assert words in " ".join(refused.value.message_dict[field])


def test_another_shops_coupon_template_cannot_be_a_prize(shop):
    coupon_template(ShopFactory(), name="别家的券")
    with pytest.raises(ValidationError) as refused:
        contest(shop, settings={"tiers": "1 券 别家的券"})
    assert "找不到本店" in refused.value.message_dict["tiers"][0]


# --- The live ranking -------------------------------------------------------------------------------------


def test_ranking_counts_the_metric_in_the_period_with_first_to_reach_winning_ties(shop):
    campaign = contest(shop, days=7)
    a, b, c, late = UserFactory(), UserFactory(), UserFactory(), UserFactory()
    now = timezone.now()
    invites(campaign, a, 3, at=now - timedelta(hours=5))
    invites(campaign, b, 3, at=now - timedelta(hours=3))  # the same score, reached later
    invites(campaign, c, 4, at=now - timedelta(hours=1))
    invites(campaign, late, 9, at=now - timedelta(days=10))  # before the contest: not counted
    voided = invites(campaign, late, 5, at=now - timedelta(hours=2))
    void_events(events=voided, by=None, reason="风控确认")

    rows = contests.compute_ranking(campaign)

    assert [(r.member_id, r.score) for r in rows] == [(c.pk, 4), (a.pk, 3), (b.pk, 3)]
    assert [r.rank for r in rows] == [1, 2, 3]


def test_a_score_below_the_minimum_is_on_the_board_but_does_not_qualify(shop):
    campaign = contest(shop, settings={"minimum": "3"})
    a, b = UserFactory(), UserFactory()
    invites(campaign, a, 3)
    invites(campaign, b, 2)
    rows = contests.compute_ranking(campaign)
    assert [(r.member_id, r.qualified) for r in rows] == [(a.pk, True), (b.pk, False)]


def test_sales_and_paid_orders_count_the_invitees_paid_orders(shop):
    sales = contest(shop, settings={"metric": "sales", "minimum": "10"})
    orders = contest(shop, settings={"metric": "orders"})
    a, b = UserFactory(), UserFactory()
    invites(sales, a, 1, kind=EventKind.FIRST_ORDER, amount="120.50")
    invites(sales, b, 3, kind=EventKind.REPEAT_ORDER, amount="20.00")
    assert [(r.member_id, r.score) for r in contests.compute_ranking(sales)] == [(a.pk, 12050), (b.pk, 6000)]
    assert [(r.member_id, r.score) for r in contests.compute_ranking(orders)] == [(b.pk, 3), (a.pk, 1)]


def test_scope_groups_counts_only_the_campaigns_groups(shop):
    inside, outside = a_group(shop), a_group(shop)
    campaign = contest(shop, settings={"scope": "groups"}, all_groups=False, groups=[inside])
    a, b = UserFactory(), UserFactory()
    invites(campaign, a, 2, group=inside)
    invites(campaign, b, 5, group=outside)
    assert [r.member_id for r in contests.compute_ranking(campaign)] == [a.pk]


def test_scope_tags_counts_only_members_with_the_tag(shop):
    group = a_group(shop)
    vip = TagFactory(shop=shop, name="团长")
    tagged, plain = members(group, 2)
    tagged.memberships.get(group=group).tags.add(vip)
    campaign = contest(shop, settings={"scope": "tags", "tags": "团长"})
    invites(campaign, tagged, 1)
    invites(campaign, plain, 4)
    assert [r.member_id for r in contests.compute_ranking(campaign)] == [tagged.pk]


def test_my_rank_and_the_gap_to_the_next_prize(shop):
    campaign = contest(shop, settings={"tiers": "1 积分 500\n2-3 现金 20", "minimum": "2"})
    first, second, third, fourth = (UserFactory() for _ in range(4))
    invites(campaign, first, 9)
    invites(campaign, second, 6)
    invites(campaign, third, 5)
    invites(campaign, fourth, 1)
    rules = contests.Rules.of(campaign)
    rows = contests.compute_ranking(campaign)

    mine = contests.my_row(rows, member_id=fourth.pk)
    assert mine.rank == 4
    # To pass the 3rd (5, reached earlier) takes 6: five more.
    assert contests.gap_to_next_prize(rules, rows, mine) == {"rank": 3, "tier": "¥20.00 现金", "gap": 5}
    # The 2nd aims at the 1st: 9 + 1 − 6.
    assert contests.gap_to_next_prize(rules, rows, contests.my_row(rows, member_id=second.pk))["gap"] == 4
    assert contests.gap_to_next_prize(rules, rows, contests.my_row(rows, member_id=first.pk)) is None
    # Not on the board yet: the last prize's rank, from nothing.
    assert contests.gap_to_next_prize(rules, rows, None)["gap"] == 6


def test_the_gap_never_goes_below_the_minimum(shop):
    campaign = contest(shop, settings={"tiers": "1-10 积分 5", "minimum": "3"})
    rows = contests.compute_ranking(campaign)
    assert contests.gap_to_next_prize(contests.Rules.of(campaign), rows, None)["gap"] == 3


# --- Settlement -------------------------------------------------------------------------------------------


def test_settlement_freezes_the_ranking_and_grants_each_prize_through_the_reward_machinery(shop):
    template = coupon_template(shop, name="满100减20")
    point = PickupPointFactory(shop=shop, name="中山路店")
    campaign = contest(
        shop,
        settings={
            "tiers": "1 积分 500\n1 实物 蓝牙音箱 199\n2 现金 20\n3 券 满100减20",
            "pickup_point": "中山路店",
        },
    )
    first, second, third = UserFactory(), UserFactory(), UserFactory()
    invites(campaign, first, 5)
    invites(campaign, second, 3)
    invites(campaign, third, 2)
    end(campaign)

    assert contests.settle(campaign) is True

    entries = list(ContestEntry.objects.filter(campaign=campaign).order_by("rank"))
    assert [(e.rank, e.member_id, e.score) for e in entries] == [(1, first.pk, 5), (2, second.pk, 3), (3, third.pk, 2)]
    prizes = {p.key: p for p in ContestPrize.objects.filter(campaign=campaign)}
    assert all(p.state == PrizeState.GRANTED and p.granted_at for p in prizes.values())
    assert sorted(prizes) == sorted(
        [
            f"contest:{campaign.pk}:1:1:{first.pk}",
            f"contest:{campaign.pk}:1:2:{first.pk}",
            f"contest:{campaign.pk}:2:3:{second.pk}",
            f"contest:{campaign.pk}:3:4:{third.pk}",
        ]
    )
    # Points into the ledger, under the prize's key (which names the contest).
    assert balance_of(shop_id=shop.pk, member_id=first.pk) == 500
    assert PointsEntry.objects.get(key=f"contest:{campaign.pk}:1:1:{first.pk}", points=500).campaign_id == campaign.pk
    # The item into the fulfilment queue, owed by the contest, at its pickup point.
    item = FulfilmentItem.objects.get(key=f"contest:{campaign.pk}:1:2:{first.pk}")
    assert (item.member, item.source, item.pickup_point, item.state) == (
        first,
        f"campaign:{campaign.pk}",
        point,
        "owed",
    )
    assert (item.campaign_id, item.worth) == (campaign.pk, Decimal("199.00"))  # campaign ROI's prize cost
    # Cash into the commission balance; the coupon granted once under the key, its reason naming the contests.
    assert _commission(shop, second) == Decimal("20.00")
    cash = CommissionEntry.objects.get(account__member=second, account__shop=shop)
    assert (cash.amount, cash.campaign_id) == (Decimal("20.00"), campaign.pk)  # campaign ROI's cash prize cost
    coupon = Coupon.objects.get(campaign=template, member=third)
    assert coupon.grant_key == f"contest:{campaign.pk}:3:4:{third.pk}"
    assert coupon.issuer_campaign_id == campaign.pk
    assert "邀请达人赛" in coupon.reason
    # The prizes' cost for campaign ROI: the item's stated cost and the cash.
    assert prizes[f"contest:{campaign.pk}:1:2:{first.pk}"].cost == Decimal("199.00")
    assert prizes[f"contest:{campaign.pk}:2:3:{second.pk}"].cost == Decimal("20.00")


def test_settling_again_changes_nothing_and_later_events_do_not_move_the_final_ranking(shop):
    campaign = contest(shop)
    a, b = UserFactory(), UserFactory()
    invites(campaign, a, 3)
    invites(campaign, b, 1)
    end(campaign)
    assert contests.settle(campaign) is True
    before = list(ContestEntry.objects.filter(campaign=campaign).values_list("rank", "member_id", "score"))
    invites(campaign, b, 10, at=timezone.now() - timedelta(minutes=10))  # inside the period, but after the freeze

    assert contests.settle(campaign) is False
    assert contests.run_jobs() == {"settled": 0, "granted": 0}

    assert list(ContestEntry.objects.filter(campaign=campaign).values_list("rank", "member_id", "score")) == before
    assert ContestSettlement.objects.filter(campaign=campaign).count() == 1
    assert ContestPrize.objects.filter(campaign=campaign).count() == 2
    assert balance_of(shop_id=shop.pk, member_id=a.pk) == 500
    assert _commission(shop, b) == Decimal("20.00")
    rows, final = contests.board(campaign)
    assert final and [r.member_id for r in rows] == [a.pk, b.pk]


def test_a_running_or_cancelled_contest_is_never_settled(shop, owner):
    running = contest(shop)
    cancelled = contest(shop)
    invites(running, UserFactory(), 2)
    services.cancel_campaign(campaign=cancelled, by=owner, reason="取消")
    assert contests.settle(running) is False
    assert contests.settle(cancelled) is False
    assert not ContestSettlement.objects.exists()


def test_a_contest_an_operator_ends_early_is_settled_at_that_moment(shop, owner):
    campaign = contest(shop)
    early, late = UserFactory(), UserFactory()
    invites(campaign, early, 2)
    services.transition_campaign(campaign=campaign, to_state="ended", by=owner, reason="提前结束")
    invites(campaign, late, 5, at=timezone.now() + timedelta(seconds=1))  # after the operator ended it
    assert contests.run_jobs()["settled"] == 1
    assert list(ContestEntry.objects.filter(campaign=campaign).values_list("member_id", flat=True)) == [early.pk]


def test_below_the_minimum_wins_nothing(shop):
    campaign = contest(shop, settings={"minimum": "3"})
    a, b = UserFactory(), UserFactory()
    invites(campaign, a, 3)
    invites(campaign, b, 2)
    end(campaign)
    contests.settle(campaign)
    assert list(ContestPrize.objects.filter(campaign=campaign).values_list("member_id", flat=True)) == [a.pk]


def test_a_winner_with_an_open_fraud_flag_is_held_until_an_operator_reviews(shop, owner):
    campaign = contest(shop)
    cheat, honest = UserFactory(), UserFactory()
    invites(campaign, cheat, 5)
    invites(campaign, honest, 3)
    FraudFlag.objects.create(
        shop=shop, kind=FlagKind.BURST, subject=f"user:{cheat.pk}", member=cheat, deadline=timezone.now()
    )
    end(campaign)
    contests.settle(campaign)

    held = ContestPrize.objects.get(campaign=campaign, member=cheat)
    assert held.state == PrizeState.HELD
    assert balance_of(shop_id=shop.pk, member_id=cheat.pk) == 0
    assert ContestPrize.objects.get(campaign=campaign, member=honest).state == PrizeState.GRANTED
    contests.run_jobs()  # the job grants pending prizes only: a held one waits for people
    assert ContestPrize.objects.get(pk=held.pk).state == PrizeState.HELD

    released = contests.review_prize(prize=held, by=owner, action="release", reason="核实为真实邀请")
    assert released.state == PrizeState.GRANTED and released.reviewed_by == owner
    assert balance_of(shop_id=shop.pk, member_id=cheat.pk) == 500
    entry = AuditEntry.objects.get(action="campaign.contest.prize.release")
    assert entry.actor == owner and entry.after["state"] == "pending"
    with pytest.raises(contests.ContestRefused):
        contests.review_prize(prize=held, by=owner, action="withhold")


def test_an_operator_withholds_a_held_prize_and_nothing_is_granted(shop, owner):
    campaign = contest(shop)
    cheat = UserFactory()
    invites(campaign, cheat, 5)
    FraudFlag.objects.create(shop=shop, kind=FlagKind.RING, subject="ring:x", member=cheat, deadline=timezone.now())
    end(campaign)
    contests.settle(campaign)
    prize = ContestPrize.objects.get(campaign=campaign, member=cheat)

    contests.review_prize(prize=prize, by=owner, action="withhold", reason="确认刷量")

    prize.refresh_from_db()
    assert prize.state == PrizeState.WITHHELD and prize.note == "确认刷量"
    assert balance_of(shop_id=shop.pk, member_id=cheat.pk) == 0
    assert AuditEntry.objects.filter(action="campaign.contest.prize.withhold", actor=owner).exists()


def test_a_cleared_flag_does_not_hold_the_prize(shop):
    campaign = contest(shop)
    member = UserFactory()
    invites(campaign, member, 2)
    FraudFlag.objects.create(
        shop=shop,
        kind=FlagKind.BURST,
        subject="user:x",
        member=member,
        deadline=timezone.now(),
        status=FlagStatus.CLEARED,
        decided_at=timezone.now(),
    )
    end(campaign)
    contests.settle(campaign)
    assert ContestPrize.objects.get(member=member).state == PrizeState.GRANTED


def test_a_refused_coupon_grant_fails_the_prize_and_a_retry_grants_it(shop, owner):
    template = coupon_template(shop, name="满100减20", stock_cap=1)
    campaign = contest(shop, settings={"tiers": "1-2 券 满100减20"})
    a, b = UserFactory(), UserFactory()
    invites(campaign, a, 3)
    invites(campaign, b, 2)
    end(campaign)
    contests.settle(campaign)

    failed = ContestPrize.objects.get(campaign=campaign, member=b)
    assert failed.state == PrizeState.FAILED and failed.note
    assert ContestPrize.objects.get(campaign=campaign, member=a).state == PrizeState.GRANTED

    Campaign.objects.filter(pk=template.pk).update(stock_cap=2)
    retried = contests.review_prize(prize=failed, by=owner, action="retry")
    assert retried.state == PrizeState.GRANTED
    assert Coupon.objects.filter(campaign=template).count() == 2


# --- Group-vs-group ---------------------------------------------------------------------------------------


def _activity(group, user, n, at):
    MemberActivity.objects.bulk_create(
        [MemberActivity(group=group, user=user, kind=ActivityKind.ORDER, at=at) for _ in range(n)]
    )


def test_groups_race_on_activity_and_the_winning_groups_owner_gets_the_prize(shop):
    owner_a, owner_b = UserFactory(), UserFactory()
    g1, g2 = a_group(shop, name="宝妈一群", owner=owner_a), a_group(shop, name="宝妈二群", owner=owner_b)
    campaign = contest(shop, settings={"metric": "group_activity", "tiers": "1 积分 300", "prize_to": "owner"})
    now = timezone.now()
    (m1,) = members(g1, 1)
    (m2,) = members(g2, 1)
    _activity(g1, m1, 3, now - timedelta(hours=2))
    _activity(g2, m2, 6, now - timedelta(hours=1))
    MemberActivity.objects.bulk_create(  # passive: messages received are not the group's activity
        [
            MemberActivity(group=g1, user=m1, kind=ActivityKind.MESSAGE_RECEIVED, at=now - timedelta(hours=3))
            for _ in range(9)
        ]
    )
    end(campaign)

    contests.settle(campaign)

    entries = list(ContestEntry.objects.filter(campaign=campaign).order_by("rank"))
    assert [(e.group_id, e.name) for e in entries] == [(g2.pk, "宝妈二群"), (g1.pk, "宝妈一群")]
    assert (entries[0].score, entries[1].score) == (6, 3)  # the members' joins came after the end
    assert list(ContestPrize.objects.filter(campaign=campaign).values_list("member_id", flat=True)) == [owner_b.pk]
    assert balance_of(shop_id=shop.pk, member_id=owner_b.pk) == 300


def test_group_sales_contest_gives_every_member_of_the_winning_group_a_prize(shop):
    g1, g2 = a_group(shop), a_group(shop)
    campaign = contest(shop, settings={"metric": "group_sales", "tiers": "1 积分 50", "prize_to": "members"})
    winners = members(g1, 2)
    members(g2, 1)
    sku = sku_of(shop, price="80.00")
    order = order_for(winners[0], g1, sku, quantity=2)
    pay(order, DjangoClientTransport(Client()))
    Order.objects.filter(pk=order.pk).update(paid_at=timezone.now() - timedelta(hours=1))
    end(campaign)
    contests.settle(campaign)

    assert ContestEntry.objects.get(campaign=campaign, rank=1).group == g1
    assert sorted(ContestPrize.objects.filter(campaign=campaign).values_list("member_id", flat=True)) == sorted(
        w.pk for w in winners
    )


# --- The job and the figures ------------------------------------------------------------------------------


def test_the_job_settles_ended_contests_once(shop):
    campaign = contest(shop)
    invites(campaign, UserFactory(), 2)
    end(campaign)
    assert contests.run_jobs() == {"settled": 1, "granted": 0}
    assert contests.run_jobs() == {"settled": 0, "granted": 0}
    assert ContestPrize.objects.get(campaign=campaign).state == PrizeState.GRANTED


def test_effect_compares_invites_and_sales_during_with_the_same_length_before(shop):
    campaign = contest(shop, days=2, settings={})
    now = timezone.now()
    a = UserFactory()
    invites(campaign, a, 3, kind=EventKind.JOINED, at=now - timedelta(hours=5))
    invites(campaign, a, 1, kind=EventKind.JOINED, at=now - timedelta(days=3))
    invites(campaign, a, 2, kind=EventKind.JOINED, at=now - timedelta(days=5))  # before the "before" window
    pulled = contests.effect(campaign, now=now)
    assert (pulled["joins_during"], pulled["joins_before"]) == (3, 1)
    figures = contests.contest_figures(campaign)
    assert figures["joins"] == "3 / 1"


def test_a_contest_is_a_registered_type_with_its_job():
    from django.conf import settings

    from campaigns import registry

    assert registry.get(CampaignType.CONTEST).label
    assert settings.CELERY_BEAT_SCHEDULE["contest-jobs"]["task"] == "campaigns.tasks.contest_jobs"
