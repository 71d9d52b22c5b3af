"""秒 秒杀 flash sale: its rules (a price below the SKU's, a stock cap and a per-member limit required), the
start time (the landing page shows it without script; the first buyer at the start starts the sale), buying
one unit at the flash price with a shorter time to pay, the cap's sold-out flag (set when the last unit
goes, answered without touching the campaign's or the SKU's row, cleared when a unit comes back), the
member API, the dashboard, the group page, the admin, and the denials."""

import re
import uuid
from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from campaigns import registry, services
from campaigns.models import Campaign, CampaignAct, CampaignOrder, CampaignState, CampaignType
from campaigns.types.flash_sale import kind as flash_sale
from orders import services as order_services
from orders.models import Order, OrderState, Sku
from tests.builders.campaigns import FLASH_SALE_SETTINGS, make_flash_sale
from tests.builders.orders import SHIPPING, SHIPPING_FORM, make_buyer
from tests.factories import GroupFactory, OperatorFactory, SkuFactory, UserFactory

pytestmark = pytest.mark.django_db
# The sold-out answer: the session and the user (middleware), the idempotency key's own order when one is
# sent; never the campaign's row nor the SKU's.
SOLD_OUT_QUERIES = 3
HOT_ROWS = re.compile(r'"(campaigns_campaign|orders_sku)"')


@pytest.fixture
def group(shop):
    return GroupFactory(shop=shop)


@pytest.fixture
def sku(shop):
    return SkuFactory(product__shop=shop, price=Decimal("29.90"), stock=100)


@pytest.fixture
def sale(shop, sku, owner):
    return make_flash_sale(shop, sku, owner=owner, stock_cap=2, per_member_limit=1)


@pytest.fixture
def buyers(group):
    return [make_buyer(group) for _ in range(4)]


def _buy(sale, member, group, key=None):
    return flash_sale.buy(
        campaign=Campaign.objects.get(pk=sale.pk),
        member=member,
        group=group,
        delivery=SHIPPING,
        idempotency_key=key or uuid.uuid4().hex,
    )


def _buy_url(sale):
    return reverse("campaigns:flash_buy", args=[sale.pk])


def _sell_out(sale, buyers, group, capture):
    with capture(execute=True):
        orders = [_buy(sale, buyer, group) for buyer in buyers[: sale.stock_cap]]
    return orders


# --- Rules -------------------------------------------------------------------------------------------


def test_the_type_is_registered_with_its_wizard_words():
    kind = registry.get(CampaignType.FLASH_SALE)
    assert kind.sells and str(kind.label) == "秒杀"
    assert str(kind.summary) and kind.essential_settings == ("flash_price", "stock_cap", "per_member_limit")


@pytest.mark.parametrize(
    ("fields", "type_settings", "field", "words"),
    [
        ({}, {"flash_price": "29.90"}, "flash_price", "秒杀价必须低于商品原价 ¥29.90"),
        ({}, {}, "flash_price", "请填写金额"),
        ({"stock_cap": None}, FLASH_SALE_SETTINGS, "stock_cap", "秒杀需要设置活动库存上限"),
        ({"per_member_limit": None}, FLASH_SALE_SETTINGS, "per_member_limit", "秒杀需要设置每人限购件数"),
        ({}, {"flash_price": "9.90", "pay_minutes": "0"}, "pay_minutes", "付款时限须在 1 到 1440 分钟之间"),
        ({}, {"flash_price": "9.90", "pay_minutes": "abc"}, "pay_minutes", "付款时限须在 1 到 1440 分钟之间"),
    ],
)
def test_bad_settings_are_refused_by_field(shop, sku, fields, type_settings, field, words):
    with pytest.raises(ValidationError) as refused:
        make_flash_sale(shop, sku, run=False, settings=type_settings, **fields)
    assert words in " ".join(refused.value.message_dict[field])
    assert not Campaign.objects.exists()


