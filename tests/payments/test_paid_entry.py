"""Paid group entry (入群费) through the payment providers: pay → in the group; pay into a group that filled
or closed meanwhile → refunded; never above capacity under concurrent payments (with a control)."""

import uuid
from decimal import Decimal
from urllib.parse import urlsplit

import pytest

from groups.models import Group, GroupState, Membership, MembershipStatus, Threshold
from groups.services import JoinRefused, join_via_link
from orders.models import Delivery, Order, OrderState, Refund, RefundState
from orders.payments import Notification
from orders.payments.base import refund_number
from orders.services import process_notification, start_payment
from tests.builders.payments import pay_with, send_refunds
from tests.factories import GroupFactory, GroupSeriesFactory, InviteLinkFactory, UserFactory
from tests.race import Gate, race

S = OrderState
ACTIVE = MembershipStatus.ACTIVE


@pytest.fixture
def paid_group(shop):
    return GroupFactory(shop=shop, threshold=Threshold.PAID, entry_price=Decimal("9.90"), capacity=3)


@pytest.fixture
def link(paid_group):
    return InviteLinkFactory(group=paid_group)


def _tap_join(client, user, link) -> Order:
    client.force_login(user)
    response = client.post(f"/m/j/{link.code}/join/")
    assert response.status_code == 302, response.content.decode()[:500]
    order = Order.objects.get(member=user, source__startswith="entry:")
    assert response["Location"] == f"/m/orders/{order.pk}/"
    return order


def _wechat_pays(client, fake, order):
    payment, _url = pay_with(order, "wechatpay:native")
    fake.payer_pays(payment.provider_ref)
    url, body, headers = fake.payment_notification(payment.provider_ref)
    headers = {k: v for k, v in headers.items() if k != "Content-Type"}
    assert (
        client.generic("POST", urlsplit(url).path, body, content_type="application/json", headers=headers).status_code
        == 204
    )
    order.refresh_from_db()
    return payment


@pytest.mark.django_db
def test_a_member_pays_the_entry_fee_with_wechat_pay_and_is_in(
    client, paid_group, link, wechat_account, wechatpay_fake
):
    member = UserFactory()
    order = _tap_join(client, member, link)
    assert (order.total, order.delivery, order.state) == (Decimal("9.90"), Delivery.NONE, S.PENDING_PAYMENT)
    assert not Membership.objects.filter(user=member).exists()  # no seat before the money lands
    again = _tap_join(client, member, link)
    assert again.pk == order.pk  # a second tap finds the open entry order

    _wechat_pays(client, wechatpay_fake, order)
    assert order.state == S.PAID
    membership = Membership.objects.get(user=member, group=paid_group)
    assert membership.status == ACTIVE and membership.invite_link == link and membership.inviter == link.inviter
    paid_group.refresh_from_db()
    link.refresh_from_db()
    assert paid_group.active_member_count == 1 and (link.use_count, link.join_count) == (1, 1)
    page = client.get(f"/m/orders/{order.pk}/").content.decode()
    assert "入群费已支付" in page and "入群费" in page

    # The fee stays in the ledger: the order and its payment, listed for the shop's operators.
    assert order.payments.get().state == "succeeded"


@pytest.mark.django_db
def test_paying_into_a_group_that_filled_meanwhile_is_refunded(
    client, paid_group, link, wechat_account, wechatpay_fake
):
    late = UserFactory()
    order = _tap_join(client, late, link)
    Group.objects.filter(pk=paid_group.pk).update(active_member_count=paid_group.capacity)  # filled meanwhile

    payment = _wechat_pays(client, wechatpay_fake, order)
    assert order.state == S.REFUND_REQUESTED
    assert not Membership.objects.filter(user=late).exists()
    refund = Refund.objects.get(order=order)
    assert refund.amount == Decimal("9.90") and "群已满员" in refund.reason

    send_refunds()
    number = refund_number(refund)
    assert wechatpay_fake.refunds[number].refund == 990
    wechatpay_fake.succeed_refund(number)
    url, body, headers = wechatpay_fake.refund_notification(number)
    headers = {k: v for k, v in headers.items() if k != "Content-Type"}
    client.generic("POST", urlsplit(url).path, body, content_type="application/json", headers=headers)
    order.refresh_from_db()
    refund.refresh_from_db()
    assert (
        refund.state == RefundState.SUCCEEDED and order.state == S.REFUNDED and payment.amount == order.refunded_amount
    )


@pytest.mark.django_db
def test_a_group_closed_meanwhile_refunds_and_a_second_payment_refunds_too(client, paid_group, link):
    member = UserFactory()
    order = _tap_join(client, member, link)
    Group.objects.filter(pk=paid_group.pk).update(state=GroupState.ARCHIVED)
    process_notification(_paid(start_payment(order=order)[0]))
    order.refresh_from_db()
    assert order.state == S.REFUND_REQUESTED and "已归档" in Refund.objects.get(order=order).reason


