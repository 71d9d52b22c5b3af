"""券 at checkout, through the order core's pricing step: the member's usable coupons are offered with the
best one preselected; the chosen coupon takes its discount off the order as an adjustment row and is used
by that order, once; someone else's, a used or an unfit coupon refuses the order; one coupon per order;
coupon + campaign price only where the template allows it; a quote writes nothing; a cancelled order
gives its coupon back."""

import uuid
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from campaigns.models import Coupon, CouponState
from campaigns.types.coupon import checkout
from campaigns.types.coupon import kind as coupons
from orders.models import Order
from orders.pricing import PricedLine, PricingDraft, options_for, price_draft
from orders.services import LineRequest, cancel_order, place_order
from tests.builders.campaigns import coupon_template
from tests.builders.orders import SHIPPING

from .coupon_support import member_of, sku_of

pytestmark = pytest.mark.django_db


def _order(member, group, sku, *, quantity=1, **choices):
    return place_order(
        member=member,
        group=group,
        lines=[LineRequest(sku.pk, quantity)],
        delivery=SHIPPING,
        idempotency_key=uuid.uuid4().hex,
        choices=choices,
    )


def _lines(sku, quantity=1):
    return [PricedLine(sku_id=sku.pk, product_id=sku.product_id, unit_price=sku.price, quantity=quantity)]


@pytest.fixture
def buyer(shop):
    member, group = member_of(shop)
    return member, group, sku_of(shop, price="120.00")


def test_the_best_usable_coupon_is_preselected(shop, buyer):
    member, group, sku = buyer
    small = coupons.claim_coupon(
        campaign=coupon_template(shop, settings={"coupon_kind": "no_threshold", "amount_off": "5"}), member=member
    )
    best = coupons.claim_coupon(campaign=coupon_template(shop), member=member)  # 满 100 减 20
    unfit = coupons.claim_coupon(
        campaign=coupon_template(shop, settings={"threshold": "200", "amount_off": "50"}), member=member
    )

    offered = [o for o in options_for(member=member, group=group, lines=_lines(sku)) if o["key"] == "coupon"]

    assert len(offered) == 1
    values = [value for value, _words in offered[0]["choices"]]
    assert offered[0]["initial"] == str(best.pk)
    assert values == ["", str(best.pk), str(small.pk)] and str(unfit.pk) not in values


def test_the_chosen_coupon_takes_its_discount_and_is_used_by_the_order(shop, buyer):
    member, group, sku = buyer
    coupon = coupons.claim_coupon(campaign=coupon_template(shop), member=member)

    order = _order(member, group, sku, coupon=str(coupon.pk))

    assert (order.subtotal, order.total) == (Decimal("120.00"), Decimal("100.00"))
    row = order.adjustments.get()
    assert (row.source, row.amount) == (f"coupon:{coupon.pk}", Decimal("-20.00"))
    coupon.refresh_from_db()
    assert (coupon.state, coupon.order) == (CouponState.USED, order)


def test_without_a_choice_no_coupon_is_taken(shop, buyer):
    member, group, sku = buyer
    coupon = coupons.claim_coupon(campaign=coupon_template(shop), member=member)
    order = _order(member, group, sku)
    assert order.total == Decimal("120.00") and not order.adjustments.exists()
    coupon.refresh_from_db()
    assert coupon.state == CouponState.AVAILABLE


def test_a_coupon_pays_for_one_order_then_refuses_the_next(shop, buyer):
    member, group, sku = buyer
    coupon = coupons.claim_coupon(campaign=coupon_template(shop), member=member)
    _order(member, group, sku, coupon=str(coupon.pk))
    with pytest.raises(ValidationError):
        _order(member, group, sku, coupon=str(coupon.pk))
    assert Order.objects.filter(member=member).count() == 1


def test_someone_elses_coupon_refuses_the_order(shop, buyer):
    member, group, sku = buyer
    stranger = member_of(shop, group)[0]
    theirs = coupons.claim_coupon(campaign=coupon_template(shop), member=stranger)
    with pytest.raises(ValidationError):
        _order(member, group, sku, coupon=str(theirs.pk))
    assert not Order.objects.filter(member=member).exists()
    theirs.refresh_from_db()
    assert theirs.state == CouponState.AVAILABLE


def test_a_coupon_below_its_threshold_refuses_the_order(shop, buyer):
    member, group, _sku = buyer
    coupon = coupons.claim_coupon(campaign=coupon_template(shop), member=member)
    with pytest.raises(ValidationError):
        _order(member, group, sku_of(shop, price="50.00"), coupon=str(coupon.pk))
    coupon.refresh_from_db()
    assert coupon.state == CouponState.AVAILABLE


def test_coupon_and_campaign_price_stack_only_where_the_template_allows(shop, buyer):
    member, group, sku = buyer
    alone = coupons.claim_coupon(campaign=coupon_template(shop), member=member)
    stacks = coupons.claim_coupon(
        campaign=coupon_template(shop, settings={"stack_with_campaign_price": True}), member=member
    )

    def quote(coupon):
        draft = PricingDraft(
            member=member,
            group=group,
            lines=_lines(sku),
            choices={"coupon": str(coupon.pk)},
            source="campaign:1",
            quote_only=True,
        )
        return price_draft(draft)

    with pytest.raises(ValidationError):
        quote(alone)
    assert quote(stacks).total == Decimal("100.00")
    assert checkout.offers(member=member, group=group, lines=_lines(sku), campaign_priced=True)[0][0] == stacks


def test_a_quote_writes_nothing(shop, buyer):
    member, group, sku = buyer
    coupon = coupons.claim_coupon(campaign=coupon_template(shop), member=member)
    draft = PricingDraft(
        member=member, group=group, lines=_lines(sku), choices={"coupon": str(coupon.pk)}, quote_only=True
    )
    assert price_draft(draft).total == Decimal("100.00")
    coupon.refresh_from_db()
    assert coupon.state == CouponState.AVAILABLE and coupon.order is None


def test_an_exchange_coupon_makes_one_unit_of_its_sku_free(shop, buyer):
    member, group, sku = buyer
    coupon = coupons.claim_coupon(
        campaign=coupon_template(shop, sku=sku, settings={"coupon_kind": "exchange"}), member=member
    )
    order = _order(member, group, sku, quantity=2, coupon=str(coupon.pk))
    assert order.total == Decimal("120.00")  # two at 120, one of them free


def test_cancelling_the_order_gives_the_coupon_back_for_the_next(shop, buyer):
    member, group, sku = buyer
    coupon = coupons.claim_coupon(campaign=coupon_template(shop), member=member)
    order = _order(member, group, sku, coupon=str(coupon.pk))
    cancel_order(order=order, by=member, reason="换个规格")
    coupon.refresh_from_db()
    assert coupon.state == CouponState.AVAILABLE
    again = _order(member, group, sku, coupon=str(coupon.pk))
    assert again.total == Decimal("100.00")
    assert Coupon.objects.get(pk=coupon.pk).order == again
