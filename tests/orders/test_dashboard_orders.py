"""Dashboard: the order list and its filters, the CSV export, the order page and its actions."""

import csv
import io
from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.http import StreamingHttpResponse
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from orders import dashboard_views
from orders.models import Order, OrderState, OrderTransition, Refund, RefundState, Sku
from orders.services import DeliveryRequest, LineRequest, place_order, refund_part, request_refund
from tests.builders.orders import SHIPPING, deliver, make_buyer, order_for, pay
from tests.factories import GroupFactory, PickupPointFactory, ProductFactory, SkuFactory, UserFactory

from .dashboard_support import client_for, messages_of, snapshot

pytestmark = pytest.mark.django_db
S = OrderState
SHANGHAI = ZoneInfo("Asia/Shanghai")


@pytest.fixture
def op(operator):
    return client_for(operator)


@pytest.fixture
def paid(buyer, buyer_group, sku, transport):
    order = order_for(buyer, buyer_group, sku, quantity=2)
    pay(order, transport)
    assert order.state == S.PAID
    return order


def _numbers(response) -> list[str]:
    return [o.number for o in response.context["page"]]


def _created(order, when: datetime) -> None:
    Order.objects.filter(pk=order.pk).update(created_at=when)


# --- List and filters --------------------------------------------------------------------------------


def test_the_list_shows_this_shops_orders_newest_first(op, shop, buyer, buyer_group, sku):
    first = order_for(buyer, buyer_group, sku)
    second = order_for(buyer, buyer_group, sku, quantity=3)
    other_shop_sku = SkuFactory()
    other_group = GroupFactory(shop=other_shop_sku.product.shop)
    foreign = order_for(make_buyer(other_group), other_group, other_shop_sku)
    response = op.get(reverse("dashboard:orders"))
    assert _numbers(response) == [second.number, first.number]
    html = response.content.decode()
    assert foreign.number not in html
    assert f"{sku.product.name} {sku.spec} ×3" in html and "¥119.70" in html


def test_filter_by_state(op, buyer, buyer_group, sku, paid):
    pending = order_for(buyer, buyer_group, sku)
    assert _numbers(op.get(reverse("dashboard:orders"), {"state": S.PAID})) == [paid.number]
    assert _numbers(op.get(reverse("dashboard:orders"), {"state": S.PENDING_PAYMENT})) == [pending.number]
    assert _numbers(op.get(reverse("dashboard:orders"), {"state": S.REFUNDED})) == []


def test_filter_by_group(op, shop, buyer, buyer_group, sku):
    other_group = GroupFactory(shop=shop)
    here = order_for(buyer, buyer_group, sku)
    there = order_for(make_buyer(other_group), other_group, sku)
    assert _numbers(op.get(reverse("dashboard:orders"), {"group": buyer_group.pk})) == [here.number]
    assert _numbers(op.get(reverse("dashboard:orders"), {"group": other_group.pk})) == [there.number]


def test_filter_by_date_range_in_shanghai_time(op, buyer, buyer_group, sku):
    early = order_for(buyer, buyer_group, sku)
    late_evening = order_for(buyer, buyer_group, sku)
    next_day = order_for(buyer, buyer_group, sku)
    _created(early, datetime(2024, 3, 1, 0, 5, tzinfo=SHANGHAI))
    _created(late_evening, datetime(2024, 3, 1, 23, 55, tzinfo=SHANGHAI))  # 15:55 UTC, still 1 March here
    _created(next_day, datetime(2024, 3, 2, 0, 5, tzinfo=SHANGHAI))  # 16:05 UTC on 1 March
    url = reverse("dashboard:orders")
    assert set(_numbers(op.get(url, {"date_from": "2024-03-01", "date_to": "2024-03-01"}))) == {
        early.number,
        late_evening.number,
    }
    assert _numbers(op.get(url, {"date_from": "2024-03-02"})) == [next_day.number]
    assert _numbers(op.get(url, {"date_to": "2024-02-29"})) == []


