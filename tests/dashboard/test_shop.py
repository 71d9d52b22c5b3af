"""Shop settings, staff and the shop switcher."""

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from shops.models import Operator, OperatorRole
from shops.tenancy import SESSION_SHOP_KEY
from tests.factories import GroupFactory, OperatorFactory

pytestmark = pytest.mark.django_db


def _errors(response):
    return [str(m) for m in response.context["messages"] if m.level_tag == "error"]


def test_owner_updates_the_settings(owner_client, shop):
    url = reverse("dashboard:shop_settings")
    assert owner_client.get(url).context["form"]["group_hard_cap"].value() == 350
    response = owner_client.post(
        url,
        {
            "group_hard_cap": 300,
            "default_group_capacity": 150,
            "default_rotation_threshold": 140,
            "payment_timeout_minutes": 45,
            "bargain_pay_within_minutes": 120,
        },
    )
    assert response.status_code == 302
    shop.settings.refresh_from_db()
    assert (
        shop.settings.group_hard_cap,
        shop.settings.default_group_capacity,
        shop.settings.default_rotation_threshold,
    ) == (300, 150, 140)


def test_owner_sets_the_campaign_messages_thresholds_on_the_settings_page(owner_client, shop, owner):
    from shops.models import AuditEntry

    url = reverse("dashboard:shop_settings")
    form = owner_client.get(url).context["form"]
    assert (form["bargain_near_floor_percent"].value(), form["coupon_expiry_notice_hours"].value()) == (10, 24)
    caps = {"group_hard_cap": 350, "default_group_capacity": 200, "default_rotation_threshold": 180}
    times = {"payment_timeout_minutes": 30, "bargain_pay_within_minutes": 1440}

    refused = owner_client.post(
        url, {**caps, **times, "bargain_near_floor_percent": 60, "coupon_expiry_notice_hours": 0}
    )
    assert set(refused.context["form"].errors) == {"bargain_near_floor_percent", "coupon_expiry_notice_hours"}
    response = owner_client.post(
        url, {**caps, **times, "bargain_near_floor_percent": 25, "coupon_expiry_notice_hours": 48}
    )
    assert response.status_code == 302
    shop.settings.refresh_from_db()
    assert (shop.settings.bargain_near_floor_percent, shop.settings.coupon_expiry_notice_hours) == (25, 48)
    entry = AuditEntry.objects.get(action="shop.settings.update")
    assert entry.actor == owner
    assert (entry.after["bargain_near_floor_percent"], entry.after["coupon_expiry_notice_hours"]) == (25, 48)

    owner_client.post(url, {**caps, **times})  # left empty: kept as they are
    shop.settings.refresh_from_db()
    assert (shop.settings.bargain_near_floor_percent, shop.settings.coupon_expiry_notice_hours) == (25, 48)


def test_the_shop_sets_its_payment_timeouts_and_orders_follow_them(owner_client, shop):
    from orders.services import LineRequest, place_order
    from tests.builders.orders import SHIPPING, make_buyer
    from tests.factories import SkuFactory

    owner_client.post(
        reverse("dashboard:shop_settings"),
        {
            "group_hard_cap": 350,
            "default_group_capacity": 200,
            "default_rotation_threshold": 180,
            "payment_timeout_minutes": 45,
            "bargain_pay_within_minutes": 120,
        },
    )
    shop.settings.refresh_from_db()
    assert (shop.settings.payment_timeout_minutes, shop.settings.bargain_pay_within_minutes) == (45, 120)

    group = GroupFactory(shop=shop)
    sku = SkuFactory(product__shop=shop)
    order = place_order(
        member=make_buyer(group), group=group, lines=[LineRequest(sku.pk, 1)], delivery=SHIPPING, idempotency_key="k-45"
    )
    assert order.pay_deadline - order.created_at == timedelta(minutes=45)


def test_payment_timeouts_out_of_range_are_refused(owner_client, shop, owner):
    from shops.services import update_shop_settings

    with pytest.raises(ValidationError) as refused:
        update_shop_settings(
            shop=shop,
            by=owner,
            group_hard_cap=350,
            default_group_capacity=200,
            default_rotation_threshold=180,
            payment_timeout_minutes=0,
            bargain_pay_within_minutes=2,
        )
    assert set(refused.value.message_dict) == {"payment_timeout_minutes", "bargain_pay_within_minutes"}
    shop.settings.refresh_from_db()
    assert shop.settings.payment_timeout_minutes == 30