def test_cleaned_settings_default_the_time_to_pay(shop, sku):
    sale = make_flash_sale(shop, sku, run=False, settings={"flash_price": "9.9"})
    assert sale.settings == {"flash_price": "9.90", "pay_minutes": 15}


# --- Buying ------------------------------------------------------------------------------------------


def test_a_member_buys_one_unit_at_the_flash_price_with_less_time_to_pay(sale, buyers, group, sku):
    order = _buy(sale, buyers[0], group)
    assert order.state == OrderState.PENDING_PAYMENT and order.source == f"campaign:{sale.pk}"
    assert order.total == Decimal("9.90") and order.lines.get().quantity == 1
    assert order.pay_deadline == order.created_at + timedelta(minutes=15)
    assert Order.objects.get(pk=order.pk).pay_deadline == order.pay_deadline
    sale.refresh_from_db()
    assert sale.stock_used == 1 and Sku.objects.get(pk=sku.pk).stock == 99
    assert CampaignOrder.objects.get(order=order).subsidy == Decimal("20.00")


def test_the_same_key_returns_the_same_order(sale, buyers, group):
    key = uuid.uuid4().hex
    assert _buy(sale, buyers[0], group, key) == _buy(sale, buyers[0], group, key)
    assert Order.objects.count() == 1 and Campaign.objects.get(pk=sale.pk).stock_used == 1


def test_the_per_member_limit_refuses_the_next_unit(sale, buyers, group):
    _buy(sale, buyers[0], group)
    with pytest.raises(ValidationError, match="每人限参与 1 次"):
        _buy(sale, buyers[0], group)
    assert Order.objects.count() == 1


def test_before_the_start_nothing_is_sold(shop, sku, buyers, group):
    sale = make_flash_sale(shop, sku, starts_at=timezone.now() + timedelta(hours=1))
    assert sale.state == CampaignState.SCHEDULED
    with pytest.raises(ValidationError, match="秒杀尚未开始"):
        _buy(sale, buyers[0], group)
    assert not Order.objects.exists()


def test_past_its_end_nothing_is_sold_before_the_end_job_runs(sale, buyers, group):
    Campaign.objects.filter(pk=sale.pk).update(ends_at=timezone.now() - timedelta(seconds=1))
    assert sale.state == CampaignState.RUNNING
    with pytest.raises(ValidationError, match="秒杀已结束"):
        _buy(sale, buyers[0], group)
    assert not Order.objects.exists()


def test_the_first_buyer_at_the_start_starts_the_sale(shop, sku, buyers, group):
    """The start job runs once a minute; a flash sale opens at its second."""
    sale = make_flash_sale(shop, sku, starts_at=timezone.now() + timedelta(hours=1))
    Campaign.objects.filter(pk=sale.pk).update(starts_at=timezone.now() - timedelta(seconds=1))
    order = _buy(sale, buyers[0], group)
    sale.refresh_from_db()
    assert sale.state == CampaignState.RUNNING and order.state == OrderState.PENDING_PAYMENT
    assert sale.transitions.filter(to_state=CampaignState.RUNNING, reason="秒杀开始时间已到").count() == 1


def test_the_last_unit_flags_the_sale_sold_out_on_commit(sale, buyers, group, django_capture_on_commit_callbacks):
    _sell_out(sale, buyers, group, django_capture_on_commit_callbacks)
    assert flash_sale.is_flagged_sold_out(sale.pk) == sale.name
    with pytest.raises(ValidationError, match="活动名额已抢完"):
        _buy(sale, buyers[2], group)
    assert Order.objects.count() == 2


def test_without_the_flag_the_database_still_refuses_and_raises_the_flag(
    sale, buyers, group, django_capture_on_commit_callbacks
):
    """The flag only answers early: evicted (or Redis gone), the cap's UPDATE refuses and flags again."""
    from django.core.cache import cache

    _sell_out(sale, buyers, group, django_capture_on_commit_callbacks)
    cache.clear()
    with pytest.raises(ValidationError, match="活动名额已抢完"):
        _buy(sale, buyers[2], group)
    assert flash_sale.is_flagged_sold_out(sale.pk) == sale.name
    assert Campaign.objects.get(pk=sale.pk).stock_used == 2 and Order.objects.count() == 2