def test_filter_by_member_name_phone_tail_or_recipient(op, shop, buyer_group, sku):
    alice = make_buyer(buyer_group)
    alice.display_name, alice.phone = "小雨妈妈", "+8613911112222"
    alice.save()
    bob = make_buyer(buyer_group)
    hers = order_for(alice, buyer_group, sku)
    his = order_for(
        bob,
        buyer_group,
        sku,
        delivery=DeliveryRequest(
            method="shipping", recipient_name="赵大山", recipient_phone="13700001111", address="杭州市西湖区"
        ),
    )
    url = reverse("dashboard:orders")
    assert _numbers(op.get(url, {"member": "小雨"})) == [hers.number]
    assert _numbers(op.get(url, {"member": "2222"})) == [hers.number]
    assert _numbers(op.get(url, {"member": "赵大山"})) == [his.number]
    assert _numbers(op.get(url, {"member": "没有这个人"})) == []


def test_filter_by_product_lists_an_order_once(op, shop, buyer, buyer_group):
    rice, oil = SkuFactory(product__shop=shop), SkuFactory(product__shop=shop)
    both = place_order(
        member=buyer,
        group=buyer_group,
        lines=[LineRequest(rice.pk, 1), LineRequest(oil.pk, 2)],
        delivery=SHIPPING,
        idempotency_key="both",
    )
    only_oil = order_for(buyer, buyer_group, oil)
    url = reverse("dashboard:orders")
    assert _numbers(op.get(url, {"product": rice.product_id})) == [both.number]
    assert _numbers(op.get(url, {"product": oil.product_id})) == [only_oil.number, both.number]
    response = op.get(url, {"product": oil.product_id})
    assert response.context["page"].paginator.count == 2


def test_filters_combine(op, shop, buyer, buyer_group, sku, paid):
    order_for(buyer, buyer_group, sku)  # pending
    other = GroupFactory(shop=shop)
    order_for(make_buyer(other), other, sku)
    response = op.get(
        reverse("dashboard:orders"),
        {"state": S.PAID, "group": buyer_group.pk, "product": sku.product_id, "member": buyer.display_name},
    )
    assert _numbers(response) == [paid.number]


def test_bad_filter_values_are_ignored_and_said_so(op, other_shop, buyer, buyer_group, sku):
    order = order_for(buyer, buyer_group, sku)
    foreign_group = GroupFactory(shop=other_shop)
    foreign_product = ProductFactory(shop=other_shop)
    for params in [
        {"date_from": "not-a-date"},
        {"state": "lost"},
        {"group": foreign_group.pk},
        {"group": "abc"},
        {"product": foreign_product.pk},
        {"page": "999"},
        {"page": "x"},
    ]:
        response = op.get(reverse("dashboard:orders"), params)
        assert response.status_code == 200, params
        assert _numbers(response) == [order.number], params
    html = op.get(reverse("dashboard:orders"), {"date_from": "not-a-date"}).content.decode()
    assert "该条件已忽略" in html


def test_pagination_keeps_the_filters(op, monkeypatch, buyer, buyer_group, sku):
    monkeypatch.setattr(dashboard_views, "PAGE_SIZE", 2)
    orders = [order_for(buyer, buyer_group, sku) for _ in range(5)]
    url = reverse("dashboard:orders")
    first = op.get(url, {"state": S.PENDING_PAYMENT})
    assert _numbers(first) == [orders[4].number, orders[3].number]
    assert "?state=pending_payment&amp;page=2" in first.content.decode()
    assert _numbers(op.get(url, {"state": S.PENDING_PAYMENT, "page": 3})) == [orders[0].number]
    assert first.context["page"].paginator.num_pages == 3


def test_the_export_link_carries_the_filters(op, buyer_group):
    response = op.get(reverse("dashboard:orders"), {"state": S.PAID, "group": buyer_group.pk, "page": 2})
    assert response.context["export_url"] == (
        reverse("dashboard:orders_export") + f"?state=paid&group={buyer_group.pk}"
    )


