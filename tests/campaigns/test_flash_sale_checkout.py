"""秒杀's checkout on the order core's pricing step, as the other campaign checkouts: the member's coupons
that may stack with a campaign price are offered (the best preselected) and lower the flash price; one that
may not is refused on the server, even posted by hand, and takes no unit; points spend at the shop's rate and
the ledger never goes below zero; the member API takes the same choices. The per-member limit, the cap and
the sold-out answer are the flash sale's own, unchanged."""

import uuid
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from rest_framework.test import APIClient

from campaigns.models import Campaign, CouponState
from campaigns.types.flash_sale import kind as flash_sale
from orders.models import AdjustmentKind, Order
from referrals import points
from referrals import services as referral_services
from referrals.models import PointsEntryKind
from tests.builders.campaigns import STACKS_5, claimed_coupon, make_flash_sale
from tests.builders.orders import SHIPPING, SHIPPING_FORM, make_buyer
from tests.factories import GroupFactory, SkuFactory, shop_owner

pytestmark = pytest.mark.django_db
ALONE_5 = {"coupon_kind": "no_threshold", "amount_off": "5"}
REFUSED = "不能与活动价同时使用"


@pytest.fixture
def group(shop):
    return GroupFactory(shop=shop)


@pytest.fixture
def sale(shop, owner):
    sku = SkuFactory(product__shop=shop, price=Decimal("29.90"), stock=100)
    return make_flash_sale(shop, sku, owner=owner, stock_cap=2, per_member_limit=1)  # ¥9.90


@pytest.fixture
def member(group):
    return make_buyer(group)


def _buy(sale, member, group, **choices):
    return flash_sale.buy(
        campaign=Campaign.objects.get(pk=sale.pk),
        member=member,
        group=group,
        delivery=SHIPPING,
        idempotency_key=uuid.uuid4().hex,
        choices=choices or None,
    )


def _url(sale):
    return reverse("campaigns:flash_buy", args=[sale.pk])


def _give_points(shop, member, n: int, rate: int = 100) -> None:
    referral_services.update_referral_settings(shop=shop, by=shop_owner(shop), points_per_yuan=rate)
    points.post_points(shop_id=shop.pk, member_id=member.pk, points=n, kind=PointsEntryKind.EARN, key="gift")


def _used(sale) -> int:
    return Campaign.objects.get(pk=sale.pk).stock_used


# --- The service ---------------------------------------------------------------------------------------


def test_a_stackable_coupon_lowers_the_flash_price_as_its_own_adjustment(shop, sale, group, member):
    coupon = claimed_coupon(shop, member, **STACKS_5)

    order = _buy(sale, member, group, coupon=str(coupon.pk))

    assert [(a.kind, a.amount) for a in order.adjustments.order_by("position")] == [
        (AdjustmentKind.CAMPAIGN_PRICE, Decimal("-20.00")),
        (AdjustmentKind.COUPON, Decimal("-5.00")),
    ]
    assert (order.subtotal, order.total) == (Decimal("29.90"), Decimal("4.90"))
    coupon.refresh_from_db()
    assert coupon.state == CouponState.USED and _used(sale) == 1


def test_a_coupon_not_allowed_with_a_campaign_price_is_refused_and_takes_no_unit(shop, sale, group, member):
    alone = claimed_coupon(shop, member, **ALONE_5)

    with pytest.raises(ValidationError, match=REFUSED):
        _buy(sale, member, group, coupon=str(alone.pk))

    assert not Order.objects.exists() and _used(sale) == 0
    alone.refresh_from_db()
    assert alone.state == CouponState.AVAILABLE
    assert _buy(sale, member, group).total == Decimal("9.90")  # the limit was not spent by the refusal


def test_points_pay_part_of_the_flash_price_at_the_shops_rate(shop, sale, group, member):
    _give_points(shop, member, 500)  # 100 points = ¥1

    order = _buy(sale, member, group, points="300")

    assert order.total == Decimal("6.90")
    assert order.adjustments.get(kind=AdjustmentKind.POINTS).amount == Decimal("-3.00")
    assert points.balance_of(shop_id=shop.pk, member_id=member.pk) == 200


def test_points_the_member_does_not_have_are_refused_and_the_ledger_stays(shop, sale, group, member):
    _give_points(shop, member, 100)

    with pytest.raises(ValidationError):
        _buy(sale, member, group, points="500")

    assert points.balance_of(shop_id=shop.pk, member_id=member.pk) == 100
    assert not Order.objects.exists() and _used(sale) == 0


def test_a_coupon_does_not_lift_the_per_member_limit(shop, sale, group, member):
    coupon = claimed_coupon(shop, member, **STACKS_5)
    _buy(sale, member, group)

    with pytest.raises(ValidationError, match="每人限参与"):
        _buy(sale, member, group, coupon=str(coupon.pk))

    coupon.refresh_from_db()
    assert coupon.state == CouponState.AVAILABLE and _used(sale) == 1


# --- The page ------------------------------------------------------------------------------------------


