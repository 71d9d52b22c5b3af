"""砍 砍价: the stored cut sequence is what friends get, in order; each friend cuts once, never their own;
the last cut lands on the floor and starts the payment deadline; the member buys at the current price
through the order pipeline; unfinished bargains expire and unpaid ones lapse."""

import uuid
from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from campaigns import services
from campaigns.bargain_algorithm import cut_sequence, to_yuan
from campaigns.models import BargainCut, BargainState, BargainTask, CampaignAct, CampaignType
from campaigns.types.bargain import kind as bargaining
from campaigns.types.bargain.kind import BargainRefused
from orders.models import OrderState
from orders.services import cancel_order
from referrals.models import EventKind, ReferralEvent
from tests.builders.orders import SHIPPING, pay
from tests.campaigns.social_support import bargain_campaign, friends, starter_in
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db
B = BargainState


@pytest.fixture
def running(shop):
    starter, group = starter_in(shop)
    return bargain_campaign(shop), starter, group


def _refused(reason):
    return pytest.raises(BargainRefused, match=str(BargainRefused.MESSAGES[reason])[:6])


def _cut_all(task, n=None):
    return [bargaining.cut(task=task, cutter=f) for f in friends(n or task.cuts_planned)]


# --- Settings ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("given", "field", "message"),
    [
        ({"floor_price": "100.00"}, "floor_price", "底价必须低于原价 ¥100.00。"),
        ({"floor_price": "120.00"}, "floor_price", "底价必须低于原价 ¥100.00。"),
        ({"floor_price": "0"}, "floor_price", "金额必须大于 0，最多两位小数。"),
        ({"original_price": "120.00"}, "original_price", "原价不能高于商品价格 ¥100.00。"),
        ({"floor_price": "99.97", "min_cuts": 5}, "min_cuts", "差价只有 3 分，每刀至少 1 分，最多 3 人。"),
        ({"min_cuts": 0}, "min_cuts", "砍到底价所需人数须在 1–1000 之间。"),
        ({"min_cuts": 5, "max_cuts": 3}, "max_cuts", "最多人数不能少于最少人数。"),
        (
            {"first_cut_share": "0.95"},
            "first_cut_share",
            "首刀比例须在 0–0.90 之间（如 0.50 表示首刀砍掉一半差价），最多两位小数。",
        ),
        ({"time_limit_minutes": 0}, "time_limit_minutes", "砍价时限须在 5 分钟到 30 天之间。"),
        ({"pay_within_minutes": "明天"}, "pay_within_minutes", "砍到底价后的付款期限须在 5 分钟到 30 天之间。"),
    ],
)
def test_inconsistent_settings_are_refused_with_a_message(shop, given, field, message):
    with pytest.raises(ValidationError) as refused:
        bargain_campaign(shop, settings=given, run=False)
    assert refused.value.message_dict[field] == [message]


def test_settings_default_the_original_price_to_the_skus_and_a_range_of_cuts(shop):
    campaign = bargain_campaign(shop, settings={"original_price": "", "min_cuts": 3, "max_cuts": "8"}, run=False)
    assert campaign.settings == {
        "original_price": "100.00",
        "floor_price": "10.00",
        "min_cuts": 3,
        "max_cuts": 8,
        "time_limit_minutes": 120,
        "pay_within_minutes": 60,
        "may_buy_before_floor": False,
        "first_cut_share": "0.50",
    }


# --- Starting: the sequence is fixed and stored -------------------------------------------------------------


def test_a_bargain_stores_its_whole_cut_sequence_and_seed_at_start(running):
    campaign, starter, group = running
    task = bargaining.start_bargain(campaign=campaign, member=starter, seed=42)
    assert task.plan == cut_sequence(total_fen=9000, min_cuts=5, first_share=Decimal("0.50"), seed=42)
    assert (task.original_price, task.floor_price, task.current_price) == (
        Decimal("100"),
        Decimal("10"),
        Decimal("100"),
    )
    assert (task.cuts_planned, task.cuts_done, task.state, task.group) == (5, 0, B.OPEN, group)
    assert task.plan[0] == 4500 and sum(task.plan) == 9000
    assert bargaining.start_bargain(campaign=campaign, member=starter) == task  # one live bargain


def test_only_members_of_the_campaigns_groups_start_a_bargain(running):
    campaign, _, _ = running
    with _refused("not_member"):
        bargaining.start_bargain(campaign=campaign, member=UserFactory())


# --- Cutting ---------------------------------------------------------------------------------------------