def _varied_orders(shop, group, n, transport):
    """Orders with several lines, a referrer, pickup and shipping, some paid: every relation the list shows."""
    point = PickupPointFactory(shop=shop)
    skus = [SkuFactory(product__shop=shop, stock=1000) for _ in range(2)]
    for i in range(n):
        buyer = make_buyer(group, inviter=UserFactory())
        delivery = DeliveryRequest(method="pickup", pickup_point_id=point.pk) if i % 2 else SHIPPING
        order = place_order(
            member=buyer,
            group=group,
            lines=[LineRequest(s.pk, i + 1) for s in skus],
            delivery=delivery,
            idempotency_key=f"k{i}-{n}",
        )
        if i % 3 == 0:
            pay(order, transport)


def _queries(client, url, params=None, *, stream=False) -> tuple[int, str]:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url, params or {})
        body = b"".join(response.streaming_content) if stream else response.content
    assert response.status_code == 200
    return len(ctx.captured_queries), body.decode("utf-8-sig")


@pytest.mark.parametrize(
    "params,rows",
    [
        ({}, 12),
        ({"state": "paid"}, 5),
        ({"group": "GROUP", "member": "成员", "date_from": "2000-01-01", "date_to": "2100-12-31"}, 12),
    ],
)
def test_order_list_runs_in_constant_queries(shop, viewer, buyer_group, transport, params, rows):
    client = client_for(viewer)
    params = {k: (buyer_group.pk if v == "GROUP" else v) for k, v in params.items()}
    _varied_orders(shop, buyer_group, 1, transport)
    one, html = _queries(client, reverse("dashboard:orders"), params)
    assert html.count('class="mono" href="/dashboard/orders/') == 1
    _varied_orders(shop, buyer_group, 11, transport)
    many, html = _queries(client, reverse("dashboard:orders"), params)
    assert one == many
    assert html.count('class="mono" href="/dashboard/orders/') == rows


def test_product_filter_runs_in_constant_queries(shop, viewer, buyer_group, transport):
    client = client_for(viewer)
    _varied_orders(shop, buyer_group, 1, transport)
    product_id = Sku.objects.order_by("pk").first().product_id
    one, _html = _queries(client, reverse("dashboard:orders"), {"product": product_id})
    for i in range(11):
        order_for(make_buyer(buyer_group), buyer_group, Sku.objects.get(product_id=product_id), key=f"more{i}")
    many, html = _queries(client, reverse("dashboard:orders"), {"product": product_id})
    assert one == many
    assert html.count('class="mono" href="/dashboard/orders/') == 12


# --- CSV export --------------------------------------------------------------------------------------


def _export(client, params=None) -> tuple[StreamingHttpResponse, list[list[str]]]:
    response = client.get(reverse("dashboard:orders_export"), params or {})
    assert response.status_code == 200
    text = b"".join(response.streaming_content).decode("utf-8")
    assert text.startswith("\ufeff")
    return response, list(csv.reader(io.StringIO(text[1:])))


def test_export_is_a_streamed_utf8_csv_with_chinese_headers(op, paid):
    response, rows = _export(op)
    assert isinstance(response, StreamingHttpResponse)
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith('attachment; filename="orders-')
    assert rows[0] == [
        "订单号",
        "下单时间",
        "状态",
        "会员",
        "群",
        "商品",
        "商品金额",
        "优惠",
        "应付金额",
        "已退金额",
        "配送方式",
        "收货人",
        "收货电话",
        "收货地址/自提点",
        "运单号",
        "推荐人",
    ]
    assert len(rows) == 2