def test_a_cancelled_order_gives_its_unit_back_and_takes_the_flag_down(
    sale, buyers, group, django_capture_on_commit_callbacks
):
    orders = _sell_out(sale, buyers, group, django_capture_on_commit_callbacks)
    with django_capture_on_commit_callbacks(execute=True):
        order_services.cancel_order(order=orders[0], by=buyers[0], reason="不要了")
    assert flash_sale.is_flagged_sold_out(sale.pk) is None
    assert Campaign.objects.get(pk=sale.pk).stock_used == 1
    assert _buy(sale, buyers[2], group).state == OrderState.PENDING_PAYMENT


def test_the_overdue_job_gives_an_unpaid_unit_back_after_the_sales_time_to_pay(
    sale, buyers, group, django_capture_on_commit_callbacks
):
    """The job is the order core's (cancel_overdue_orders, every minute) on the sale's shorter deadline."""
    orders = _sell_out(sale, buyers, group, django_capture_on_commit_callbacks)
    with django_capture_on_commit_callbacks(execute=True):
        assert order_services.cancel_overdue_orders(now=timezone.now() + timedelta(minutes=14)) == 0
        assert order_services.cancel_overdue_orders(now=timezone.now() + timedelta(minutes=16)) == 2
    assert {o.state for o in Order.objects.filter(pk__in=[o.pk for o in orders])} == {OrderState.CANCELLED}
    assert Campaign.objects.get(pk=sale.pk).stock_used == 0
    assert flash_sale.is_flagged_sold_out(sale.pk) is None


def test_raising_the_cap_takes_the_flag_down(sale, owner, buyers, group, django_capture_on_commit_callbacks):
    _sell_out(sale, buyers, group, django_capture_on_commit_callbacks)
    with django_capture_on_commit_callbacks(execute=True):
        services.update_campaign(campaign=sale, by=owner, stock_cap=3)
    assert flash_sale.is_flagged_sold_out(sale.pk) is None
    _buy(sale, buyers[2], group)
    assert Campaign.objects.get(pk=sale.pk).stock_used == 3


def test_a_paid_order_is_recorded_as_the_members_act_once(sale, buyers, group):
    order = _buy(sale, buyers[0], group)
    kind = registry.get(CampaignType.FLASH_SALE)
    kind.after_paid(order)
    kind.after_paid(order)
    assert list(CampaignAct.objects.values_list("kind", "key")) == [("flash_buy", f"flash:{order.pk}")]


# --- Member pages ------------------------------------------------------------------------------------


def test_the_landing_page_shows_the_start_time_without_script(client, shop, sku, buyers):
    starts = timezone.now() + timedelta(hours=2)
    sale = make_flash_sale(shop, sku, starts_at=starts)
    client.force_login(buyers[0])
    page = client.get(sale.get_absolute_url()).content.decode()
    local = timezone.localtime(starts)
    assert f'<time datetime="{local.isoformat()}">{local:%m-%d %H:%M:%S}</time>' in page
    assert f"{local:%Y-%m-%d %H:%M:%S} 准时开抢" in page
    assert 'class="countdown" data-seconds="' in page  # the page script ticks it down
    assert "¥9.90" in page and "¥29.90" in page and "限量 3 件" in page
    assert 'data-testid="flash-buy"' not in page


