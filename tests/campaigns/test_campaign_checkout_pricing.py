"""A campaign's order on the order core's pricing step: its line at the SKU's price and the campaign's price
an adjustment of the campaign (every discount a row); the campaign checkouts (open or join a team, buy a
bargain, buy a help reward) offer the member's coupons that may stack with a campaign price, the best one
preselected, and the server refuses one that may not; a coupon's threshold counts the campaign's price;
tier refunds stay within what each line was paid."""

import uuid
from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from campaigns.models import CouponState, Team, TeamSeat
from campaigns.types.bargain import kind as bargaining
from campaigns.types.group_buy import kind as group_buy
from campaigns.types.help import kind as helping
from orders.models import AdjustmentKind, Refund
from tests.builders.campaigns import STACKS_5, claimed_coupon, make_campaign
from tests.builders.orders import SHIPPING, SHIPPING_FORM, deliver, make_buyer, pay
from tests.campaigns.social_support import bargain_campaign, friends, help_campaign, starter_in

pytestmark = pytest.mark.django_db


def _kinds(order):
    return [(a.kind, a.source, a.amount) for a in order.adjustments.order_by("position")]


def test_a_team_order_with_a_stacking_coupon_carries_both_adjustments(shop, campaign, gb_group, transport):
    leader = make_buyer(gb_group)
    coupon = claimed_coupon(shop, leader, **STACKS_5)
    seat = group_buy.open_team(
        campaign=campaign,
        member=leader,
        group=gb_group,
        delivery=SHIPPING,
        idempotency_key=uuid.uuid4().hex,
        choices={"coupon": str(coupon.pk)},
    )
    order = seat.order
    assert _kinds(order) == [
        (AdjustmentKind.CAMPAIGN_PRICE, campaign.order_source, Decimal("-30.00")),
        (AdjustmentKind.COUPON, f"coupon:{coupon.pk}", Decimal("-5.00")),
    ]
    assert (order.subtotal, order.discount, order.total) == (Decimal("59.90"), Decimal("35.00"), Decimal("24.90"))
    coupon.refresh_from_db()
    assert coupon.state == CouponState.USED
    pay(order, transport)
    assert order.paid_amount == Decimal("24.90")


def test_a_coupon_not_allowed_with_a_campaign_price_refuses_the_team_order(shop, campaign, gb_group):
    leader = make_buyer(gb_group)
    alone = claimed_coupon(shop, leader, coupon_kind="no_threshold", amount_off="5")
    with pytest.raises(ValidationError, match="不能与活动价同时使用"):
        group_buy.open_team(
            campaign=campaign,
            member=leader,
            group=gb_group,
            delivery=SHIPPING,
            idempotency_key=uuid.uuid4().hex,
            choices={"coupon": str(alone.pk)},
        )
    assert not TeamSeat.objects.exists() and not Team.objects.exists()
    alone.refresh_from_db()
    assert alone.state == CouponState.AVAILABLE


def test_a_coupons_threshold_counts_the_campaign_price_not_the_list_price(shop, campaign, gb_group):
    """满 50 减 10: the SKU lists at 59.90, but the member pays 29.90 at the group price: below the threshold."""
    leader = make_buyer(gb_group)
    over_50 = claimed_coupon(shop, leader, threshold="50", amount_off="10", stack_with_campaign_price=True)
    with pytest.raises(ValidationError, match="未满门槛"):
        group_buy.open_team(
            campaign=campaign,
            member=leader,
            group=gb_group,
            delivery=SHIPPING,
            idempotency_key=uuid.uuid4().hex,
            choices={"coupon": str(over_50.pk)},
        )