def test_export_rows_hold_the_orders_figures(op, shop, buyer_group, transport):
    inviter = UserFactory(display_name="推荐人阿姨")
    buyer = make_buyer(buyer_group, inviter=inviter)
    rice = SkuFactory(product__shop=shop, product__name="有机米粉", spec="500g", price=Decimal("39.90"))
    point = PickupPointFactory(shop=shop, name="望京店", address="望京街 1 号")
    order = place_order(
        member=buyer,
        group=buyer_group,
        lines=[LineRequest(rice.pk, 2)],
        delivery=DeliveryRequest(method="pickup", pickup_point_id=point.pk),
        idempotency_key="x",
    )
    pay(order, transport)
    refund_part(order=order, amount=Decimal("5.00"), key="diff", reason="差价")
    deliver(transport)
    _created(order, datetime(2024, 3, 1, 23, 55, tzinfo=SHANGHAI))
    _response, rows = _export(op)
    assert rows[1] == [
        order.number,
        "2024-03-01 23:55:00",
        "已付款",
        buyer.display_name,
        buyer_group.name,
        "有机米粉 500g ×2",
        "79.80",
        "0.00",
        "79.80",
        "5.00",
        "到店自提",
        "",
        "",
        "望京店（望京街 1 号）",
        "",
        "推荐人阿姨",
    ]


def test_export_follows_the_list_filters(op, buyer, buyer_group, sku, paid):
    pending = order_for(buyer, buyer_group, sku)
    _r, rows = _export(op, {"state": S.PENDING_PAYMENT})
    assert [row[0] for row in rows[1:]] == [pending.number]
    _r, rows = _export(op, {"state": S.PAID})
    assert [row[0] for row in rows[1:]] == [paid.number]


def test_export_never_lists_another_shops_orders(op, other_shop):
    sku = SkuFactory(product__shop=other_shop)
    group = GroupFactory(shop=other_shop)
    order_for(make_buyer(group), group, sku)
    _r, rows = _export(op)
    assert rows[1:] == []


@pytest.mark.parametrize("evil", ['=HYPERLINK("http://x","点我")', "+1+2", "-2+3", "@SUM(A1)", "\t=1", "\r=1"])
def test_export_defuses_spreadsheet_formulas(op, shop, buyer_group, evil):
    buyer = make_buyer(buyer_group, inviter=UserFactory(display_name=evil))
    buyer.display_name = evil
    buyer.save()
    sku = SkuFactory(product__shop=shop, product__name=evil, spec="500g")
    order_for(
        buyer,
        buyer_group,
        sku,
        delivery=DeliveryRequest(method="shipping", recipient_name=evil, recipient_phone=evil[:16], address=evil),
    )
    buyer_group.name = evil
    buyer_group.save()
    _r, rows = _export(op)
    row = dict(zip(rows[0], rows[1], strict=True))
    stored = {
        "会员": evil,
        "群": evil,
        "商品": f"{evil} 500g ×1",
        "收货人": evil.strip(),
        "收货电话": evil[:16].strip(),
        "收货地址/自提点": evil.strip(),
        "推荐人": evil,
    }
    for column, value in stored.items():
        assert row[column] == "'" + value, column  # shown as text, nothing lost
    assert not any(cell.startswith(("=", "+", "-", "@", "\t", "\r")) for cell in rows[1])


def test_export_keeps_commas_quotes_and_newlines_in_their_cell(op, shop, buyer_group):
    buyer = make_buyer(buyer_group)
    sku = SkuFactory(product__shop=shop)
    address = '上海市, "静安区"\n南京西路 1 号'
    order_for(
        buyer,
        buyer_group,
        sku,
        delivery=DeliveryRequest(
            method="shipping", recipient_name="王芳", recipient_phone="13800138000", address=address
        ),
    )
    _r, rows = _export(op)
    assert len(rows) == 2 and rows[1][13] == address


def test_export_runs_in_constant_queries(shop, viewer, buyer_group, transport):
    client = client_for(viewer)
    _varied_orders(shop, buyer_group, 1, transport)
    one, text = _queries(client, reverse("dashboard:orders_export"), stream=True)
    assert len(text.splitlines()) == 2
    _varied_orders(shop, GroupFactory(shop=shop), 11, transport)
    many, text = _queries(client, reverse("dashboard:orders_export"), stream=True)
    assert one == many
    assert len(list(csv.reader(io.StringIO(text)))) == 13