def test_the_landing_page_offers_the_buy_then_says_sold_out(
    client, sale, buyers, group, django_capture_on_commit_callbacks
):
    client.force_login(buyers[3])
    page = client.get(sale.get_absolute_url()).content.decode()
    assert 'data-testid="flash-buy"' in page and "剩余 2 件" in page and "每人限购 1 件" in page
    assert "{#" not in page  # no template comment left in the page
    _sell_out(sale, buyers, group, django_capture_on_commit_callbacks)
    page = client.get(sale.get_absolute_url()).content.decode()
    assert 'data-testid="flash-buy"' not in page and "已抢光" in page


def test_a_member_buys_through_the_pages(client, sale, buyers, group):
    client.force_login(buyers[0])
    form = client.get(_buy_url(sale))
    assert form.status_code == 200 and "提交订单 ¥9.90" in form.content.decode()
    key = form.context["idempotency_key"]
    response = client.post(_buy_url(sale), {**SHIPPING_FORM, "group": group.pk, "idempotency_key": key})
    order = Order.objects.get(member=buyers[0])
    assert response.status_code == 302 and response.url == reverse("orders:member_order", args=[order.pk])
    again = client.post(_buy_url(sale), {**SHIPPING_FORM, "group": group.pk, "idempotency_key": key})
    assert again.url == response.url and Order.objects.count() == 1
    refused = client.post(_buy_url(sale), {**SHIPPING_FORM, "group": group.pk, "idempotency_key": uuid.uuid4().hex})
    assert refused.status_code == 400 and "每人限参与 1 次" in refused.content.decode()


def test_signed_out_the_buy_asks_to_sign_in_first(client, sale):
    response = client.get(_buy_url(sale))
    assert response.status_code == 302 and "login" in response.url


def test_a_member_outside_its_groups_is_sent_to_join_first(client, sale):
    client.force_login(UserFactory())
    response = client.get(_buy_url(sale), follow=True)
    assert "请先加入活动所在的群" in response.content.decode()
    assert not Order.objects.exists()


def test_the_sold_out_answer_touches_neither_the_campaign_nor_the_sku(
    client, sale, buyers, group, django_capture_on_commit_callbacks
):
    _sell_out(sale, buyers, group, django_capture_on_commit_callbacks)
    client.force_login(buyers[3])
    for method, data in (("get", {}), ("post", {**SHIPPING_FORM, "idempotency_key": uuid.uuid4().hex})):
        with CaptureQueriesContext(connection) as queries:
            response = getattr(client, method)(_buy_url(sale), data)
        assert response.status_code == 409 and f"「{sale.name}」已抢光" in response.content.decode()
        assert len(queries) <= SOLD_OUT_QUERIES, [q["sql"] for q in queries]
        assert not [q for q in queries if HOT_ROWS.search(q["sql"])]
    assert Order.objects.count() == 2


def test_a_resubmitted_page_whose_order_was_placed_still_finds_it_when_sold_out(
    client, sale, buyers, group, django_capture_on_commit_callbacks
):
    client.force_login(buyers[0])
    key = uuid.uuid4().hex
    with django_capture_on_commit_callbacks(execute=True):
        first = client.post(_buy_url(sale), {**SHIPPING_FORM, "group": group.pk, "idempotency_key": key})
        _buy(sale, buyers[1], group)
    assert first.status_code == 302 and flash_sale.is_flagged_sold_out(sale.pk)
    again = client.post(_buy_url(sale), {**SHIPPING_FORM, "group": group.pk, "idempotency_key": key})
    assert again.status_code == 302 and again.url == first.url


def test_the_group_page_lists_the_flash_sale(client, sale, buyers, group):
    client.force_login(buyers[0])
    page = client.get(reverse("member:group", args=[group.pk])).content.decode()
    assert "秒杀 · 秒杀价 ¥9.90 · 限量 2 件" in page and sale.get_absolute_url() in page


def test_the_landing_page_costs_the_same_queries_with_more_orders(client, sale, buyers, group, shop, sku):
    client.force_login(buyers[3])
    client.get(sale.get_absolute_url())
    with CaptureQueriesContext(connection) as before:
        client.get(sale.get_absolute_url())
    _buy(sale, buyers[0], group)
    _buy(sale, buyers[1], group)
    with CaptureQueriesContext(connection) as after:
        client.get(sale.get_absolute_url())
    assert len(after) == len(before)