def test_settings_errors_are_shown_on_their_fields(owner_client, shop):
    GroupFactory(shop=shop, capacity=250)
    response = owner_client.post(
        reverse("dashboard:shop_settings"),
        {
            "group_hard_cap": 200,
            "default_group_capacity": 250,
            "default_rotation_threshold": 100,
            "payment_timeout_minutes": 30,
            "bargain_pay_within_minutes": 1440,
        },
    )
    form = response.context["form"]
    assert form.errors["default_group_capacity"] == ["默认群容量不能超过群人数上限。"]
    assert "有 1 个群的容量高于 200" in form.errors["group_hard_cap"][0]
    shop.settings.refresh_from_db()
    assert shop.settings.group_hard_cap == 350


def test_owner_adds_an_operator(owner_client, shop):
    response = owner_client.post(
        reverse("dashboard:operator_add"), {"email": "New.Op@Shop.test", "role": OperatorRole.VIEWER}
    )
    assert response.status_code == 302
    seat = Operator.objects.get(shop=shop, user__email="new.op@shop.test")
    assert seat.role == OperatorRole.VIEWER


def test_adding_a_colleague_twice_shows_the_error_on_the_email(owner_client, operator):
    response = owner_client.post(
        reverse("dashboard:operator_add"), {"email": operator.email, "role": OperatorRole.VIEWER}
    )
    assert response.status_code == 200
    assert response.context["add_form"].errors["email"] == ["此用户已是本店运营人员。"]


def test_owner_changes_a_role_and_removes_a_seat(owner_client, shop, operator):
    seat = Operator.objects.get(shop=shop, user=operator)
    owner_client.post(reverse("dashboard:operator_role", args=[seat.pk]), {"role": OperatorRole.VIEWER})
    seat.refresh_from_db()
    assert seat.role == OperatorRole.VIEWER
    owner_client.post(reverse("dashboard:operator_remove", args=[seat.pk]))
    assert not Operator.objects.filter(pk=seat.pk).exists()


def test_the_last_owner_stays_an_owner(owner_client, shop, owner):
    seat = Operator.objects.get(shop=shop, user=owner)
    response = owner_client.post(
        reverse("dashboard:operator_role", args=[seat.pk]), {"role": OperatorRole.OPERATOR}, follow=True
    )
    assert _errors(response) == ["店铺至少需要一位店主。"]
    response = owner_client.post(reverse("dashboard:operator_remove", args=[seat.pk]), follow=True)
    assert _errors(response) == ["店铺至少需要一位店主。"]
    seat.refresh_from_db()
    assert seat.role == OperatorRole.OWNER


def test_operators_page_shows_controls_to_owners_only(viewer_client, owner_client):
    assert reverse("dashboard:operator_add") not in viewer_client.get(reverse("dashboard:operators")).content.decode()
    assert reverse("dashboard:operator_add") in owner_client.get(reverse("dashboard:operators")).content.decode()


def test_switching_shops(owner_client, owner, shop, other_shop):
    OperatorFactory(shop=other_shop, user=owner, role=OperatorRole.VIEWER)
    GroupFactory(shop=shop, name="本店群")
    theirs = GroupFactory(shop=other_shop, name="二店的群")
    page = owner_client.get(reverse("dashboard:groups"))
    assert {s.shop_id for s in page.context["all_seats"]} == {shop.pk, other_shop.pk}
    response = owner_client.post(reverse("dashboard:switch_shop"), {"shop": other_shop.pk})
    assert response.status_code == 302
    assert owner_client.session[SESSION_SHOP_KEY] == other_shop.pk
    names = [g.name for g in owner_client.get(reverse("dashboard:groups")).context["page"]]
    assert names == ["二店的群"]
    assert owner_client.get(reverse("dashboard:group_detail", args=[theirs.pk])).status_code == 200
    # a viewer there: writes refused
    assert owner_client.post(reverse("dashboard:my_link", args=[theirs.pk])).status_code == 403