def test_export_fetches_in_chunks_and_loses_no_order(monkeypatch, shop, viewer, buyer_group, transport):
    monkeypatch.setattr(dashboard_views, "EXPORT_CHUNK", 2)
    _varied_orders(shop, buyer_group, 5, transport)
    _count, text = _queries(client_for(viewer), reverse("dashboard:orders_export"), stream=True)
    rows = list(csv.reader(io.StringIO(text)))[1:]
    assert sorted(row[0] for row in rows) == sorted(Order.objects.values_list("number", flat=True))
    assert all(" ×" in row[5] and "；" in row[5] for row in rows)  # every chunk got its lines


# --- Order page --------------------------------------------------------------------------------------


def test_order_page_shows_lines_delivery_payments_and_the_transition_history(op, operator, paid):
    from orders.services import ship_order

    ship_order(order=paid, by=operator, tracking_number="SF1234567")
    html = op.get(reverse("dashboard:order_detail", args=[paid.pk])).content.decode()
    for text in [
        paid.number,
        "已发货",
        "¥79.80",
        "王芳",
        "13800138000",
        "上海市徐汇区漕溪北路 1 号",
        "SF1234567",
        "支付成功",
        "模拟支付",
    ]:
        assert text in html, text
    history = [
        (t.from_state, t.to_state)
        for t in op.get(reverse("dashboard:order_detail", args=[paid.pk])).context["transitions"]
    ]
    assert history == [("", S.PENDING_PAYMENT), (S.PENDING_PAYMENT, S.PAID), (S.PAID, S.SHIPPED)]
    assert "待付款 → 已付款" in html and "已付款 → 已发货" in html
    assert operator.public_name in html and "发货" in html and "系统" in html  # who: the operator, the provider


def test_viewer_sees_the_order_but_no_action_forms(viewer, paid):
    html = client_for(viewer).get(reverse("dashboard:order_detail", args=[paid.pk])).content.decode()
    assert paid.number in html and "你的角色只能查看订单" in html
    assert "<form" not in html.split('class="content"')[1]
    for name in ["order_ship", "order_cancel", "order_refund", "order_refund_approve", "order_refund_reject"]:
        assert reverse(f"dashboard:{name}", args=[paid.pk]) not in html


@pytest.mark.parametrize(
    "state,offered",
    [
        (S.PENDING_PAYMENT, {"order_cancel"}),
        (S.PAID, {"order_ship", "order_refund"}),
        (S.SHIPPED, {"order_refund"}),
        (S.COMPLETED, {"order_refund"}),
        (S.REFUND_REQUESTED, {"order_refund_approve", "order_refund_reject"}),
        (S.REFUND_REJECTED, set()),
        (S.REFUNDED, set()),
        (S.CANCELLED, set()),
    ],
)
def test_the_page_offers_the_actions_the_state_allows(op, buyer, buyer_group, sku, state, offered):
    order = order_for(buyer, buyer_group, sku)
    Order.objects.filter(pk=order.pk).update(state=state)
    html = op.get(reverse("dashboard:order_detail", args=[order.pk])).content.decode()
    names = {"order_ship", "order_cancel", "order_refund", "order_refund_approve", "order_refund_reject"}
    assert {n for n in names if f'action="{reverse(f"dashboard:{n}", args=[order.pk])}"' in html} == offered


# --- Actions -----------------------------------------------------------------------------------------


def _act(client, name, order, data=None):
    return client.post(reverse(f"dashboard:{name}", args=[order.pk]), data or {}, follow=True)


def _errors(response) -> list[str]:
    return [text for level, text in messages_of(response) if level == "error"]


def test_ship_a_paid_order(op, operator, paid):
    response = _act(op, "order_ship", paid, {"tracking_number": " SF1234567 "})
    assert ("success", "订单已发货。") in messages_of(response)
    paid.refresh_from_db()
    assert (paid.state, paid.tracking_number) == (S.SHIPPED, "SF1234567")
    assert paid.transitions.last().by == operator


def test_shipping_without_a_tracking_number_is_shown_on_the_form(op, paid):
    before = snapshot()
    response = _act(op, "order_ship", paid, {"tracking_number": ""})
    assert response.status_code == 200 and response.redirect_chain == []
    assert "快递订单发货需要填写运单号" in response.content.decode()
    assert snapshot() == before