def test_the_team_checkout_offers_stacking_coupons_best_first_and_places_with_it(client, shop, campaign, gb_group):
    leader = make_buyer(gb_group)
    small = claimed_coupon(shop, leader, **STACKS_5)
    best = claimed_coupon(shop, leader, coupon_kind="no_threshold", amount_off="8", stack_with_campaign_price=True)
    alone = claimed_coupon(shop, leader, coupon_kind="no_threshold", amount_off="20")
    client.force_login(leader)
    url = reverse("campaigns:open_team", args=[campaign.pk])
    address = {**SHIPPING_FORM, "group": gb_group.pk}

    page = client.get(url)
    field = page.context["form"].fields["coupon"]
    offered = [value for value, _words in field.choices]
    assert offered == ["", str(best.pk), str(small.pk)] and str(alone.pk) not in offered
    assert field.initial == str(best.pk)
    body = page.content.decode()
    assert "¥21.90" in body and "提交订单 ¥21.90" in body  # 29.90 − 8 preselected

    requote = client.post(
        url, {"idempotency_key": page.context["idempotency_key"], "coupon": str(small.pk), "requote": "1", **address}
    )
    assert requote.status_code == 200 and "提交订单 ¥24.90" in requote.content.decode()
    assert not TeamSeat.objects.exists()  # a requote places nothing

    placed = client.post(url, {"idempotency_key": page.context["idempotency_key"], "coupon": str(small.pk), **address})
    seat = TeamSeat.objects.get(member=leader)
    assert placed["Location"] == seat.team.get_absolute_url()
    assert seat.order.total == Decimal("24.90")
    small.refresh_from_db()
    best.refresh_from_db()
    assert (small.state, best.state) == (CouponState.USED, CouponState.AVAILABLE)


def test_a_tampered_coupon_on_the_team_checkout_is_refused_in_words(client, shop, campaign, gb_group):
    leader = make_buyer(gb_group)
    claimed_coupon(shop, leader, **STACKS_5)
    alone = claimed_coupon(shop, leader, coupon_kind="no_threshold", amount_off="20")
    client.force_login(leader)
    url = reverse("campaigns:open_team", args=[campaign.pk])
    page = client.get(url)
    response = client.post(
        url, {"idempotency_key": page.context["idempotency_key"], "coupon": str(alone.pk), **SHIPPING_FORM}
    )
    assert response.status_code == 400 and not TeamSeat.objects.exists()


def test_tier_refunds_with_a_coupon_stay_within_what_each_line_was_paid(shop, gb_sku, gb_group, transport):
    tiered = make_campaign(
        shop,
        gb_sku,
        settings={"tiers": [{"size": 2, "price": "39.00"}, {"size": 3, "price": "35.00"}], "time_limit_minutes": 60},
    )
    people = [make_buyer(gb_group) for _ in range(3)]
    coupon = claimed_coupon(shop, people[1], **STACKS_5)
    leader = group_buy.open_team(
        campaign=tiered, member=people[0], group=gb_group, delivery=SHIPPING, idempotency_key=uuid.uuid4().hex
    )
    pay(leader.order, transport)
    joiners = [
        group_buy.join_team(
            team=leader.team,
            member=person,
            group=gb_group,
            delivery=SHIPPING,
            idempotency_key=uuid.uuid4().hex,
            choices={"coupon": str(coupon.pk)} if person == people[1] else None,
        )
        for person in people[1:]
    ]
    for seat in joiners:
        pay(seat.order, transport)
    assert joiners[0].order.total == Decimal("34.00")  # 39.00 − 5 coupon
    group_buy.GroupBuy().expire_due(now=timezone.now() + timedelta(minutes=61))

    for seat in [leader, *joiners]:
        seat.order.refresh_from_db()
        line = seat.order.lines.get()
        assert [r.amount for r in Refund.objects.filter(order=seat.order)] == [Decimal("4.00")]
        assert line.refunded_amount == Decimal("4.00") <= line.line_total + line.adjustment_amount
    deliver(transport)
    joiners[0].order.refresh_from_db()
    assert joiners[0].order.total - joiners[0].order.refunded_amount == Decimal("30.00")