@pytest.mark.django_db
def test_a_member_already_in_is_refunded_for_a_second_fee(client, paid_group, link):
    member = UserFactory()
    first = _tap_join(client, member, link)
    second = Order.objects.create(  # a second entry order paid through another route
        **{
            f.name: getattr(first, f.name)
            for f in Order._meta.concrete_fields
            if f.name not in ("id", "number", "idempotency_key")
        },
        number="E2",
        idempotency_key="entry:again",
    )
    process_notification(_paid(start_payment(order=first)[0]))
    process_notification(_paid(start_payment(order=second)[0]))
    first.refresh_from_db()
    second.refresh_from_db()
    assert first.state == S.PAID and second.state == S.REFUND_REQUESTED
    assert Membership.objects.filter(user=member, status=ACTIVE).count() == 1


@pytest.mark.django_db
def test_there_is_no_free_way_into_a_paid_group(paid_group, link):
    with pytest.raises(JoinRefused) as refused:
        join_via_link(user=UserFactory(), code=link.code)
    assert refused.value.reason == "payment_required"
    assert not Membership.objects.exists()


@pytest.mark.django_db
def test_a_full_paid_group_is_refused_before_anyone_pays(client, paid_group, link):
    Group.objects.filter(pk=paid_group.pk).update(active_member_count=paid_group.capacity)
    client.force_login(UserFactory())
    response = client.post(f"/m/j/{link.code}/join/")
    assert response.status_code == 200 and "群已满员" in response.content.decode()
    assert not Order.objects.exists()


@pytest.mark.django_db
def test_a_paid_series_seats_the_member_in_its_next_group(shop):
    series = GroupSeriesFactory(
        shop=shop, threshold=Threshold.PAID, entry_price=Decimal("1.00"), capacity=2, rotation_threshold=2
    )
    link = InviteLinkFactory(group=None, series=series, shop=shop)
    from groups.services import open_next_group_in_series, paid_entry_target

    first_group = open_next_group_in_series(series=series)
    members = [UserFactory() for _ in range(3)]
    from orders.entry import place_entry_order

    orders = []
    for member in members:
        group, found = paid_entry_target(user=member, code=link.code)
        orders.append(place_entry_order(member=member, group=group, link=found))
    for order in orders:
        process_notification(_paid(start_payment(order=order)[0]))
    seats = Membership.objects.filter(status=ACTIVE, group__series=series)
    assert seats.count() == 3
    assert seats.filter(group=first_group).count() == 2  # the third went to the series' next group


def _paid(payment) -> Notification:
    return Notification(
        provider=payment.provider,
        notification_id=uuid.uuid4().hex,
        kind="payment",
        provider_ref=payment.provider_ref,
        succeeded=True,
        amount=payment.amount,
        currency=payment.currency,
        raw={},
    )


# --- Concurrent payments for the last seat ---------------------------------------------------------

RACERS = 6


@pytest.fixture
def last_seat(shop):
    group = GroupFactory(shop=shop, threshold=Threshold.PAID, entry_price=Decimal("5.00"), capacity=4)
    Group.objects.filter(pk=group.pk).update(active_member_count=3)
    from orders.entry import place_entry_order

    # Each through their own friend's link, as it happens: only the group's seats are shared.
    payments = [
        start_payment(order=place_entry_order(member=UserFactory(), group=group, link=InviteLinkFactory(group=group)))[
            0
        ]
        for _ in range(RACERS)
    ]
    return group, payments


@pytest.mark.race
@pytest.mark.django_db(transaction=True)
def test_racing_entry_fees_for_the_last_seat_admit_exactly_one(last_seat):
    group, payments = last_seat
    results = race(RACERS, lambda i: process_notification(_paid(payments[i])))
    assert results == ["paid"] * RACERS, results
    group.refresh_from_db()
    assert group.active_member_count == group.capacity
    assert Membership.objects.filter(group=group, status=ACTIVE).count() == 1
    assert Order.objects.filter(group=group, state=S.PAID).count() == 1
    assert Refund.objects.filter(order__group=group).count() == RACERS - 1  # each once


@pytest.mark.race
@pytest.mark.django_db(transaction=True)
def test_control_check_then_act_admits_more_than_the_seats(last_seat, monkeypatch):
    """The same race with the seat's conditional UPDATE replaced by read, wait, write."""
    from groups import services

    group, payments = last_seat
    gate = Gate(RACERS)

    def check_then_act(group_id, *, below=None):
        seen = Group.objects.get(pk=group_id)
        gate.wait()  # every racer has looked before anyone writes
        if seen.active_member_count >= seen.capacity:
            return False
        return Group.objects.filter(pk=group_id).update(active_member_count=seen.active_member_count + 1) == 1

    monkeypatch.setattr(services, "_take_seat", check_then_act)
    race(RACERS, lambda i: process_notification(_paid(payments[i])))
    group.refresh_from_db()
    admitted = Membership.objects.filter(group=group, status=ACTIVE).count()
    assert admitted > 1  # the race: more new members than the one seat left
    assert group.active_member_count == group.capacity  # and the counter no longer tells the truth