def test_a_pickup_order_ships_without_a_tracking_number(op, shop, buyer, buyer_group, sku, transport):
    point = PickupPointFactory(shop=shop)
    order = order_for(buyer, buyer_group, sku, delivery=DeliveryRequest(method="pickup", pickup_point_id=point.pk))
    pay(order, transport)
    html = op.get(reverse("dashboard:order_detail", args=[order.pk])).content.decode()
    assert "已备货，待自提" in html
    _act(op, "order_ship", order)
    order.refresh_from_db()
    assert order.state == S.SHIPPED


@pytest.mark.parametrize("data", [{"tracking_number": "SF1"}, {"tracking_number": ""}])
def test_shipping_an_unpaid_order_is_refused_with_a_message(op, buyer, buyer_group, sku, data):
    order = order_for(buyer, buyer_group, sku)
    before = snapshot()
    response = _act(op, "order_ship", order, data)
    assert response.redirect_chain[-1][0] == reverse("dashboard:order_detail", args=[order.pk])
    assert _errors(response)  # never a silent page: the ship form is not on it
    if data["tracking_number"]:
        assert _errors(response) == ["订单当前为「待付款」，不能变为「已发货」。"]
    assert snapshot() == before


def test_shipping_twice_is_refused_the_second_time(op, paid):
    _act(op, "order_ship", paid, {"tracking_number": "SF1"})
    response = _act(op, "order_ship", paid, {"tracking_number": "SF2"})
    assert _errors(response) == ["订单当前为「已发货」，不能变为「已发货」。"]
    paid.refresh_from_db()
    assert paid.tracking_number == "SF1" and paid.transitions.filter(to_state=S.SHIPPED).count() == 1


def test_a_tracking_number_too_long_is_a_form_error(op, paid):
    response = _act(op, "order_ship", paid, {"tracking_number": "9" * 41})
    assert response.status_code == 200 and "40" in response.content.decode()
    paid.refresh_from_db()
    assert paid.state == S.PAID


def test_cancel_an_unpaid_order_returns_its_stock(op, operator, buyer, buyer_group, sku):
    order = order_for(buyer, buyer_group, sku, quantity=4)
    response = _act(op, "order_cancel", order, {"reason": "会员电话要求取消"})
    assert ("success", "订单已取消，库存已退回。") in messages_of(response)
    order.refresh_from_db()
    sku.refresh_from_db()
    assert (order.state, sku.stock) == (S.CANCELLED, 100)
    last = order.transitions.last()
    assert (last.by, last.reason) == (operator, "会员电话要求取消")


def test_cancelling_a_paid_order_is_refused_and_stock_stays(op, sku, paid):
    before = snapshot()
    response = _act(op, "order_cancel", paid, {"reason": ""})
    assert _errors(response) == ["订单当前为「已付款」，不能变为「已取消」。"]
    assert snapshot() == before
    sku.refresh_from_db()
    assert sku.stock == 98


def test_refund_a_paid_order_and_the_provider_confirms(op, operator, sku, paid, transport):
    response = _act(op, "order_refund", paid, {"reason": "缺货，主动退款"})
    assert ("success", "已发起退款，支付渠道确认后订单变为「已退款」。") in messages_of(response)
    paid.refresh_from_db()
    refund = Refund.objects.get(order=paid)
    assert (paid.state, refund.state, refund.amount) == (S.REFUND_REQUESTED, RefundState.PENDING, paid.total)
    assert "退款处理中" in response.content.decode()
    deliver(transport)
    paid.refresh_from_db()
    sku.refresh_from_db()
    assert (paid.state, paid.refunded_amount, sku.stock) == (S.REFUNDED, Decimal("79.80"), 100)


def test_refund_needs_a_reason_shown_on_the_form(op, paid):
    before = snapshot()
    response = _act(op, "order_refund", paid, {"reason": "  "})
    assert response.status_code == 200 and "请填写退款原因" in response.content.decode()
    assert snapshot() == before


