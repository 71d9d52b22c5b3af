"""Orders: placing, every transition and its refusal, stock given back once, idempotency, after-sales."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from orders.lifecycle import ALLOWED_TRANSITIONS, TransitionRefused, transition_order
from orders.models import Order, OrderState, OrderTransition, Sku
from orders.services import (
    DeliveryRequest,
    IdempotencyConflict,
    LineRequest,
    approve_refund,
    cancel_order,
    cancel_overdue_orders,
    close_case,
    complete_order,
    do_not_market,
    open_case,
    place_order,
    reject_refund,
    request_refund,
    ship_order,
)
from tests.builders.orders import SHIPPING, deliver, make_buyer, order_for, pay
from tests.factories import GroupFactory, PickupPointFactory, SkuFactory, UserFactory

pytestmark = pytest.mark.django_db
S = OrderState


def test_order_records_group_prices_and_the_referrer(buyer_group, sku):
    inviter = UserFactory()
    buyer = make_buyer(buyer_group, inviter=inviter)
    order = order_for(buyer, buyer_group, sku, quantity=3)
    assert (order.state, order.group, order.referrer) == (S.PENDING_PAYMENT, buyer_group, inviter)
    assert order.subtotal == order.total == Decimal("119.70")
    line = order.lines.get()
    assert (line.product_name, line.unit_price, line.quantity, line.line_total) == (
        sku.product.name,
        Decimal("39.90"),
        3,
        Decimal("119.70"),
    )
    sku.refresh_from_db()
    assert sku.stock == 97
    assert order.pay_deadline - order.created_at == timedelta(minutes=30)
    assert OrderTransition.objects.get(order=order).to_state == S.PENDING_PAYMENT


def test_only_members_of_the_group_may_order(buyer_group, sku):
    with pytest.raises(ValidationError, match="加入这个群"):
        order_for(UserFactory(), buyer_group, sku)


def test_product_offered_to_chosen_groups_only(shop, buyer_group, buyer):
    sku = SkuFactory(product__shop=shop, product__offered_to_all_groups=False)
    with pytest.raises(ValidationError, match="不在这个群销售"):
        order_for(buyer, buyer_group, sku)
    sku.product.groups.add(buyer_group)
    assert order_for(buyer, buyer_group, sku).pk


def test_other_shops_sku_is_refused(buyer_group, buyer):
    with pytest.raises(ValidationError):
        order_for(buyer, buyer_group, SkuFactory())


@pytest.mark.parametrize("quantity", [0, -1, 1000])
def test_bad_quantities_refused(quantity, buyer_group, buyer, sku):
    with pytest.raises(ValidationError):
        order_for(buyer, buyer_group, sku, quantity=quantity)
    assert not Order.objects.exists()


def test_not_enough_stock_refused_and_nothing_written(buyer_group, buyer, shop):
    sku = SkuFactory(product__shop=shop, stock=2)
    with pytest.raises(ValidationError, match="库存不足"):
        order_for(buyer, buyer_group, sku, quantity=3)
    sku.refresh_from_db()
    assert sku.stock == 2 and not Order.objects.exists()


def test_stock_never_negative_in_the_database(sku):
    with pytest.raises(IntegrityError), transaction.atomic():
        Sku.objects.filter(pk=sku.pk).update(stock=-1)


def test_per_member_limit(buyer_group, buyer, shop):
    sku = SkuFactory(product__shop=shop, per_member_limit=2)
    order_for(buyer, buyer_group, sku, quantity=2)
    with pytest.raises(ValidationError, match="限购"):
        order_for(buyer, buyer_group, sku, quantity=1)


def test_pickup_needs_a_pickup_point_of_this_shop(buyer_group, buyer, sku, shop):
    with pytest.raises(ValidationError) as info:
        order_for(
            buyer, buyer_group, sku, delivery=DeliveryRequest(method="pickup", pickup_point_id=PickupPointFactory().pk)
        )
    assert "pickup_point" in info.value.message_dict
    point = PickupPointFactory(shop=shop)
    order = order_for(buyer, buyer_group, sku, delivery=DeliveryRequest(method="pickup", pickup_point_id=point.pk))
    assert order.pickup_point == point


def test_shipping_needs_an_address(buyer_group, buyer, sku):
    with pytest.raises(ValidationError) as info:
        order_for(buyer, buyer_group, sku, delivery=DeliveryRequest(method="shipping"))
    assert "address" in info.value.message_dict


def test_same_key_same_order_different_body_refused(buyer_group, buyer, sku):
    first = order_for(buyer, buyer_group, sku, key="k-1")
    assert order_for(buyer, buyer_group, sku, key="k-1").pk == first.pk
    with pytest.raises(IdempotencyConflict):
        order_for(buyer, buyer_group, sku, quantity=2, key="k-1")
    sku.refresh_from_db()
    assert sku.stock == 99 and Order.objects.count() == 1


def test_the_key_belongs_to_the_member(buyer_group, sku):
    a, b = make_buyer(buyer_group), make_buyer(buyer_group)
    assert order_for(a, buyer_group, sku, key="same").pk != order_for(b, buyer_group, sku, key="same").pk


@pytest.mark.parametrize("source", list(S))
@pytest.mark.parametrize("target", list(S))
def test_the_transition_table_is_enforced(source, target, buyer_group, buyer, sku):
    order = order_for(buyer, buyer_group, sku)
    Order.objects.filter(pk=order.pk).update(state=source)
    order.refresh_from_db()
    if target in ALLOWED_TRANSITIONS[source]:
        transition_order(order=order, to_state=target, by=buyer, reason="r")
        assert Order.objects.get(pk=order.pk).state == target
        assert OrderTransition.objects.filter(order=order, from_state=source, to_state=target, by=buyer).exists()
    else:
        with pytest.raises(TransitionRefused):
            transition_order(order=order, to_state=target, by=buyer)
        assert Order.objects.get(pk=order.pk).state == source


def test_stale_order_object_cannot_move_twice(buyer_group, buyer, sku):
    order = order_for(buyer, buyer_group, sku)
    stale = Order.objects.get(pk=order.pk)
    cancel_order(order=order, by=buyer)
    with pytest.raises(TransitionRefused):
        transition_order(order=stale, to_state=S.PAID)


def test_cancel_returns_stock_exactly_once(buyer_group, buyer, sku):
    order = order_for(buyer, buyer_group, sku, quantity=4)
    cancel_order(order=order, by=buyer, reason="不想要了")
    with pytest.raises(TransitionRefused):
        cancel_order(order=order, by=buyer)
    sku.refresh_from_db()
    assert sku.stock == 100
    order.refresh_from_db()
    assert order.stock_returned_at is not None


def test_overdue_orders_are_cancelled_by_the_job_twice_safely(buyer_group, buyer, sku):
    order = order_for(buyer, buyer_group, sku, quantity=2)
    fresh = order_for(buyer, buyer_group, sku)
    later = timezone.now() + timedelta(minutes=31)
    Order.objects.filter(pk=fresh.pk).update(pay_deadline=later + timedelta(minutes=5))
    assert cancel_overdue_orders(now=later) == 1
    assert cancel_overdue_orders(now=later) == 0
    order.refresh_from_db()
    assert order.state == S.CANCELLED
    assert order.transitions.last().by is None and "超时" in order.transitions.last().reason
    sku.refresh_from_db()
    assert sku.stock == 99


def test_full_happy_path_to_completion(buyer_group, buyer, sku, operator, transport):
    order = order_for(buyer, buyer_group, sku)
    pay(order, transport)
    assert order.state == S.PAID and order.paid_at
    with pytest.raises(ValidationError):
        ship_order(order=order, by=operator)  # shipping needs a tracking number
    ship_order(order=order, by=operator, tracking_number="SF123456")
    complete_order(order=order, by=buyer)
    order.refresh_from_db()
    assert order.state == S.COMPLETED and order.tracking_number == "SF123456"
    assert [t.to_state for t in order.transitions.all()] == [S.PENDING_PAYMENT, S.PAID, S.SHIPPED, S.COMPLETED]


def test_refund_flow_returns_stock_once(buyer_group, buyer, sku, operator, transport):
    order = order_for(buyer, buyer_group, sku, quantity=2)
    pay(order, transport)
    request_refund(order=order, by=buyer, reason="买错了")
    approve_refund(order=order, by=operator)
    approve_refund(order=order, by=operator)  # pressed twice: same refund row
    deliver(transport)
    order.refresh_from_db()
    assert order.state == S.REFUNDED and order.refunded_amount == order.total
    assert order.refunds.count() == 1
    sku.refresh_from_db()
    assert sku.stock == 100


def test_refund_rejected(buyer_group, buyer, sku, operator, transport):
    order = order_for(buyer, buyer_group, sku)
    pay(order, transport)
    request_refund(order=order, by=buyer, reason="不喜欢")
    with pytest.raises(ValidationError):
        reject_refund(order=order, by=operator, reason="")
    reject_refund(order=order, by=operator, reason="已超过七天")
    order.refresh_from_db()
    assert order.state == S.REFUND_REJECTED
    with pytest.raises(TransitionRefused):
        approve_refund(order=order, by=operator)


def test_an_approved_refund_on_its_way_cannot_be_rejected(buyer_group, buyer, sku, operator, transport):
    order = order_for(buyer, buyer_group, sku)
    pay(order, transport)
    request_refund(order=order, by=buyer, reason="不喜欢")
    approve_refund(order=order, by=operator)  # sent to the provider, not confirmed yet

    with pytest.raises(TransitionRefused):
        reject_refund(order=order, by=operator, reason="改主意了")

    deliver(transport)
    order.refresh_from_db()
    assert order.state == S.REFUNDED and order.refunded_amount == order.total


def test_unpaid_order_cannot_be_refunded_or_shipped(buyer_group, buyer, sku, operator):
    order = order_for(buyer, buyer_group, sku)
    with pytest.raises(TransitionRefused):
        request_refund(order=order, by=buyer, reason="x")
    with pytest.raises(TransitionRefused):
        ship_order(order=order, by=operator, tracking_number="SF1")


def test_after_sales_case_blocks_marketing_until_closed(buyer_group, buyer, sku, operator, transport):
    order = order_for(buyer, buyer_group, sku)
    with pytest.raises(ValidationError):
        open_case(order=order, member=buyer, reason="坏了")  # not paid yet
    pay(order, transport)
    with pytest.raises(ValidationError):
        open_case(order=order, member=UserFactory(), reason="坏了")  # not their order
    case = open_case(order=order, member=buyer, reason="包装破损")
    assert do_not_market(member=buyer, shop_id=order.shop_id)
    with pytest.raises(ValidationError):
        open_case(order=order, member=buyer, reason="又一次")
    close_case(case=case, by=operator, resolution="补发一件")
    assert not do_not_market(member=buyer, shop_id=order.shop_id)
    with pytest.raises(ValidationError):
        close_case(case=case, by=operator, resolution="again")


def test_orders_of_an_archived_membership_are_refused(shop, sku):
    group = GroupFactory(shop=shop)
    buyer = make_buyer(group)
    from groups.models import Membership
    from groups.services import leave

    leave(membership=Membership.objects.get(user=buyer))
    with pytest.raises(ValidationError):
        place_order(member=buyer, group=group, lines=[LineRequest(sku.pk, 1)], delivery=SHIPPING, idempotency_key="x")


def test_catalog_limits_are_form_errors_not_database_errors(shop, sku):
    from orders.catalog import MAX_PRICE, MAX_STOCK, adjust_stock, save_sku
    from tests.factories import shop_owner

    with pytest.raises(ValidationError) as info:
        save_sku(product=sku.product, by=shop_owner(shop), spec="巨量", price=MAX_PRICE + 1, stock=MAX_STOCK + 1)
    assert set(info.value.message_dict) == {"price", "stock"}

    with pytest.raises(ValidationError) as info:
        adjust_stock(sku=sku, by=shop_owner(shop), delta=MAX_STOCK)
    assert "delta" in info.value.message_dict
    sku.refresh_from_db()
    assert sku.stock == 100
    assert adjust_stock(sku=sku, by=shop_owner(shop), delta=MAX_STOCK - 100).stock == MAX_STOCK
