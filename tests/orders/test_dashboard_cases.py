"""Dashboard: the after-sales queue and closing a case, which lifts the member's do-not-market mark."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from orders.models import AfterSalesCase, CaseState
from orders.services import do_not_market, open_case
from tests.builders.orders import make_buyer, order_for, pay
from tests.factories import GroupFactory, SkuFactory

from .dashboard_support import client_for, messages_of, png, snapshot

pytestmark = pytest.mark.django_db


@pytest.fixture
def op(operator):
    return client_for(operator)


def _case(buyer, group, sku, transport, reason="收到的米粉包装破损", photos=()):
    order = order_for(buyer, group, sku)
    pay(order, transport)
    return open_case(order=order, member=buyer, reason=reason, photos=photos)


@pytest.fixture
def case(buyer, buyer_group, sku, transport):
    return _case(buyer, buyer_group, sku, transport)


def _close(client, case, **data):
    return client.post(reverse("dashboard:case_close", args=[case.pk]), data, follow=True)


# --- Queue --------------------------------------------------------------------------------------------


def test_the_queue_shows_open_cases_by_default(op, shop, buyer, buyer_group, sku, transport, operator):
    open_one = _case(buyer, buyer_group, sku, transport, reason="少发了一袋")
    closed = _case(buyer, buyer_group, sku, transport, reason="已经处理好的问题")
    _close(op, closed, resolution="已补发", resolved="yes")
    response = op.get(reverse("dashboard:cases"))
    assert [c.pk for c in response.context["page"]] == [open_one.pk]
    html = response.content.decode()
    assert "少发了一袋" in html and "已经处理好的问题" not in html
    assert open_one.order.number in html and buyer.public_name in html
    resolved = op.get(reverse("dashboard:cases"), {"state": CaseState.RESOLVED})
    assert [c.pk for c in resolved.context["page"]] == [closed.pk]
    assert operator.public_name in resolved.content.decode()
    every = op.get(reverse("dashboard:cases"), {"state": "all"})
    assert [c.pk for c in every.context["page"]] == [closed.pk, open_one.pk]
    assert [c.pk for c in op.get(reverse("dashboard:cases"), {"state": "nonsense"}).context["page"]] == [open_one.pk]


def test_the_queue_never_shows_another_shops_cases(op, other_shop, transport):
    group = GroupFactory(shop=other_shop)
    foreign = _case(make_buyer(group), group, SkuFactory(product__shop=other_shop), transport, reason="别家的售后")
    response = op.get(reverse("dashboard:cases"), {"state": "all"})
    assert list(response.context["page"]) == []
    assert "别家的售后" not in response.content.decode() and foreign.order.number not in response.content.decode()


def _queries(client) -> tuple[int, str]:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(reverse("dashboard:cases"), {"state": "all"})
    assert response.status_code == 200
    return len(ctx.captured_queries), response.content.decode()


@pytest.mark.slow
def test_the_queue_runs_in_constant_queries(shop, viewer, buyer_group, transport, op):
    client = client_for(viewer)
    sku = SkuFactory(product__shop=shop, stock=1000)

    def add(n):
        for i in range(n):
            case = _case(
                make_buyer(buyer_group),
                buyer_group,
                sku,
                transport,
                photos=[SimpleUploadedFile("p.png", png(), content_type="image/png")],
            )
            if i % 2:
                _close(op, case, resolution="已处理", resolved="yes")

    add(1)
    one, _html = _queries(client)
    add(11)
    many, html = _queries(client)
    assert one == many
    cases = AfterSalesCase.objects.all()
    assert len(cases) == 12 and all(f'href="{reverse("dashboard:case_detail", args=[c.pk])}"' in html for c in cases)


def test_case_page_shows_the_members_words_and_photos(op, buyer, buyer_group, sku, transport):
    case = _case(
        buyer,
        buyer_group,
        sku,
        transport,
        reason="罐子凹了",
        photos=[SimpleUploadedFile("dent.png", png(), content_type="image/png")],
    )
    html = op.get(reverse("dashboard:case_detail", args=[case.pk])).content.decode()
    assert "罐子凹了" in html and case.photos.get().image.url in html
    assert f'action="{reverse("dashboard:case_close", args=[case.pk])}"' in html


def test_a_viewer_sees_the_case_but_no_close_form(viewer, case):
    html = client_for(viewer).get(reverse("dashboard:case_detail", args=[case.pk])).content.decode()
    assert case.reason in html and "你的角色只能查看售后" in html
    assert reverse("dashboard:case_close", args=[case.pk]) not in html


# --- Closing ------------------------------------------------------------------------------------------


def test_closing_a_case_resolves_it_and_lifts_do_not_market(op, operator, shop, buyer, case):
    assert do_not_market(member=buyer, shop_id=shop.pk)
    response = _close(op, case, resolution="已补发一袋", resolved="yes")
    assert ("success", "售后已处理。") in messages_of(response)
    case.refresh_from_db()
    assert (case.state, case.resolution, case.resolved_by) == (CaseState.RESOLVED, "已补发一袋", operator)
    assert case.closed_at is not None
    assert not do_not_market(member=buyer, shop_id=shop.pk)
    html = response.content.decode()
    assert "该售后已关闭" in html and "已补发一袋" in html


def test_a_case_can_be_closed_as_rejected(op, shop, buyer, case):
    _close(op, case, resolution="非质量问题", resolved="no")
    case.refresh_from_db()
    assert case.state == CaseState.REJECTED
    assert not do_not_market(member=buyer, shop_id=shop.pk)


def test_do_not_market_stays_while_another_case_is_open(op, shop, buyer, buyer_group, sku, transport, case):
    second = _case(buyer, buyer_group, sku, transport, reason="另一个问题")
    _close(op, case, resolution="已处理", resolved="yes")
    assert do_not_market(member=buyer, shop_id=shop.pk)
    _close(op, second, resolution="也处理了", resolved="yes")
    assert not do_not_market(member=buyer, shop_id=shop.pk)


@pytest.mark.parametrize(
    "data,message",
    [
        ({"resolution": "", "resolved": "yes"}, "请填写处理结果"),
        ({"resolution": "   ", "resolved": "yes"}, "请填写处理结果"),
        ({"resolution": "已处理"}, "该字段是必填项"),
        ({"resolution": "已处理", "resolved": "maybe"}, "选择一个有效的选项"),
        ({"resolution": "长" * 2001, "resolved": "yes"}, "2000"),
    ],
)
def test_closing_needs_a_resolution_and_a_verdict(op, shop, buyer, case, data, message):
    before = snapshot()
    response = _close(op, case, **data)
    assert response.status_code == 200 and response.redirect_chain == []
    assert message in response.content.decode()
    assert snapshot() == before
    assert do_not_market(member=buyer, shop_id=shop.pk)


def test_closing_twice_is_refused_with_a_message(op, case):
    _close(op, case, resolution="第一次", resolved="yes")
    response = _close(op, case, resolution="第二次", resolved="no")
    assert ("error", "该售后已处理。") in messages_of(response)
    case.refresh_from_db()
    assert (case.state, case.resolution) == (CaseState.RESOLVED, "第一次")


def test_close_takes_post_only(op, case):
    assert op.get(reverse("dashboard:case_close", args=[case.pk])).status_code == 405
    assert AfterSalesCase.objects.get(pk=case.pk).state == CaseState.OPEN
