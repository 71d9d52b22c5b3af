"""The inputs issue 20 found answering 500, each now a 4xx on its field; page size and offset have a range."""

from decimal import Decimal

import pytest
from django.urls import reverse

from campaigns.models import Campaign
from groups import services as group_services
from orders.models import Order
from referrals.models import WithdrawalRequest
from tests.factories import GroupFactory, OperatorFactory, SkuFactory

from .conftest import errors_of

pytestmark = pytest.mark.django_db
HUGE = [2**31, 2**63, 10**30]


def _fields(response) -> set:
    return {e["field"] for e in errors_of(response)}


@pytest.mark.parametrize("query", [f"limit={2**63 + 1}", "limit=201", "limit=0", "limit=-1", "limit=x", "offset=-1"])
def test_a_list_refuses_a_page_outside_its_range(operator_api, shop, query):
    GroupFactory(shop=shop)  # a non-empty list: the offset would reach the database
    response = operator_api.get(f"/api/v1/shop/groups/?{query}")
    assert response.status_code == 400 and _fields(response) == {query.split("=")[0]}


@pytest.mark.parametrize("offset", [10**9 + 1, 2**63, 10**30])
def test_an_offset_beyond_any_list_is_refused_not_sent_to_the_database(operator_api, shop, offset):
    GroupFactory(shop=shop)
    response = operator_api.get(f"/api/v1/shop/groups/?offset={offset}")
    assert response.status_code == 400 and _fields(response) == {"offset"}


def test_pages_within_range_still_work_and_the_schema_states_the_range(operator_api, shop):
    GroupFactory.create_batch(3, shop=shop)
    page = operator_api.get("/api/v1/shop/groups/?limit=200&offset=2").json()
    assert (page["count"], len(page["results"])) == (3, 1)
    schema = operator_api.get("/api/schema/?format=json").json()
    parameters = {p["name"]: p["schema"] for p in schema["paths"]["/api/v1/shop/groups/"]["get"]["parameters"]}
    assert parameters["limit"] == {"type": "integer", "minimum": 1, "maximum": 200}


@pytest.mark.parametrize("max_uses", HUGE)
def test_an_invite_link_with_uses_beyond_the_range_is_a_field_error(operator_api, shop, max_uses):
    group = GroupFactory(shop=shop)
    response = operator_api.post(
        reverse("api-shop-group-links", args=[group.pk]), {"max_uses": max_uses}, format="json"
    )
    assert response.status_code == 400 and _fields(response) == {"max_uses"}


@pytest.mark.parametrize("phone", ["not a phone", "12345", "😀", "1" * 16])
def test_an_order_with_a_recipient_phone_that_is_no_phone_is_refused(member_api, member, shop, phone):
    group = GroupFactory(shop=shop)
    group_services.add_member(group=group, user=member, by=None)
    sku = SkuFactory(product__shop=shop, price=Decimal("9.90"))
    body = {
        "lines": [{"sku": sku.pk, "quantity": 1}],
        "delivery": "shipping",
        "recipient_name": "王芳",
        "recipient_phone": phone,
        "address": "上海市 1 号",
    }
    response = member_api.post(
        reverse("api-my-group-orders", args=[group.pk]), body, format="json", HTTP_IDEMPOTENCY_KEY="k"
    )
    assert response.status_code == 400 and _fields(response) == {"recipient_phone"}
    good = member_api.post(
        reverse("api-my-group-orders", args=[group.pk]),
        {**body, "recipient_phone": "+86 138 0013 8000"},
        format="json",
        HTTP_IDEMPOTENCY_KEY="k2",
    )
    assert good.status_code == 201 and Order.objects.get().recipient_phone == "13800138000"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"shop": 2**63, "amount": "1", "account_note": "wx"}, "shop"),
        ({"shop": "😀", "amount": "1", "account_note": "wx"}, "shop"),
        ({"shop": 1, "amount": "1e30", "account_note": "wx"}, "amount"),
        ([1, 2, 3], None),
        ("\x00", None),
    ],
)
def test_a_withdrawal_with_an_odd_body_is_a_400(member_api, body, field):
    response = member_api.post("/api/v1/me/withdrawals/", body, format="json")
    assert response.status_code == 400 and field in _fields(response)
    assert not WithdrawalRequest.objects.exists()