# --- The member API ----------------------------------------------------------------------------------


def _api_buy(client, sale, group, key):
    return client.post(
        reverse("api-my-flash-orders", args=[sale.pk]),
        {**SHIPPING_FORM, "group": group.pk},
        content_type="application/json",
        headers={"Idempotency-Key": key},
    )


def test_the_api_buys_once_per_key_and_lists_my_orders(client, sale, buyers, group):
    client.force_login(buyers[0])
    key = uuid.uuid4().hex
    first = _api_buy(client, sale, group, key)
    assert first.status_code == 201 and first.json()["total"] == "9.90"
    assert _api_buy(client, sale, group, key).status_code == 200
    listed = client.get(reverse("api-my-flash-orders", args=[sale.pk])).json()
    assert [row["id"] for row in listed["results"]] == [first.json()["id"]]
    rules = client.get(reverse("api-my-campaign", args=[sale.pk])).json()["flash_sale"]
    assert rules["flash_price"] == "9.90" and rules["units_left"] == 1 and rules["sold_out"] is False
    assert rules["per_member_limit"] == 1 and rules["open_now"] is True


def test_the_api_answers_sold_out_from_the_flag(client, sale, buyers, group, django_capture_on_commit_callbacks):
    _sell_out(sale, buyers, group, django_capture_on_commit_callbacks)
    client.force_login(buyers[3])
    with CaptureQueriesContext(connection) as queries:
        response = _api_buy(client, sale, group, uuid.uuid4().hex)
    assert response.status_code == 409 and response.json()["errors"][0]["code"] == "sold_out"
    assert not [q for q in queries if HOT_ROWS.search(q["sql"])]
    assert client.get(reverse("api-my-campaign", args=[sale.pk])).json()["flash_sale"]["sold_out"] is True


def test_the_api_refuses_without_a_key_and_outside_the_members_groups(client, sale, buyers, shop):
    client.force_login(buyers[0])
    missing = client.post(reverse("api-my-flash-orders", args=[sale.pk]), {}, content_type="application/json")
    assert missing.status_code == 400
    elsewhere = _api_buy(client, sale, GroupFactory(shop=shop), uuid.uuid4().hex)
    assert elsewhere.status_code == 400 and not Order.objects.exists()


def test_the_api_hides_drafts_and_other_types(client, shop, sku, buyers, campaign):
    draft = make_flash_sale(shop, sku, run=False)
    client.force_login(buyers[0])
    for pk in (draft.pk, campaign.pk):
        assert client.get(reverse("api-my-flash-orders", args=[pk])).status_code == 404
        assert client.get(reverse("campaigns:flash_buy", args=[pk])).status_code == 404


# --- Dashboard, poster, admin ------------------------------------------------------------------------


