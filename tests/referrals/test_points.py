"""Referral points (referrals.points): granted POINTS rewards credit them once; members spend them at checkout
at the shop's rate through the order's pricing step; cancel or full refund gives them back once; the ledger
never goes below zero, two orders racing for the same points included."""

import uuid
from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db.models import Sum
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from orders.models import AdjustmentKind, Order, OrderState, Payment
from orders.services import LineRequest, cancel_order, place_or_find_order, request_refund
from referrals import points, services
from referrals.models import PointsAccount, PointsEntry, PointsEntryKind, QualifyOn, RewardKind
from referrals.services import RewardRuleInput, grant_due_rewards, save_reward_rule
from tests.builders.orders import SHIPPING, make_buyer
from tests.builders.referrals import joins, refund
from tests.factories import SkuFactory, shop_owner
from tests.race import Gate, race

pytestmark = pytest.mark.django_db
LATER = timedelta(days=7, minutes=1)


def _rate(shop, rate: int) -> None:
    services.update_referral_settings(shop=shop, by=shop_owner(shop), points_per_yuan=rate)


def _give(shop, member, n: int, key: str = "gift") -> None:
    points.post_points(shop_id=shop.pk, member_id=member.pk, points=n, kind=PointsEntryKind.EARN, key=key)


def _balance(shop, member) -> int:
    return points.balance_of(shop_id=shop.pk, member_id=member.pk)


def _ledger_holds(shop, member) -> None:
    account = PointsAccount.objects.get(shop=shop, member=member)
    assert account.balance >= 0
    assert account.entries.aggregate(s=Sum("points"))["s"] == account.balance


def _order(member, group, sku, spend: str | None = None, quantity: int = 1, key: str | None = None):
    return place_or_find_order(
        member=member,
        group=group,
        lines=[LineRequest(sku.pk, quantity)],
        delivery=SHIPPING,
        idempotency_key=key or uuid.uuid4().hex,
        choices={"points": spend} if spend is not None else None,
    ).order


# --- Earning ---------------------------------------------------------------------------------------------


def test_a_granted_points_reward_credits_the_inviter_once(shop, link):
    save_reward_rule(
        shop=shop, by=shop_owner(shop), data=RewardRuleInput(kind=RewardKind.POINTS, amount=Decimal("100"))
    )
    services.update_referral_settings(shop=shop, by=shop_owner(shop), qualify_on=QualifyOn.JOINED)
    joins(link)
    assert _balance(shop, link.inviter) == 0  # pending: the review period first

    assert grant_due_rewards(now=timezone.now() + LATER) == 1
    assert grant_due_rewards(now=timezone.now() + LATER) == 0
    points.credit_reward(link.inviter.referral_rewards.get())  # a retry of the same act

    assert _balance(shop, link.inviter) == 100
    entry = PointsEntry.objects.get()
    assert (entry.kind, entry.points, entry.balance_after) == (PointsEntryKind.EARN, 100, 100)
    _ledger_holds(shop, link.inviter)


# --- Spending at checkout --------------------------------------------------------------------------------


@pytest.fixture
def member(ref_group):
    return make_buyer(ref_group)


def test_points_pay_part_of_an_order_at_the_shops_rate(shop, ref_group, sku, member):
    _rate(shop, 100)  # 100 points = ¥1
    _give(shop, member, 1000)

    order = _order(member, ref_group, sku, spend="550")

    assert (order.subtotal, order.discount, order.total) == (Decimal("39.90"), Decimal("5.50"), Decimal("34.40"))
    adjustment = order.adjustments.get()
    assert (adjustment.kind, adjustment.source, adjustment.amount) == (
        AdjustmentKind.POINTS,
        "points:550",
        Decimal("-5.50"),
    )
    spent = PointsEntry.objects.get(kind=PointsEntryKind.SPEND)
    assert (spent.points, spent.order, spent.balance_after) == (-550, order, 450)
    _ledger_holds(shop, member)


def test_points_never_take_more_than_is_left_to_pay_and_a_free_order_needs_no_payment(shop, ref_group, sku, member):
    _rate(shop, 10)  # 10 points = ¥1: 1000 points would be ¥100, the order is ¥39.90
    _give(shop, member, 1000)

    order = _order(member, ref_group, sku, spend="1000")

    order.refresh_from_db()
    assert (order.total, order.discount, order.state) == (0, Decimal("39.90"), OrderState.PAID)
    assert not Payment.objects.filter(order=order).exists()
    assert _balance(shop, member) == 1000 - 399  # only the points ¥39.90 takes
    _ledger_holds(shop, member)