def test_refunding_an_unpaid_order_is_refused(op, buyer, buyer_group, sku):
    order = order_for(buyer, buyer_group, sku)
    before = snapshot()
    response = _act(op, "order_refund", order, {"reason": "试试"})
    assert _errors(response) == ["订单当前为「待付款」，不能变为「退款申请中」。"]
    assert snapshot() == before


def test_a_refund_that_cannot_be_paid_out_leaves_the_order_as_it_was(op, paid, transport):
    """Request and approval are one step here: if the money cannot go back, the order is not left 'requested'."""
    refund_part(order=paid, amount=paid.total, key="all-of-it", reason="差价")  # nothing left to refund
    before = snapshot()
    response = _act(op, "order_refund", paid, {"reason": "再退一次"})
    assert _errors(response) == ["退款金额超出可退金额。"]
    assert snapshot() == before
    paid.refresh_from_db()
    assert paid.state == S.PAID and not paid.transitions.filter(to_state=S.REFUND_REQUESTED).exists()


def test_approve_a_members_refund_request(op, operator, buyer, sku, paid, transport):
    request_refund(order=paid, by=buyer, reason="买多了")
    html = op.get(reverse("dashboard:order_detail", args=[paid.pk])).content.decode()
    assert "会员申请了退款" in html
    response = _act(op, "order_refund_approve", paid)
    assert ("success", "已同意退款，支付渠道确认后订单变为「已退款」。") in messages_of(response)
    _act(op, "order_refund_approve", paid)  # pressed twice: still one refund
    assert Refund.objects.filter(order=paid).count() == 1
    deliver(transport)
    paid.refresh_from_db()
    sku.refresh_from_db()
    assert (paid.state, sku.stock) == (S.REFUNDED, 100)


def test_approving_without_a_request_is_refused(op, paid):
    before = snapshot()
    response = _act(op, "order_refund_approve", paid)
    assert _errors(response) == ["只有退款申请中的订单可以退款。"]
    assert snapshot() == before


def test_a_failed_refund_is_said_so(op, settings, buyer, paid, transport):
    settings.SIMULATED_REFUND_BEHAVIOUR = {"outcome": "fail"}
    request_refund(order=paid, by=buyer, reason="质量问题")
    _act(op, "order_refund_approve", paid)
    deliver(transport)
    response = _act(op, "order_refund_approve", paid)
    assert _errors(response) == ["这笔订单的退款此前已失败，请联系技术支持处理。"]
    assert "退款失败" in response.content.decode()


def test_reject_a_refund_request_with_a_reason(op, operator, buyer, paid):
    request_refund(order=paid, by=buyer, reason="不想要了")
    response = _act(op, "order_refund_reject", paid, {"reason": "已拆封，不支持退款"})
    assert ("success", "已拒绝退款申请。") in messages_of(response)
    paid.refresh_from_db()
    assert paid.state == S.REFUND_REJECTED
    last = paid.transitions.last()
    assert (last.by, last.reason) == (operator, "已拆封，不支持退款")
    assert not Refund.objects.exists()


def test_rejecting_needs_a_reason(op, buyer, paid):
    request_refund(order=paid, by=buyer, reason="不想要了")
    before = snapshot()
    response = _act(op, "order_refund_reject", paid, {"reason": ""})
    assert response.status_code == 200 and "请填写拒绝原因" in response.content.decode()
    assert snapshot() == before


@pytest.mark.parametrize("reason", ["理由", ""])
def test_rejecting_without_a_request_is_refused(op, paid, reason):
    before = snapshot()
    response = _act(op, "order_refund_reject", paid, {"reason": reason})
    assert _errors(response)
    if reason:
        assert _errors(response) == ["订单当前为「已付款」，不能变为「退款被拒」。"]
    assert snapshot() == before


def test_action_urls_take_post_only(op, paid):
    for name in ["order_ship", "order_cancel", "order_refund", "order_refund_approve", "order_refund_reject"]:
        assert op.get(reverse(f"dashboard:{name}", args=[paid.pk])).status_code == 405, name
    paid.refresh_from_db()
    assert paid.state == S.PAID and OrderTransition.objects.filter(order=paid).count() == 2