def test_an_operator_creates_a_flash_sale_in_the_dashboard(operator_client, shop, sku):
    now = timezone.localtime()
    response = operator_client.post(
        reverse("dashboard:campaign_create"),
        {
            "type": CampaignType.FLASH_SALE,
            "name": "周五 20 点秒杀",
            "starts_at": (now + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M"),
            "ends_at": (now + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M"),
            "all_groups": "on",
            "product": sku.product_id,
            "sku": sku.pk,
            "stock_cap": "50",
            "per_member_limit": "2",
            "s-flash_price": "19.90",
            "s-pay_minutes": "10",
        },
    )
    sale = Campaign.objects.get(type=CampaignType.FLASH_SALE)
    assert response.status_code == 302
    assert sale.settings == {"flash_price": "19.90", "pay_minutes": 10}
    assert (sale.stock_cap, sale.per_member_limit) == (50, 2)
    listed = operator_client.get(reverse("dashboard:campaigns")).content.decode()
    assert "周五 20 点秒杀" in listed and "<td>秒杀</td>" in listed


def test_the_dashboard_page_shows_figures_and_the_flag(
    operator_client, sale, buyers, group, django_capture_on_commit_callbacks
):
    _sell_out(sale, buyers, group, django_capture_on_commit_callbacks)
    detail = operator_client.get(reverse("dashboard:campaign_detail", args=[sale.pk]))
    figures = dict(detail.context["figures"])
    assert figures["限量"] == 2 and figures["待付款占用"] == 2 and figures["剩余"] == 0
    assert figures["抢到人数"] == 2
    assert "买家直接看到「已抢光」" in detail.content.decode()
    assert ("秒杀价（元）", "¥9.90") in detail.context["settings_shown"]
    poster = operator_client.get(reverse("dashboard:campaign_poster", args=[sale.pk]))
    assert poster.status_code == 200
    assert registry.get(CampaignType.FLASH_SALE).poster_offer(sale, None).startswith("秒杀价 ¥9.90 · 限量 2 件")


def test_the_dashboard_figures_cost_the_same_queries_with_more_orders(operator_client, sale, buyers, group):
    url = reverse("dashboard:campaign_detail", args=[sale.pk])
    operator_client.get(url)
    with CaptureQueriesContext(connection) as before:
        operator_client.get(url)
    _buy(sale, buyers[0], group)
    _buy(sale, buyers[1], group)
    with CaptureQueriesContext(connection) as after:
        operator_client.get(url)
    assert len(after) == len(before)


def test_another_shops_operator_gets_404(client, sale, other_shop):
    client.force_login(OperatorFactory(shop=other_shop).user)
    for name in ("dashboard:campaign_detail", "dashboard:campaign_edit", "dashboard:campaign_poster"):
        assert client.get(reverse(name, args=[sale.pk])).status_code == 404


def test_the_admin_lists_flash_sale_orders_only(admin_client, sale, buyers, group, campaign, people, gb_group):
    from tests.builders.campaigns import open_team

    mine = _buy(sale, buyers[0], group)
    open_team(campaign, people[0], gb_group)
    page = admin_client.get(reverse("admin:campaigns_flashsaleorder_changelist"))
    assert page.status_code == 200
    assert [row.order_id for row in page.context["cl"].result_list] == [mine.pk]


def test_a_sold_out_sales_buy_post_is_answered_before_the_session_in_its_language(
    sale, buyers, group, django_capture_on_commit_callbacks
):
    """orders.early: the 立即抢购 POST of a flagged sale costs no SQL (no session, user or CSRF: a refusal
    changes nothing), names the public sale and links to its landing page; English for an English browser."""
    _sell_out(sale, buyers, group, django_capture_on_commit_callbacks)
    client = Client(enforce_csrf_checks=True)
    client.force_login(buyers[3])
    with CaptureQueriesContext(connection) as queries:
        response = client.post(
            _buy_url(sale), {**SHIPPING_FORM, "group": group.pk, "idempotency_key": uuid.uuid4().hex}
        )
    page = response.content.decode()
    assert response.status_code == 409 and f"「{sale.name}」已抢光" in page and sale.get_absolute_url() in page
    assert len(queries) == 0, [q["sql"] for q in queries]
    english = client.post(_buy_url(sale), {**SHIPPING_FORM, "group": group.pk}, HTTP_ACCEPT_LANGUAGE="en")
    assert english.status_code == 409 and english["Content-Language"] == "en"
    assert "已抢光" not in english.content.decode() and sale.name in english.content.decode()
    # Another sale's POST is not answered early (CSRF is checked as ever), nor is this sale's page (GET).
    other = make_flash_sale(sale.shop, SkuFactory(product__shop=sale.shop, price=Decimal("29.90"), stock=5))
    assert client.post(_buy_url(other), {**SHIPPING_FORM, "group": group.pk}).status_code == 403
    assert Order.objects.count() == 2