def test_the_ith_friend_gets_the_ith_planned_cut_down_to_the_floor(running):
    campaign, starter, _ = running
    task = bargaining.start_bargain(campaign=campaign, member=starter, seed=7)
    cuts = _cut_all(task)
    assert [c.number for c in cuts] == [1, 2, 3, 4, 5]
    assert [c.amount for c in cuts] == [to_yuan(fen) for fen in task.plan]
    price = Decimal("100.00")
    for made in cuts:
        price -= made.amount
        assert made.price_after == price
    task.refresh_from_db()
    assert task.current_price == Decimal("10.00") == cuts[-1].price_after
    assert task.state == B.FLOOR_REACHED and task.pay_deadline == task.floor_reached_at + timedelta(minutes=60)
    with _refused("floor"):
        bargaining.cut(task=task, cutter=friends(1)[0])
    task.refresh_from_db()
    assert task.current_price == Decimal("10.00") and task.cuts_done == 5


def test_nobody_cuts_their_own_bargain(running):
    campaign, starter, _ = running
    task = bargaining.start_bargain(campaign=campaign, member=starter)
    with _refused("self"):
        bargaining.cut(task=task, cutter=starter)
    task.refresh_from_db()
    assert task.cuts_done == 0 and task.current_price == Decimal("100.00")


def test_the_database_refuses_a_self_cut_and_a_price_below_the_floor(running):
    campaign, starter, _ = running
    task = bargaining.start_bargain(campaign=campaign, member=starter)
    with pytest.raises(IntegrityError, match="bargain_cut_not_self"), transaction.atomic():
        BargainCut.objects.create(
            task=task,
            campaign=campaign,
            cutter=starter,
            starter=starter,
            number=1,
            amount=Decimal("1.00"),
            price_after=Decimal("99.00"),
        )
    with pytest.raises(IntegrityError, match="bargain_price_never_below_floor"), transaction.atomic():
        BargainTask.objects.filter(pk=task.pk).update(current_price=Decimal("9.99"))


def test_a_friend_cuts_a_bargain_once(running):
    campaign, starter, _ = running
    task = bargaining.start_bargain(campaign=campaign, member=starter)
    friend = friends(1)[0]
    bargaining.cut(task=task, cutter=friend)
    with _refused("duplicate"):
        bargaining.cut(task=task, cutter=friend)
    task.refresh_from_db()
    assert task.cuts_done == 1 == task.cuts.count()


def test_a_friend_may_cut_different_bargains(shop):
    campaign = bargain_campaign(shop)
    one, two = (bargaining.start_bargain(campaign=campaign, member=starter_in(shop)[0]) for _ in range(2))
    friend = friends(1)[0]
    assert bargaining.cut(task=one, cutter=friend).number == 1
    assert bargaining.cut(task=two, cutter=friend).number == 1


def test_an_expired_bargain_takes_no_cut(running):
    campaign, starter, _ = running
    task = bargaining.start_bargain(campaign=campaign, member=starter)
    with _refused("expired"):
        bargaining.cut(task=task, cutter=friends(1)[0], now=task.expires_at)


def test_each_cut_is_a_referral_act_credited_to_the_starter_with_its_amount(running):
    campaign, starter, _ = running
    task = bargaining.start_bargain(campaign=campaign, member=starter)
    friend = friends(1)[0]
    made = bargaining.cut(task=task, cutter=friend)
    act = CampaignAct.objects.get(campaign=campaign, kind="cut")
    assert (act.actor, act.inviter, made.act) == (friend, starter, act)
    event = ReferralEvent.objects.get(kind=EventKind.CAMPAIGN_ACT, campaign_id=campaign.pk)
    assert (event.inviter, event.invitee, event.amount) == (starter, friend, made.amount)


# --- Buying ----------------------------------------------------------------------------------------------


def test_the_member_buys_at_the_floor_through_the_order_pipeline(running, transport):
    campaign, starter, _ = running
    task = bargaining.start_bargain(campaign=campaign, member=starter)
    _cut_all(task)
    key = uuid.uuid4().hex
    order = bargaining.buy(task=task, member=starter, delivery=SHIPPING, idempotency_key=key)
    assert order.total == Decimal("10.00") and order.source == f"campaign:{campaign.pk}"
    assert bargaining.buy(task=task, member=starter, delivery=SHIPPING, idempotency_key=key) == order
    task.refresh_from_db()
    assert (task.state, task.order) == (B.ORDERED, order)
    with _refused("closed"):
        bargaining.buy(task=task, member=starter, delivery=SHIPPING, idempotency_key=uuid.uuid4().hex)
    pay(order, transport)
    task.refresh_from_db()
    assert order.state == OrderState.PAID and task.state == B.PURCHASED


