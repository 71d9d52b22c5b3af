"""Stewards' rewards (群管奖励): a group's 群主 and 群管理 earn a commission or points on the paid orders of
their group, once per order, granted after the review period from what the order still keeps."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from groups.models import MemberRole, Membership
from groups.services import set_role
from orders.services import refund_part
from referrals import stewards
from referrals.models import (
    CommissionAccount,
    CommissionEntry,
    PointsAccount,
    PointsEntry,
    StewardReward,
    StewardRewardKind,
    StewardRewardStatus,
    StewardRule,
)
from referrals.stewards import RuleInput, grant_due_rewards, save_rule
from shops.models import AuditEntry, OperatorRole
from tests.builders.orders import deliver, make_buyer
from tests.builders.referrals import paid_order, refund
from tests.factories import GroupFactory, OperatorFactory, ShopFactory, SkuFactory, shop_owner

pytestmark = pytest.mark.django_db

LATER = timedelta(days=8)  # past the default 7-day review period
COMMISSION, POINTS = StewardRewardKind.COMMISSION, StewardRewardKind.POINTS


def steward(group, role):
    person = make_buyer(group)
    membership = Membership.objects.get(group=group, user=person)
    set_role(membership=membership, by=shop_owner(group.shop), role=role)
    return person


def rule(shop, role, kind, rate):
    return save_rule(
        shop=shop, by=shop_owner(shop), data=RuleInput(role=role, enabled=True, kind=kind, rate=Decimal(rate))
    )


@pytest.fixture
def scene(shop, group, sku):
    rule(shop, MemberRole.OWNER, COMMISSION, "2.00")  # 2 % of the order
    rule(shop, MemberRole.ADMIN, POINTS, "10.00")  # 10 points per yuan
    return steward(group, MemberRole.OWNER), steward(group, MemberRole.ADMIN), make_buyer(group)


def rewards_of(order):
    return {(r.steward_id, r.kind, r.amount, r.status) for r in StewardReward.objects.filter(order=order)}


def test_owner_and_admin_are_rewarded_for_a_members_paid_order_in_their_group(scene, group, sku, transport):
    owner, admin, buyer = scene
    order = paid_order(buyer, group, sku, transport)  # 39.90
    assert rewards_of(order) == {
        (owner.pk, COMMISSION, Decimal("0.80"), StewardRewardStatus.PENDING),  # 2 % of 39.90 = 0.798
        (admin.pk, POINTS, Decimal("399.00"), StewardRewardStatus.PENDING),
    }
    reward = StewardReward.objects.get(order=order, steward=owner)
    assert reward.group == group and reward.role == MemberRole.OWNER
    assert timedelta(days=6, hours=23) < reward.due_at - timezone.now() <= timedelta(days=7)


def test_plain_members_and_another_groups_stewards_get_nothing(scene, shop, group, sku, transport):
    other_group = GroupFactory(shop=shop)
    other_owner = steward(other_group, MemberRole.OWNER)
    core = steward(group, MemberRole.CORE)
    _owner, _admin, buyer = scene
    order = paid_order(buyer, group, sku, transport)
    assert {r.steward_id for r in StewardReward.objects.filter(order=order)}.isdisjoint({other_owner.pk, core.pk})
    # the other group's order rewards only its own owner
    other_order = paid_order(make_buyer(other_group), other_group, sku, transport)
    assert [r.steward_id for r in StewardReward.objects.filter(order=other_order)] == [other_owner.pk]


def test_a_steward_is_not_rewarded_for_their_own_order(scene, group, sku, transport):
    owner, admin, _buyer = scene
    order = paid_order(owner, group, sku, transport)
    assert [r.steward_id for r in StewardReward.objects.filter(order=order)] == [admin.pk]


def test_the_shops_staff_as_stewards_earn_nothing(scene, shop, group, sku, transport):
    owner, admin, buyer = scene
    OperatorFactory(shop=shop, user=owner, role=OperatorRole.VIEWER)
    OperatorFactory(shop=ShopFactory(), user=admin, role=OperatorRole.OWNER)  # staff elsewhere: still a member here
    order = paid_order(buyer, group, sku, transport)
    assert [r.steward_id for r in StewardReward.objects.filter(order=order)] == [admin.pk]


def test_no_rule_no_reward_and_a_switched_off_role_stops(shop, group, sku, transport):
    owner = steward(group, MemberRole.OWNER)
    assert not StewardReward.objects.filter(order=paid_order(make_buyer(group), group, sku, transport)).exists()
    rule(shop, MemberRole.OWNER, COMMISSION, "5.00")
    save_rule(shop=shop, by=shop_owner(shop), data=RuleInput(role=MemberRole.OWNER, enabled=False))
    assert not StewardRule.objects.filter(shop=shop, is_active=True).exists()
    assert not StewardReward.objects.filter(steward=owner).exists()


def test_grant_credits_commission_and_points_once(scene, shop, group, sku, transport):
    owner, admin, buyer = scene
    order = paid_order(buyer, group, sku, transport)
    assert grant_due_rewards() == 0  # still in review
    assert grant_due_rewards(now=timezone.now() + LATER) == 2
    assert grant_due_rewards(now=timezone.now() + LATER) == 0  # nothing granted twice
    assert {r[3] for r in rewards_of(order)} == {StewardRewardStatus.GRANTED}
    assert CommissionAccount.objects.get(shop=shop, member=owner).balance == Decimal("0.80")
    assert PointsAccount.objects.get(shop=shop, member=admin).balance == 399
    assert CommissionEntry.objects.filter(key__startswith="steward:").count() == 1
    assert PointsEntry.objects.filter(key__startswith="steward:").count() == 1


def test_the_periodic_grant_task_grants_steward_rewards_too(scene, group, sku, transport):
    from referrals import tasks

    _owner, _admin, buyer = scene
    order = paid_order(buyer, group, sku, transport)
    StewardReward.objects.filter(order=order).update(due_at=timezone.now() - timedelta(minutes=1))
    tasks.grant_due_rewards()
    assert {r[3] for r in rewards_of(order)} == {StewardRewardStatus.GRANTED}


def test_a_full_refund_before_the_grant_reverses_and_after_it_changes_nothing(scene, shop, group, sku, transport):
    owner, _admin, buyer = scene
    refunded = refund(paid_order(buyer, group, sku, transport), shop_owner(shop), transport)
    assert {r[3] for r in rewards_of(refunded)} == {StewardRewardStatus.REVERSED}
    kept = paid_order(buyer, group, sku, transport)
    assert grant_due_rewards(now=timezone.now() + LATER) == 2  # the refunded order's rewards are never granted
    refund(kept, shop_owner(shop), transport)
    assert {r[3] for r in rewards_of(kept)} == {StewardRewardStatus.GRANTED}  # granted stays granted
    assert CommissionAccount.objects.get(shop=shop, member=owner).balance == Decimal("0.80")


def test_a_partial_refund_lowers_the_granted_amount(scene, shop, group, sku, transport):
    owner, admin, buyer = scene
    order = paid_order(buyer, group, sku, transport)
    refund_part(order=order, amount=Decimal("9.90"), key="part:1", reason="差价")
    deliver(transport)
    order.refresh_from_db()
    assert order.refunded_amount == Decimal("9.90")
    assert grant_due_rewards(now=timezone.now() + LATER) == 2
    assert rewards_of(order) == {
        (owner.pk, COMMISSION, Decimal("0.60"), StewardRewardStatus.GRANTED),  # 2 % of 30.00
        (admin.pk, POINTS, Decimal("300.00"), StewardRewardStatus.GRANTED),
    }
    assert CommissionAccount.objects.get(shop=shop, member=owner).balance == Decimal("0.60")
    assert PointsAccount.objects.get(shop=shop, member=admin).balance == 300


def test_a_reward_on_nothing_kept_is_reversed_with_a_reason(scene, group, sku, transport):
    _owner, _admin, buyer = scene
    order = paid_order(buyer, group, sku, transport)
    refund_part(order=order, amount=Decimal("39.90"), key="part:all", reason="差价")
    deliver(transport)
    assert grant_due_rewards(now=timezone.now() + LATER) == 0
    for reward in StewardReward.objects.filter(order=order):
        assert reward.status == StewardRewardStatus.REVERSED and reward.reason and reward.amount == 0
    assert not CommissionEntry.objects.exists() and not PointsEntry.objects.filter(key__startswith="steward:").exists()


def test_the_paid_hook_replayed_rewards_nobody_twice(scene, group, sku, transport):
    _owner, _admin, buyer = scene
    order = paid_order(buyer, group, sku, transport)
    assert stewards.record_order_paid(order) == []
    assert StewardReward.objects.filter(order=order).count() == 2


# --- Rules: validation and audit ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "kind, rate, message",
    [
        (COMMISSION, "0", "大于 0"),
        (COMMISSION, "50.01", "最多 50"),
        (POINTS, "1000.01", "最多给 1000"),
        (COMMISSION, None, "大于 0"),
        ("cash", "1", "佣金或积分"),
    ],
)
def test_rule_validation_speaks_chinese(kind, rate, message):
    errors = stewards.validate_rule(
        RuleInput(role=MemberRole.OWNER, enabled=True, kind=kind, rate=Decimal(rate) if rate else None)
    )
    assert message in " ".join(errors.values())


def test_a_role_outside_owner_and_admin_is_refused():
    assert "role" in stewards.validate_rule(RuleInput(role=MemberRole.CORE, enabled=False))


def test_rule_changes_are_audited_with_who_made_them(shop, owner):
    save_rule(
        shop=shop, by=owner, data=RuleInput(role=MemberRole.OWNER, enabled=True, kind=COMMISSION, rate=Decimal("2"))
    )
    save_rule(shop=shop, by=owner, data=RuleInput(role=MemberRole.OWNER, enabled=True, kind=POINTS, rate=Decimal("3")))
    entries = AuditEntry.objects.filter(shop=shop, action__startswith="referrals.steward_rule").order_by("pk")
    assert [(e.action, e.actor_id) for e in entries] == [
        ("referrals.steward_rule.create", owner.pk),
        ("referrals.steward_rule.update", owner.pk),
    ]
    assert StewardRule.objects.get(shop=shop, is_active=True).kind == POINTS


# --- Dashboard page ---------------------------------------------------------------------------------------


URL = "/dashboard/referrals/stewards/"


def form_data(**overrides):
    data = {
        "owner-enabled": "on",
        "owner-kind": COMMISSION,
        "owner-rate": "2.50",
        "admin-kind": POINTS,
        "admin-rate": "",
    }
    return data | overrides


def test_owner_edits_the_rules_on_the_page(client, shop, owner):
    assert reverse("dashboard:referral_stewards") == URL
    client.force_login(owner)
    response = client.post(URL, form_data())
    assert response.status_code == 302
    assert [
        (r.role, r.kind, r.rate, r.updated_by_id) for r in StewardRule.objects.filter(shop=shop, is_active=True)
    ] == [(MemberRole.OWNER, COMMISSION, Decimal("2.50"), owner.pk)]


def test_the_page_refuses_bad_input_in_chinese_and_saves_nothing(client, shop, owner):
    client.force_login(owner)
    response = client.post(URL, form_data(**{"owner-rate": "80", "admin-enabled": "on", "admin-rate": "abc"}))
    assert response.status_code == 400
    body = response.content.decode()
    assert "佣金比例最多 50.00%" in body and "请输入数字" in body
    assert not StewardRule.objects.exists()


@pytest.mark.parametrize("role", [OperatorRole.VIEWER, OperatorRole.OPERATOR])
def test_staff_below_owner_read_the_page_but_cannot_write(client, shop, role):
    user = OperatorFactory(shop=shop, role=role).user
    client.force_login(user)
    assert client.get(URL).status_code == 200
    assert client.post(URL, form_data()).status_code == 403
    assert not StewardRule.objects.exists()


def test_the_page_lists_only_the_shops_rewards_in_constant_queries(client, scene, shop, group, sku, transport, owner):
    client.force_login(owner)
    paid_order(scene[2], group, sku, transport)
    other = ShopFactory()
    other_group = GroupFactory(shop=other)
    rule(other, MemberRole.OWNER, COMMISSION, "3.00")
    steward(other_group, MemberRole.OWNER)
    other_order = paid_order(make_buyer(other_group), other_group, SkuFactory(product__shop=other), transport)
    with CaptureQueriesContext(connection) as few:
        response = client.get(URL)
    assert response.status_code == 200 and other_order.number not in response.content.decode()
    for _ in range(3):
        paid_order(make_buyer(group), group, sku, transport)
    with CaptureQueriesContext(connection) as more:
        response = client.get(URL)
    assert response.content.decode().count("<tr>") >= 8 + 1
    assert len(more) == len(few)


# --- API ----------------------------------------------------------------------------------------------


def api_for(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def test_api_owner_reads_and_sets_rules(shop, owner):
    api = api_for(owner)
    response = api.put(
        "/api/v1/shop/steward-rules/",
        {"role": "admin", "enabled": True, "kind": "points", "rate": "5.00"},
        format="json",
    )
    assert response.status_code == 200, response.content
    assert [(r["role"], r["kind"], r["rate"]) for r in response.json()] == [("admin", "points", "5.00")]
    assert api.get("/api/v1/shop/steward-rules/").json() == response.json()
    bad = api.put(
        "/api/v1/shop/steward-rules/",
        {"role": "admin", "enabled": True, "kind": "commission", "rate": "60"},
        format="json",
    )
    assert bad.status_code == 400 and "50" in bad.content.decode()


@pytest.mark.parametrize("role", [OperatorRole.VIEWER, OperatorRole.OPERATOR])
def test_api_staff_below_owner_read_but_cannot_set_rules(shop, role):
    api = api_for(OperatorFactory(shop=shop, role=role).user)
    assert api.get("/api/v1/shop/steward-rules/").status_code == 200
    body = {"role": "owner", "enabled": True, "kind": "commission", "rate": "1.00"}
    assert api.put("/api/v1/shop/steward-rules/", body, format="json").status_code == 403
    assert not StewardRule.objects.exists()


def test_api_rewards_are_the_shops_own(scene, shop, group, sku, transport, owner):
    order = paid_order(scene[2], group, sku, transport)
    response = api_for(owner).get("/api/v1/shop/steward-rewards/")
    assert response.status_code == 200
    assert {row["order_number"] for row in response.json()["results"]} == {order.number}
    other_owner = OperatorFactory(shop=ShopFactory(), role=OperatorRole.OWNER).user
    assert api_for(other_owner).get("/api/v1/shop/steward-rewards/").json()["results"] == []
    assert api_for(scene[2]).get("/api/v1/shop/steward-rewards/").status_code == 403  # a member has no seat
    assert api_for(owner).get("/api/v1/shop/steward-rewards/?status=nope").status_code == 400