def test_the_points_that_buy_no_whole_fen_are_not_spent(shop, ref_group, sku, member):
    _rate(shop, 1000)  # 10 points a fen
    _give(shop, member, 1000)
    order = _order(member, ref_group, sku, spend="25")
    assert order.discount == Decimal("0.02") and _balance(shop, member) == 980


@pytest.mark.parametrize(
    ("rate", "spend", "message"),
    [
        (0, "100", "本店暂未开启积分抵扣。"),
        (100, "1001", "积分不足：你有 1000 积分。"),
        (100, "-5", "积分数量必须是正整数。"),
        (100, "1.5", "积分数量必须是正整数。"),
        (100, "²", "积分数量必须是正整数。"),
    ],
)
def test_points_the_member_cannot_spend_refuse_the_order_and_write_nothing(
    shop, ref_group, sku, member, rate, spend, message
):
    _rate(shop, rate)
    _give(shop, member, 1000)
    with pytest.raises(ValidationError) as refused:
        _order(member, ref_group, sku, spend=spend)
    assert refused.value.message_dict["points"] == [message]
    assert not Order.objects.exists() and _balance(shop, member) == 1000


def test_a_cancelled_order_gives_its_points_back_once(shop, ref_group, sku, member):
    _rate(shop, 100)
    _give(shop, member, 1000)
    order = _order(member, ref_group, sku, spend="300")
    assert _balance(shop, member) == 700

    cancel_order(order=order, by=member)
    points.give_back_for_order(order)  # a second announcement changes nothing

    assert _balance(shop, member) == 1000
    assert list(PointsEntry.objects.filter(order=order).order_by("pk").values_list("kind", "points")) == [
        (PointsEntryKind.SPEND, -300),
        (PointsEntryKind.RETURN, 300),
    ]
    _ledger_holds(shop, member)


def test_a_fully_refunded_order_gives_its_points_back(shop, ref_group, sku, member, transport, operator):
    _rate(shop, 100)
    _give(shop, member, 1000)
    from tests.builders.orders import pay

    order = _order(member, ref_group, sku, spend="300")
    pay(order, transport)
    refund(order, operator, transport)

    order.refresh_from_db()
    assert order.state == OrderState.REFUNDED and order.refunded_amount == Decimal("36.90")
    assert _balance(shop, member) == 1000


def test_a_refund_request_alone_keeps_the_points_spent(shop, ref_group, sku, member, transport):
    _rate(shop, 100)
    _give(shop, member, 1000)
    from tests.builders.orders import pay

    order = _order(member, ref_group, sku, spend="300")
    pay(order, transport)
    request_refund(order=order, by=member, reason="不想要了")
    assert _balance(shop, member) == 700


def test_a_partial_refund_returns_points_in_proportion_to_the_money_and_never_more(shop, ref_group, member, transport):
    """An order of 100.00 pays 10.00 with 1000 points and 90.00 in money: refunds of 30.00, 33.33 and the
    remaining 26.67 give back 333, 370 (703 in all: 1000 × 63.33 / 90, rounded down) and the last 297."""
    from orders.services import refund_part
    from tests.builders.orders import deliver, pay

    _rate(shop, 100)
    _give(shop, member, 1000)
    sku = SkuFactory(product__shop=shop, price=Decimal("100.00"), stock=5)
    order = _order(member, ref_group, sku, spend="1000")
    pay(order, transport)
    assert (order.total, _balance(shop, member)) == (Decimal("90.00"), 0)

    returned = []
    for n, amount in enumerate(["30.00", "33.33", "26.67"]):
        refund_part(order=order, amount=Decimal(amount), key=f"part-{n}", reason="少发")
        deliver(transport)
        returned.append(_balance(shop, member))
    assert returned == [333, 703, 1000]
    refund_part(order=order, amount=Decimal("30.00"), key="part-0", reason="少发")  # the same key: nothing twice
    deliver(transport)
    assert _balance(shop, member) == 1000
    _ledger_holds(shop, member)