def test_no_purchase_before_the_floor_unless_the_campaign_allows_it(shop):
    strict = bargain_campaign(shop)
    starter, _ = starter_in(shop)
    task = bargaining.start_bargain(campaign=strict, member=starter)
    _cut_all(task, 2)
    with _refused("not_floor"):
        bargaining.buy(task=task, member=starter, delivery=SHIPPING, idempotency_key="k")

    early = bargain_campaign(shop, settings={"may_buy_before_floor": True})
    task = bargaining.start_bargain(campaign=early, member=starter)
    _cut_all(task, 2)
    task.refresh_from_db()
    order = bargaining.buy(task=task, member=starter, delivery=SHIPPING, idempotency_key="k2")
    assert order.total == task.current_price > Decimal("10.00")
    with _refused("closed"):  # no cut lands after the price was taken
        bargaining.cut(task=task, cutter=friends(1)[0])


def test_only_the_starter_buys(running):
    campaign, starter, _ = running
    task = bargaining.start_bargain(campaign=campaign, member=starter)
    _cut_all(task)
    with _refused("not_starter"):
        bargaining.buy(task=task, member=friends(1)[0], delivery=SHIPPING, idempotency_key="k")


def test_past_the_payment_deadline_the_bargain_lapses(running):
    campaign, starter, _ = running
    task = bargaining.start_bargain(campaign=campaign, member=starter)
    _cut_all(task)
    task.refresh_from_db()
    with _refused("lapsed"):
        bargaining.buy(task=task, member=starter, delivery=SHIPPING, idempotency_key="k", now=task.pay_deadline)
    assert services.run_due_jobs(now=task.pay_deadline)[CampaignType.BARGAIN] == 1
    assert bargaining.close_due(now=task.pay_deadline) == 0  # twice: nothing more
    task.refresh_from_db()
    assert task.state == B.LAPSED


def test_unfinished_bargains_expire_once(running):
    campaign, starter, _ = running
    task = bargaining.start_bargain(campaign=campaign, member=starter)
    _cut_all(task, 2)
    assert bargaining.close_due(now=task.expires_at - timedelta(seconds=1)) == 0
    assert bargaining.close_due(now=task.expires_at) == 1
    assert bargaining.close_due(now=task.expires_at) == 0
    task.refresh_from_db()
    assert task.state == B.EXPIRED and task.current_price < Decimal("100.00")


def test_a_cancelled_unpaid_order_gives_the_bargain_back(running):
    campaign, starter, _ = running
    task = bargaining.start_bargain(campaign=campaign, member=starter)
    _cut_all(task)
    order = bargaining.buy(task=task, member=starter, delivery=SHIPPING, idempotency_key="k")
    cancel_order(order=order, by=starter)
    task.refresh_from_db()
    assert (task.state, task.order) == (B.FLOOR_REACHED, None)
    again = bargaining.buy(task=task, member=starter, delivery=SHIPPING, idempotency_key="k2")
    assert again.total == Decimal("10.00")


def test_a_cancelled_order_after_the_deadline_lets_the_bargain_lapse(running):
    campaign, starter, _ = running
    task = bargaining.start_bargain(campaign=campaign, member=starter)
    _cut_all(task)
    order = bargaining.buy(task=task, member=starter, delivery=SHIPPING, idempotency_key="k")
    BargainTask.objects.filter(pk=task.pk).update(pay_deadline=task.started_at)
    cancel_order(order=order, by=None)
    task.refresh_from_db()
    assert task.state == B.LAPSED


def test_figures_count_bargains_cuts_and_purchases(running, transport):
    campaign, starter, _ = running
    task = bargaining.start_bargain(campaign=campaign, member=starter)
    _cut_all(task)
    pay(bargaining.buy(task=task, member=starter, delivery=SHIPPING, idempotency_key="k"), transport)
    figures = bargaining.BargainKind().figures(campaign)
    assert figures["发起砍价"] == 1 and figures["砍到底价"] == 1 and figures["已购买"] == 1
    assert figures["砍价刀数"] == 5 and figures["累计砍掉（元）"] == Decimal("90.00")


def test_the_payment_deadline_after_the_floor_defaults_to_the_shops_setting(shop):
    from shops.services import update_shop_settings
    from tests.factories import shop_owner

    update_shop_settings(
        shop=shop,
        by=shop_owner(shop),
        group_hard_cap=350,
        default_group_capacity=200,
        default_rotation_threshold=180,
        bargain_pay_within_minutes=90,
    )
    shop.settings.refresh_from_db()
    campaign = bargain_campaign(shop, settings={"pay_within_minutes": None})
    assert campaign.settings["pay_within_minutes"] == 90
    assert bargain_campaign(shop, settings={"pay_within_minutes": 30}).settings["pay_within_minutes"] == 30