def test_a_tier_difference_larger_than_what_a_coupon_left_to_pay_refunds_only_what_was_paid(
    shop, gb_sku, gb_group, transport
):
    tiered = make_campaign(
        shop,
        gb_sku,
        settings={"tiers": [{"size": 2, "price": "39.00"}, {"size": 3, "price": "35.00"}], "time_limit_minutes": 60},
    )
    people = [make_buyer(gb_group) for _ in range(3)]
    big = claimed_coupon(shop, people[2], coupon_kind="no_threshold", amount_off="37", stack_with_campaign_price=True)
    leader = group_buy.open_team(
        campaign=tiered, member=people[0], group=gb_group, delivery=SHIPPING, idempotency_key=uuid.uuid4().hex
    )
    pay(leader.order, transport)
    seats = [
        group_buy.join_team(
            team=leader.team,
            member=person,
            group=gb_group,
            delivery=SHIPPING,
            idempotency_key=uuid.uuid4().hex,
            choices={"coupon": str(big.pk)} if person == people[2] else None,
        )
        for person in people[1:]
    ]
    for seat in seats:
        pay(seat.order, transport)
    assert seats[1].order.total == Decimal("2.00")
    group_buy.GroupBuy().expire_due(now=timezone.now() + timedelta(minutes=61))
    deliver(transport)
    assert [r.amount for r in Refund.objects.filter(order=seats[0].order)] == [Decimal("4.00")]
    assert [r.amount for r in Refund.objects.filter(order=seats[1].order)] == [Decimal("2.00")]
    seats[1].order.refresh_from_db()
    assert seats[1].order.refunded_amount == seats[1].order.total


def test_the_bargain_checkout_offers_a_stacking_coupon_and_the_order_uses_it(client, shop):
    starter, _group = starter_in(shop)
    task = bargaining.start_bargain(campaign=bargain_campaign(shop), member=starter, seed=11)
    for friend in friends(task.cuts_planned):
        bargaining.cut(task=task, cutter=friend)
    coupon = claimed_coupon(shop, starter, **STACKS_5)
    client.force_login(starter)
    url = reverse("campaigns:bargain_buy", args=[task.pk])
    page = client.get(url)
    assert page.context["form"].fields["coupon"].initial == str(coupon.pk)
    assert "提交订单 ¥5.00" in page.content.decode()  # the floor 10.00 − 5
    client.post(url, {"idempotency_key": page.context["idempotency_key"], "coupon": str(coupon.pk), **SHIPPING_FORM})
    task.refresh_from_db()
    assert _kinds(task.order) == [
        (AdjustmentKind.CAMPAIGN_PRICE, task.campaign.order_source, Decimal("-90.00")),
        (AdjustmentKind.COUPON, f"coupon:{coupon.pk}", Decimal("-5.00")),
    ]


def test_the_help_reward_checkout_prices_with_a_coupon(client, shop):
    campaign = help_campaign(shop, settings={"reward_price": "19.90"})
    starter, _group = starter_in(shop)
    task = helping.start_task(campaign=campaign, member=starter)
    for friend in friends(task.helps_needed):
        helping.give_help(task=task, helper=friend)
    coupon = claimed_coupon(shop, starter, **STACKS_5)
    client.force_login(starter)
    url = reverse("campaigns:help_claim", args=[task.pk])
    page = client.get(url)
    assert "提交订单 ¥14.90" in page.content.decode()
    client.post(url, {"idempotency_key": page.context["idempotency_key"], "coupon": str(coupon.pk), **SHIPPING_FORM})
    task.refresh_from_db()
    assert task.order.total == Decimal("14.90")
    assert [a.kind for a in task.order.adjustments.order_by("position")] == [
        AdjustmentKind.CAMPAIGN_PRICE,
        AdjustmentKind.COUPON,
    ]


def test_the_team_api_takes_the_members_coupon_and_refuses_one_that_may_not_stack(shop, campaign, gb_group):
    from rest_framework.test import APIClient

    leader = make_buyer(gb_group)
    stacks = claimed_coupon(shop, leader, **STACKS_5)
    alone = claimed_coupon(shop, leader, coupon_kind="no_threshold", amount_off="20")
    client = APIClient()
    client.force_authenticate(leader)

    def open_with(coupon, key):
        return client.post(
            f"/api/v1/me/campaigns/{campaign.pk}/teams/",
            {**SHIPPING_FORM, "group": gb_group.pk, "choices": {"coupon": str(coupon.pk)}},
            format="json",
            headers={"Idempotency-Key": key},
        )

    refused = open_with(alone, "k1")
    assert refused.status_code == 400 and "不能与活动价同时使用" in refused.content.decode()
    assert open_with(stacks, "k2").status_code == 201
    assert TeamSeat.objects.get(member=leader).order.total == Decimal("24.90")