def test_the_flash_checkout_offers_stacking_coupons_best_first_and_places_with_the_chosen_one(
    client, shop, sale, group, member
):
    small = claimed_coupon(shop, member, **STACKS_5)
    best = claimed_coupon(shop, member, coupon_kind="no_threshold", amount_off="8", stack_with_campaign_price=True)
    alone = claimed_coupon(shop, member, **ALONE_5)
    client.force_login(member)

    page = client.get(_url(sale))
    field = page.context["form"].fields["coupon"]
    assert [value for value, _words in field.widget.choices] == ["", str(best.pk), str(small.pk)]
    assert field.initial == str(best.pk) and str(alone.pk) not in dict(field.widget.choices)
    assert "提交订单 ¥1.90" in page.content.decode()  # 9.90 − 8 preselected

    key = page.context["idempotency_key"]
    form = {**SHIPPING_FORM, "group": group.pk, "idempotency_key": key}
    requote = client.post(_url(sale), {**form, "coupon": str(small.pk), "requote": "1"})
    assert requote.status_code == 200 and "提交订单 ¥4.90" in requote.content.decode()
    assert not Order.objects.exists() and _used(sale) == 0  # a requote places nothing

    placed = client.post(_url(sale), {**form, "coupon": str(small.pk)})
    order = Order.objects.get(member=member)
    assert placed["Location"] == reverse("orders:member_order", args=[order.pk])
    assert order.total == Decimal("4.90")
    small.refresh_from_db()
    best.refresh_from_db()
    assert (small.state, best.state) == (CouponState.USED, CouponState.AVAILABLE)


@pytest.mark.parametrize("also_a_stacking_one", [False, True], ids=["no-coupon-offered", "not-among-offered"])
def test_a_non_stacking_coupon_posted_by_hand_is_refused_in_words(
    client, shop, sale, group, member, also_a_stacking_one
):
    alone = claimed_coupon(shop, member, **ALONE_5)
    if also_a_stacking_one:
        claimed_coupon(shop, member, **STACKS_5)
    client.force_login(member)
    page = client.get(_url(sale))
    offered = page.context["form"].fields.get("coupon")
    assert str(alone.pk) not in [value for value, _words in (offered.widget.choices if offered else [])]

    response = client.post(
        _url(sale),
        {
            **SHIPPING_FORM,
            "group": group.pk,
            "idempotency_key": page.context["idempotency_key"],
            "coupon": str(alone.pk),
        },
    )

    assert response.status_code == 400 and not Order.objects.exists() and _used(sale) == 0
    assert "这张优惠券不能与活动价同时使用。" in response.content.decode()
    alone.refresh_from_db()
    assert alone.state == CouponState.AVAILABLE


def test_the_flash_checkout_spends_points_typed_by_the_member(client, shop, sale, group, member):
    _give_points(shop, member, 1000)
    client.force_login(member)
    page = client.get(_url(sale))
    assert 'name="points"' in page.content.decode()

    form = {**SHIPPING_FORM, "group": group.pk, "idempotency_key": page.context["idempotency_key"], "points": "250"}
    too_many = client.post(_url(sale), {**form, "points": "5000"})
    assert too_many.status_code == 400 and not Order.objects.exists()

    client.post(_url(sale), form)
    assert Order.objects.get(member=member).total == Decimal("7.40")
    assert points.balance_of(shop_id=shop.pk, member_id=member.pk) == 750


def test_the_sold_out_answer_comes_before_the_pricing_step(client, shop, sale, group, member):
    for buyer in [make_buyer(group), make_buyer(group)]:
        _buy(sale, buyer, group)
    coupon = claimed_coupon(shop, member, **STACKS_5)
    client.force_login(member)

    response = client.post(
        _url(sale), {**SHIPPING_FORM, "group": group.pk, "idempotency_key": "k", "coupon": str(coupon.pk)}
    )

    assert response.status_code == 409
    coupon.refresh_from_db()
    assert coupon.state == CouponState.AVAILABLE and not Order.objects.filter(member=member).exists()


# --- The member API ------------------------------------------------------------------------------------


def test_the_flash_api_takes_a_stacking_coupon_and_refuses_one_that_may_not(shop, sale, group, member):
    stacks = claimed_coupon(shop, member, **STACKS_5)
    alone = claimed_coupon(shop, member, **ALONE_5)
    api = APIClient()
    api.force_authenticate(member)

    def buy_with(coupon, key):
        return api.post(
            f"/api/v1/me/campaigns/{sale.pk}/flash-orders/",
            {**SHIPPING_FORM, "group": group.pk, "choices": {"coupon": str(coupon.pk)}},
            format="json",
            headers={"Idempotency-Key": key},
        )

    refused = buy_with(alone, "k1")
    assert refused.status_code == 400 and REFUSED in refused.content.decode()
    assert _used(sale) == 0
    placed = buy_with(stacks, "k2")
    assert placed.status_code == 201 and Decimal(placed.json()["total"]) == Decimal("4.90")