@pytest.mark.parametrize("path", ["/m/j/%00%00%00/", "/api/v1/links/%00/", "/m/groups/?tab=%00"])
def test_a_nul_character_is_refused_before_any_view(client, member, path):
    client.force_login(member)
    response = client.get(path)
    assert response.status_code == 400


def test_a_nul_in_a_form_field_is_refused_before_the_view(client, shop):
    client.force_login(OperatorFactory(shop=shop, role="owner").user)
    body = "group_hard_cap=350&sms_sign_name=a%00b"
    response = client.post(reverse("dashboard:shop_settings"), body, content_type="application/x-www-form-urlencoded")
    assert response.status_code == 400
    multipart = client.post(reverse("dashboard:shop_settings"), {**SETTINGS, "sms_sign_name": "a\x00b"})
    assert multipart.status_code == 200 and "sms_sign_name" in multipart.context["form"].errors  # the form's own check


SETTINGS = {
    "group_hard_cap": 350,
    "default_group_capacity": 200,
    "default_rotation_threshold": 180,
    "payment_timeout_minutes": 30,
    "bargain_pay_within_minutes": 120,
}


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"group_hard_cap": 0}, "group_hard_cap"),
        ({"group_hard_cap": 100}, "default_group_capacity"),
        ({"group_hard_cap": 2**31}, "group_hard_cap"),
        ({"payment_timeout_minutes": 10**30}, "payment_timeout_minutes"),
    ],
)
def test_shop_settings_out_of_range_are_shown_on_the_form(client, shop, changes, field):
    client.force_login(OperatorFactory(shop=shop, role="owner").user)
    response = client.post(reverse("dashboard:shop_settings"), {**SETTINGS, **changes})
    assert response.status_code == 200
    form = response.context["form"]
    assert field in form.errors or any(field in str(m) for m in response.context["messages"]), form.errors
    shop.settings.refresh_from_db()
    assert shop.settings.group_hard_cap == 350


@pytest.mark.parametrize(
    ("changes", "field"),
    [({"budget": "1e30"}, "budget"), ({"budget": "9" * 40}, "budget"), ({"stock_cap": "9" * 20}, "stock_cap")],
)
def test_the_campaign_editor_refuses_huge_numbers_on_their_field(client, shop, changes, field):
    from tests.campaigns.test_dashboard import _form

    client.force_login(OperatorFactory(shop=shop, role="operator").user)
    data = _form(SkuFactory(product__shop=shop, price=Decimal("59.90"), stock=50), **changes)
    live = client.post(reverse("dashboard:campaign_validate"), data)
    assert live.status_code == 200 and field in live.json()["errors"]
    saved = client.post(reverse("dashboard:campaign_create"), data)
    assert saved.status_code == 400 and not Campaign.objects.exists()  # the editor again, with the error


def test_an_order_for_another_shops_sku_does_not_name_it(member_api, member, shop, other_shop):
    group = GroupFactory(shop=shop)
    group_services.add_member(group=group, user=member, by=None)
    theirs = SkuFactory(product__shop=other_shop, product__name="别家的秘密新品", spec="限定款")
    body = {
        "lines": [{"sku": theirs.pk, "quantity": 1}],
        "delivery": "shipping",
        "recipient_name": "王芳",
        "recipient_phone": "13800138000",
        "address": "上海市 1 号",
    }
    response = member_api.post(
        reverse("api-my-group-orders", args=[group.pk]), body, format="json", HTTP_IDEMPOTENCY_KEY="k"
    )
    assert response.status_code == 400 and _fields(response) == {"lines"}
    said = str(response.json())
    assert "别家" not in said and "限定款" not in said