def test_a_full_refund_after_a_partial_one_returns_only_what_is_left(shop, ref_group, member, transport, operator):
    from orders.services import refund_part
    from tests.builders.orders import deliver, pay

    _rate(shop, 100)
    _give(shop, member, 500)
    sku = SkuFactory(product__shop=shop, price=Decimal("20.00"), stock=5)
    order = _order(member, ref_group, sku, spend="500")  # 5.00 off: 15.00 paid
    pay(order, transport)
    refund_part(order=order, amount=Decimal("5.00"), key="part", reason="少发")
    deliver(transport)
    assert _balance(shop, member) == 166  # 500 × 5 / 15, rounded down
    refund(order, operator, transport)
    assert _balance(shop, member) == 500
    kinds = list(PointsEntry.objects.filter(order=order).order_by("pk").values_list("kind", "points"))
    assert kinds == [("spend", -500), ("return", 166), ("return", 334)]


def test_the_returned_share_is_the_running_floor_and_never_above_what_was_spent():
    spent, total = 997, Decimal("123.45")
    refunded, back = Decimal("0.00"), []
    for part in ["0.01", "40.00", "0.07", "33.33", "50.04"]:
        refunded += Decimal(part)
        back.append(points.points_due_back(spent=spent, refunded=refunded, total=total))
    assert back == sorted(back) and all(0 <= b <= spent for b in back) and back[-1] == spent
    assert points.points_due_back(spent=spent, refunded=Decimal("500.00"), total=total) == spent


def test_the_member_types_how_many_points_and_a_number_above_the_order_is_refused(client, shop, ref_group, sku, member):
    _rate(shop, 100)
    _give(shop, member, 1000)
    client.force_login(member)
    requote = client.post(_checkout(ref_group), _form(sku, "k", points="250", requote="1"))
    assert "250 积分抵扣 ¥2.50" in requote.content.decode()
    too_many = client.post(_checkout(ref_group), _form(sku, "k", points="1001"))
    assert "超出本单可用数量：最多 1000。" in too_many.content.decode() and not Order.objects.exists()
    client.post(_checkout(ref_group), _form(sku, "k", points="250"))
    assert Order.objects.get().discount == Decimal("2.50") and _balance(shop, member) == 750


# --- Racing for the same points --------------------------------------------------------------------------


def _race_two_orders(shop, group, member):
    """Two orders, each on its own SKU (no shared stock row), spending all 300 points at once."""
    skus = [SkuFactory(product__shop=shop, price=Decimal("50.00"), stock=10) for _ in range(2)]

    def place(i):
        return place_or_find_order(
            member=member,
            group=group,
            lines=[LineRequest(skus[i].pk, 1)],
            delivery=SHIPPING,
            idempotency_key=f"race-{i}",
            choices={"points": "300"},
        ).order

    return race(2, place)


@pytest.mark.django_db(transaction=True)
def test_two_orders_spending_the_same_points_at_once_leave_the_ledger_at_zero(shop, ref_group):
    member = make_buyer(ref_group)
    _rate(shop, 100)
    _give(shop, member, 300)

    outcomes = _race_two_orders(shop, ref_group, member)

    placed = [o for o in outcomes if isinstance(o, Order)]
    refused = [o for o in outcomes if isinstance(o, ValidationError)]
    assert len(placed) == 1 and len(refused) == 1, outcomes
    assert refused[0].message_dict["points"] == ["积分不足，请刷新后重试。"]
    assert Order.objects.count() == 1 and _balance(shop, member) == 0
    _ledger_holds(shop, member)


@pytest.mark.django_db(transaction=True)
def test_control_without_the_conditional_update_both_orders_spend_the_same_points(shop, ref_group, monkeypatch):
    """The guard removed (read the balance, then write it), both orders spend 300 of the 300 points: the
    race is real, and it is the conditional UPDATE that stops it."""
    member = make_buyer(ref_group)
    _rate(shop, 100)
    _give(shop, member, 300)
    gate = Gate(2)

    def check_then_act(account_id, n):
        balance = PointsAccount.objects.values_list("balance", flat=True).get(pk=account_id)
        gate.wait()  # both read 300 before either writes
        if balance + n < 0:
            return False
        PointsAccount.objects.filter(pk=account_id).update(balance=balance + n)
        return True

    monkeypatch.setattr(points, "_move", check_then_act)

    outcomes = _race_two_orders(shop, ref_group, member)

    assert all(isinstance(o, Order) for o in outcomes), outcomes
    spent = -PointsEntry.objects.filter(kind=PointsEntryKind.SPEND).aggregate(s=Sum("points"))["s"]
    assert spent == 600 and _balance(shop, member) == 0  # 600 points spent out of 300


# --- The checkout page and the API -----------------------------------------------------------------------


def _checkout(group):
    return reverse("orders:checkout", args=[group.pk])


def _form(sku, key, **extra):
    return {
        "sku": sku.pk,
        "qty": 1,
        "idempotency_key": key,
        "delivery": "shipping",
        "recipient_name": "王芳",
        "recipient_phone": "13800138000",
        "address": "上海市徐汇区漕溪北路 1 号",
        **extra,
    }


def test_the_checkout_page_shows_the_balance_and_places_the_order_with_points(client, shop, ref_group, sku, member):
    _rate(shop, 100)
    _give(shop, member, 1000)
    client.force_login(member)

    page = client.get(_checkout(ref_group), {"sku": sku.pk, "qty": 1}).content.decode()
    assert "你有 1000 积分，100 积分抵 1 元。" in page
    assert 'max="1000"' in page and "本单最多可用 1000 积分，抵 ¥10.00。" in page

    requote = client.post(_checkout(ref_group), _form(sku, "page-key", points="1000", requote="1"))
    assert requote.status_code == 200 and not Order.objects.exists()
    assert "1000 积分抵扣 ¥10.00" in requote.content.decode() and "¥29.90" in requote.content.decode()

    placed = client.post(_checkout(ref_group), _form(sku, "page-key", points="1000"))
    order = Order.objects.get()
    assert placed.status_code == 302 and order.total == Decimal("29.90") and _balance(shop, member) == 0
    detail = client.get(reverse("orders:member_order", args=[order.pk])).content.decode()
    assert "1000 积分抵扣 ¥10.00" in detail


def test_the_checkout_page_refuses_points_the_member_does_not_have(client, shop, ref_group, sku, member):
    _rate(shop, 100)
    _give(shop, member, 100)
    client.force_login(member)
    response = client.post(_checkout(ref_group), _form(sku, "k", points="5000"))
    assert response.status_code == 200 and not Order.objects.exists()
    assert "超出本单可用数量：最多 100。" in response.content.decode()


def test_without_a_rate_the_checkout_page_offers_no_points(client, shop, ref_group, sku, member):
    _give(shop, member, 1000)
    client.force_login(member)
    page = client.get(_checkout(ref_group), {"sku": sku.pk, "qty": 1}).content.decode()
    assert 'name="points"' not in page


def test_the_api_quotes_and_places_an_order_with_points(shop, ref_group, sku, member):
    _rate(shop, 100)
    _give(shop, member, 1000)
    api = APIClient()
    api.force_authenticate(member)
    lines = [{"sku": sku.pk, "quantity": 2}]

    quote = api.post(
        reverse("api-my-group-quote", args=[ref_group.pk]),
        {"lines": lines, "choices": {"points": "250"}},
        format="json",
    )
    assert quote.status_code == 200, quote.json()
    body = quote.json()
    assert (body["subtotal"], body["discount"], body["total"]) == ("79.80", "2.50", "77.30")
    assert body["adjustments"] == [
        {"kind": "points", "source": "points:250", "amount": "-2.50", "reason": "250 积分抵扣 ¥2.50"}
    ]
    (option,) = body["options"]
    assert (option["key"], option["balance"]) == ("points", 1000)
    assert not Order.objects.exists()

    body = {
        "lines": lines,
        "delivery": "shipping",
        "recipient_name": "王芳",
        "recipient_phone": "13800138000",
        "address": "上海市徐汇区漕溪北路 1 号",
        "choices": {"points": "250"},
    }
    placed = api.post(
        reverse("api-my-group-orders", args=[ref_group.pk]), body, format="json", HTTP_IDEMPOTENCY_KEY="a1"
    )
    assert placed.status_code == 201, placed.json()
    assert placed.json()["total"] == "77.30" and placed.json()["adjustments"][0]["source"] == "points:250"
    assert _balance(shop, member) == 750

    too_many = api.post(
        reverse("api-my-group-orders", args=[ref_group.pk]),
        {**body, "choices": {"points": "5000"}},
        format="json",
        HTTP_IDEMPOTENCY_KEY="a2",
    )
    assert too_many.status_code == 400
    assert too_many.json()["errors"][0]["field"] == "points" and "积分不足" in too_many.json()["errors"][0]["message"]


def test_the_api_quote_is_the_members_own_group_only(shop, ref_group, sku):
    from tests.factories import GroupFactory, UserFactory

    stranger = UserFactory()
    api = APIClient()
    api.force_authenticate(stranger)
    response = api.post(
        reverse("api-my-group-quote", args=[GroupFactory(shop=shop).pk]),
        {"lines": [{"sku": sku.pk, "quantity": 1}]},
        format="json",
    )
    assert response.status_code == 404
