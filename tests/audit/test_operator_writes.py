"""Every operator write has an author: each service in OPERATOR_WRITES requires `by` (keyword-only, no
default) and records exactly one audit entry, with that actor, its action and the changed fields before
and after, in the change's own transaction: when the entry cannot be written the change is not made,
and when the change rolls back its entry goes too.

A case below sets a service up in a fresh shop and says what the entry must hold; `done` reads the
database to tell whether the change was made.
"""

import importlib
import inspect
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import time, timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import IntegrityError, transaction
from django.test import Client
from django.utils import timezone

from campaigns import services as campaign_services
from campaigns.models import Campaign, CampaignState
from groups import enforcement
from groups import jobs as group_jobs
from groups import services as group_services
from groups.jobs import AUTOMATION_FIELDS, AUTOMATION_LIMITS
from groups.models import (
    AutomationSettings,
    Channel,
    Group,
    GroupSeries,
    GroupState,
    InviteLink,
    MemberRole,
    Membership,
    MembershipStatus,
    MemberWarning,
    Threshold,
    WarningAppeal,
)
from notifications import services as notification_services
from notifications.models import Delivery, Notification, NotificationSettings
from orders import catalog
from orders import services as order_services
from orders.models import (
    AfterSalesCase,
    CaseState,
    Order,
    OrderState,
    PaymentAccount,
    PickupPoint,
    Product,
    ProductImage,
    Refund,
    Sku,
)
from orders.payment_accounts import save_payment_account
from referrals import fraud
from referrals import services as referral_services
from referrals.fraud_models import FlagKind, FlagStatus, FraudFlag, FraudSettings
from referrals.models import (
    BindingRule,
    CampaignReferralRule,
    ReferralSettings,
    RewardKind,
    RewardRule,
    WithdrawalRequest,
    WithdrawalStatus,
)
from shops import services as shop_services
from shops.audit import ACTIONS
from shops.models import AuditEntry, Operator, OperatorRole
from tests.builders.campaigns import make_campaign
from tests.builders.orders import DjangoClientTransport, make_buyer, order_for, pay
from tests.factories import (
    GroupFactory,
    InviteLinkFactory,
    OperatorFactory,
    PickupPointFactory,
    ProductFactory,
    SkuFactory,
    TagFactory,
    UserFactory,
)
from tests.orders.dashboard_support import png

from .operator_writes import OPERATOR_WRITES

pytestmark = pytest.mark.django_db


@dataclass
class Case:
    call: Callable[[], Any]
    action: str
    before: dict
    after: dict
    done: Callable[[], bool]
    target: Callable[[], Any] = field(default=lambda: None)  # the object the entry must name
    partial: bool = False  # a creation: `after` names some of the new object's values, not all


CASES: dict[str, Callable[..., Case]] = {}
MADE = object()  # in a case's `after`: a value the call makes (a new id, a file name, a time), not known before


def case(name: str):
    def register(build):
        CASES[name] = build
        return build

    return register


def resolve(name: str):
    module, _, function = name.rpartition(".")
    return getattr(importlib.import_module(module), function)


# --- Shops ----------------------------------------------------------------------------------------


@case("shops.services.update_shop_settings")
def _(shop, by):
    return Case(
        call=lambda: shop_services.update_shop_settings(
            shop=shop, by=by, group_hard_cap=300, default_group_capacity=150, default_rotation_threshold=180
        ),
        action="shop.settings.update",
        before={"group_hard_cap": 350, "default_group_capacity": 200},
        after={"group_hard_cap": 300, "default_group_capacity": 150},
        done=lambda: type(shop.settings).objects.get(shop=shop).group_hard_cap == 300,
        target=lambda: shop.settings,
    )


@case("shops.services.add_operator")
def _(shop, by):
    return Case(
        call=lambda: shop_services.add_operator(shop=shop, by=by, email="new@shop.test", role=OperatorRole.VIEWER),
        action="shop.operator.add",
        before={},
        after={"user": MADE, "role": "viewer"},
        done=lambda: Operator.objects.filter(shop=shop, user__email="new@shop.test").exists(),
        target=lambda: Operator.objects.get(shop=shop, user__email="new@shop.test"),
    )


@case("shops.services.change_operator_role")
def _(shop, by):
    seat = OperatorFactory(shop=shop, role=OperatorRole.VIEWER)
    return Case(
        call=lambda: shop_services.change_operator_role(operator=seat, by=by, role=OperatorRole.OPERATOR),
        action="shop.operator.role",
        before={"role": "viewer"},
        after={"role": "operator"},
        done=lambda: Operator.objects.get(pk=seat.pk).role == OperatorRole.OPERATOR,
        target=lambda: seat,
    )


@case("shops.services.remove_operator")
def _(shop, by):
    seat = OperatorFactory(shop=shop, role=OperatorRole.OPERATOR)
    return Case(
        call=lambda: shop_services.remove_operator(operator=seat, by=by),
        action="shop.operator.remove",
        before={"user": seat.user_id, "role": "operator"},
        after={},
        done=lambda: not Operator.objects.filter(pk=seat.pk).exists(),
        target=lambda: seat,
    )


# --- Payment accounts and catalog -----------------------------------------------------------------


@case("orders.payment_accounts.save_payment_account")
def _(shop, by):
    return Case(
        call=lambda: save_payment_account(
            shop=shop, provider="wechatpay", enabled=False, values={"app_id": "wx1", "api_v3_key": "k" * 32}, by=by
        ),
        action="payments.account.save",
        before={"is_enabled": None},
        after={"is_enabled": False, "app_id": "wx1", "secrets_changed": ["api_v3_key"]},
        done=lambda: PaymentAccount.objects.filter(shop=shop, provider="wechatpay").exists(),
        target=lambda: PaymentAccount.objects.get(shop=shop, provider="wechatpay"),
    )


@case("orders.catalog.save_product")
def _(shop, by):
    product = ProductFactory(shop=shop, name="旧名字", usage_cycle_days=30)
    return Case(
        call=lambda: catalog.save_product(shop=shop, by=by, product=product, name="新名字", usage_cycle_days=14),
        action="catalog.product.update",
        before={"name": "旧名字", "usage_cycle_days": 30},
        after={"name": "新名字", "usage_cycle_days": 14},
        done=lambda: Product.objects.get(pk=product.pk).name == "新名字",
        target=lambda: product,
    )


@case("orders.catalog.add_product_image")
def _(shop, by):
    product = ProductFactory(shop=shop)
    upload = SimpleUploadedFile("rice.png", png(), content_type="image/png")
    return Case(
        call=lambda: catalog.add_product_image(product=product, by=by, upload=upload),
        action="catalog.product.image",
        before={},
        after={"image_added": MADE, "position": 0},
        done=lambda: ProductImage.objects.filter(product=product).exists(),
        target=lambda: product,
    )


@case("orders.catalog.save_sku")
def _(shop, by):
    sku = SkuFactory(product__shop=shop, spec="500g", price=Decimal("39.90"), stock=7)
    return Case(
        call=lambda: catalog.save_sku(product=sku.product, by=by, sku=sku, spec="500g", price=Decimal("35")),
        action="catalog.sku.update",
        before={"price": "39.90"},
        after={"price": "35.00"},
        done=lambda: Sku.objects.get(pk=sku.pk).price == Decimal("35.00"),
        target=lambda: sku,
    )


@case("orders.catalog.adjust_stock")
def _(shop, by):
    sku = SkuFactory(product__shop=shop, stock=7)
    return Case(
        call=lambda: catalog.adjust_stock(sku=sku, by=by, delta=-3),
        action="catalog.stock.adjust",
        before={"stock": 7},
        after={"stock": 4, "delta": -3},
        done=lambda: Sku.objects.get(pk=sku.pk).stock == 4,
        target=lambda: sku,
    )


@case("orders.catalog.save_pickup_point")
def _(shop, by):
    point = PickupPointFactory(shop=shop, name="望京店", address="望京街 1 号")
    return Case(
        call=lambda: catalog.save_pickup_point(shop=shop, by=by, point=point, name="望京店", address="望京街 2 号"),
        action="catalog.pickup_point.update",
        before={"address": "望京街 1 号"},
        after={"address": "望京街 2 号"},
        done=lambda: PickupPoint.objects.get(pk=point.pk).address == "望京街 2 号",
        target=lambda: point,
    )


# --- Referrals ------------------------------------------------------------------------------------


@case("referrals.services.update_referral_settings")
def _(shop, by):
    return Case(
        call=lambda: referral_services.update_referral_settings(shop=shop, by=by, review_days=3),
        action="referrals.settings.update",
        before={"review_days": 7},
        after={"review_days": 3},
        done=lambda: ReferralSettings.objects.filter(shop=shop, review_days=3).exists(),
        target=lambda: ReferralSettings.objects.get(shop=shop),
    )


@case("referrals.services.set_campaign_binding_rule")
def _(shop, by):
    return Case(
        call=lambda: referral_services.set_campaign_binding_rule(
            shop=shop, by=by, campaign_id=42, binding_rule=BindingRule.LATEST_WITHIN_WINDOW, binding_window_days=3
        ),
        action="referrals.binding_rule.set",
        before={},
        after={"binding_rule": BindingRule.LATEST_WITHIN_WINDOW.value, "binding_window_days": 3, "campaign": 42},
        done=lambda: CampaignReferralRule.objects.filter(shop=shop, campaign_id=42).exists(),
        target=lambda: CampaignReferralRule.objects.get(shop=shop, campaign_id=42),
    )


@case("referrals.services.save_reward_rule")
def _(shop, by):
    old = RewardRule.objects.create(shop=shop, kind=RewardKind.POINTS, amount=Decimal("100"))
    data = referral_services.RewardRuleInput(kind=RewardKind.POINTS, amount=Decimal("150"))
    return Case(
        call=lambda: referral_services.save_reward_rule(shop=shop, by=by, data=data),
        action="referrals.reward_rule.update",
        before={"amount": "100.00", "rule": old.pk},
        after={"amount": "150", "rule": MADE},
        done=lambda: RewardRule.objects.filter(shop=shop, is_active=True, amount=150).exists(),
        target=lambda: RewardRule.objects.get(shop=shop, is_active=True),
    )


@case("referrals.services.deactivate_reward_rule")
def _(shop, by):
    rule = RewardRule.objects.create(shop=shop, kind=RewardKind.POINTS, amount=Decimal("100"))
    return Case(
        call=lambda: referral_services.deactivate_reward_rule(rule=rule, by=by),
        action="referrals.reward_rule.deactivate",
        before={"is_active": True},
        after={"is_active": False},
        done=lambda: not RewardRule.objects.get(pk=rule.pk).is_active,
        target=lambda: rule,
    )


def _withdrawal(shop, status):
    return WithdrawalRequest.objects.create(
        shop=shop, member=UserFactory(), amount=Decimal("20.00"), account_note="wx", status=status
    )


@case("referrals.services.approve_withdrawal")
def _(shop, by):
    w = _withdrawal(shop, WithdrawalStatus.REQUESTED)
    return Case(
        call=lambda: referral_services.approve_withdrawal(withdrawal=w, by=by, note="好"),
        action="referrals.withdrawal.approve",
        before={"status": "requested"},
        after={"status": "approved", "amount": "20.00", "decision_note": "好"},
        done=lambda: WithdrawalRequest.objects.get(pk=w.pk).status == WithdrawalStatus.APPROVED,
        target=lambda: w,
    )


@case("referrals.services.reject_withdrawal")
def _(shop, by):
    w = _withdrawal(shop, WithdrawalStatus.REQUESTED)
    return Case(
        call=lambda: referral_services.reject_withdrawal(withdrawal=w, by=by, note="账号有误"),
        action="referrals.withdrawal.reject",
        before={"status": "requested"},
        after={"status": "rejected", "amount": "20.00", "decision_note": "账号有误"},
        done=lambda: WithdrawalRequest.objects.get(pk=w.pk).status == WithdrawalStatus.REJECTED,
        target=lambda: w,
    )


@case("referrals.services.mark_withdrawal_paid")
def _(shop, by):
    w = _withdrawal(shop, WithdrawalStatus.APPROVED)
    return Case(
        call=lambda: referral_services.mark_withdrawal_paid(withdrawal=w, by=by, payout_reference="T1"),
        action="referrals.withdrawal.paid",
        before={"status": "approved"},
        after={"status": "paid", "amount": "20.00", "payout_reference": "T1"},
        done=lambda: WithdrawalRequest.objects.get(pk=w.pk).status == WithdrawalStatus.PAID,
        target=lambda: w,
    )


# --- Fraud review and messages ---------------------------------------------------------------------


@case("referrals.fraud.update_fraud_settings")
def _(shop, by):
    return Case(
        call=lambda: fraud.update_fraud_settings(shop=shop, by=by, burst_limit_per_day=5),
        action="fraud.settings.update",
        before={"burst_limit_per_day": FraudSettings._meta.get_field("burst_limit_per_day").default},
        after={"burst_limit_per_day": 5},
        done=lambda: FraudSettings.objects.filter(shop=shop, burst_limit_per_day=5).exists(),
        target=lambda: FraudSettings.objects.get(shop=shop),
    )


def _flag(shop):
    return FraudFlag.objects.create(
        shop=shop, kind=FlagKind.BURST, subject="user:1", deadline=timezone.now() + timedelta(days=2)
    )


def _flag_case(shop, by, call, status):
    flag = _flag(shop)
    return Case(
        call=lambda: call(flag),
        action="fraud.flag.confirm" if status == FlagStatus.CONFIRMED else "fraud.flag.clear",
        before={"status": "open"},
        after={"status": status.value, "reason": "核实", "voided": 0},
        done=lambda: FraudFlag.objects.get(pk=flag.pk).status == status,
        target=lambda: flag,
    )


@case("referrals.fraud.decide")
def _(shop, by):
    return _flag_case(
        shop, by, lambda flag: fraud.decide(flag=flag, action="confirm", by=by, reason="核实"), FlagStatus.CONFIRMED
    )


@case("referrals.fraud.confirm_flag")
def _(shop, by):
    return _flag_case(shop, by, lambda flag: fraud.confirm_flag(flag=flag, by=by, reason="核实"), FlagStatus.CONFIRMED)


@case("referrals.fraud.clear_flag")
def _(shop, by):
    return _flag_case(shop, by, lambda flag: fraud.clear_flag(flag=flag, by=by, reason="核实"), FlagStatus.CLEARED)


@case("notifications.services.update_settings")
def _(shop, by):
    return Case(
        call=lambda: notification_services.update_settings(
            shop=shop, by=by, daily_cap=2, weekly_cap=5, quiet_start=time(21), quiet_end=time(9)
        ),
        action="notifications.settings.update",
        before={},  # the shop never changed them: no row yet
        after={
            "daily_cap": 2,
            "weekly_cap": 5,
            "quiet_start": "21:00:00",
            "quiet_end": "09:00:00",
            "wechat_fallback": MADE,
        },
        done=lambda: NotificationSettings.objects.filter(shop=shop, daily_cap=2).exists(),
        target=lambda: NotificationSettings.objects.get(shop=shop),
    )


@case("notifications.services.retry_delivery")
def _(shop, by):
    notification = Notification.objects.create(
        shop=shop, user=UserFactory(), category="transactional", kind="order_paid", key="audit-retry", title="付款成功"
    )
    delivery = Delivery.objects.create(
        notification=notification, channel="sms", state="failed", attempts=5, last_error="网关超时"
    )
    return Case(
        call=lambda: notification_services.retry_delivery(delivery=delivery, by=by),
        action="notifications.delivery.retry",
        before={"state": "failed", "attempts": 5, "last_error": "网关超时"},
        after={"state": "queued", "attempts": 0, "last_error": ""},
        done=lambda: Delivery.objects.get(pk=delivery.pk).state == "queued",
        target=lambda: delivery,
    )


# --- Orders: cancel, ship, refunds, after-sales ---------------------------------------------------


def _order(shop, *, paid: bool):
    group = GroupFactory(shop=shop)
    order = order_for(make_buyer(group), group, SkuFactory(product__shop=shop))
    if paid:
        pay(order, DjangoClientTransport(Client()))
    return order


def _state(order) -> str:
    return Order.objects.get(pk=order.pk).state


@case("orders.services.cancel_order")
def _(shop, by):
    order = _order(shop, paid=False)
    return Case(
        call=lambda: order_services.cancel_order(order=order, by=by, reason="缺货"),
        action="order.cancel",
        before={"state": "pending_payment"},
        after={"state": "cancelled", "reason": "缺货"},
        done=lambda: _state(order) == OrderState.CANCELLED,
        target=lambda: order,
    )


@case("orders.services.ship_order")
def _(shop, by):
    order = _order(shop, paid=True)
    return Case(
        call=lambda: order_services.ship_order(order=order, by=by, tracking_number="SF1"),
        action="order.ship",
        before={"state": "paid"},
        after={"state": "shipped", "tracking_number": "SF1"},
        done=lambda: _state(order) == OrderState.SHIPPED,
        target=lambda: order,
    )


def _refund_requested(shop):
    order = _order(shop, paid=True)
    order_services.request_refund(order=order, by=order.member, reason="不想要了")
    return order


@case("orders.services.reject_refund")
def _(shop, by):
    order = _refund_requested(shop)
    return Case(
        call=lambda: order_services.reject_refund(order=order, by=by, reason="已发货"),
        action="order.refund.reject",
        before={"state": "refund_requested"},
        after={"state": "refund_rejected", "reason": "已发货"},
        done=lambda: _state(order) == OrderState.REFUND_REJECTED,
        target=lambda: order,
    )


@case("orders.services.approve_refund")
def _(shop, by):
    order = _refund_requested(shop)
    return Case(
        call=lambda: order_services.approve_refund(order=order, by=by, reason="同意"),
        action="order.refund.approve",
        before={},
        after={"refund": str(order.total), "reason": "同意"},
        done=lambda: Refund.objects.filter(order=order).exists(),
        target=lambda: order,
    )


@case("orders.services.refund_order")
def _(shop, by):
    order = _order(shop, paid=True)
    return Case(
        call=lambda: order_services.refund_order(order=order, by=by, reason="质量问题"),
        action="order.refund",
        before={"state": "paid"},
        after={"state": "refund_requested", "refund": str(order.total), "reason": "质量问题"},
        done=lambda: Refund.objects.filter(order=order).exists(),
        target=lambda: order,
    )


@case("orders.services.close_case")
def _(shop, by):
    order = _order(shop, paid=True)
    after_sales = order_services.open_case(order=order, member=order.member, reason="坏了")
    return Case(
        call=lambda: order_services.close_case(case=after_sales, by=by, resolution="已补发"),
        action="order.case.close",
        before={"state": "open"},
        after={"state": "resolved", "resolution": "已补发"},
        done=lambda: AfterSalesCase.objects.get(pk=after_sales.pk).state == CaseState.RESOLVED,
        target=lambda: after_sales,
    )


# --- Groups, members and links ---------------------------------------------------------------------


def _membership(shop, *, threshold=Threshold.OPEN):
    group = GroupFactory(shop=shop, threshold=threshold)
    link = InviteLinkFactory(group=group)
    return group_services.join_via_link(user=UserFactory(), code=link.code, answer="我是宝妈")


def _status(m) -> str:
    return Membership.objects.get(pk=m.pk).status


@case("groups.jobs.update_automation_settings")
def _(shop, by):
    values = {name: AUTOMATION_LIMITS[name][0] for name in AUTOMATION_LIMITS} | {"lurker_follow_up_enabled": False}
    assert set(values) == set(AUTOMATION_FIELDS)
    return Case(
        call=lambda: group_jobs.update_automation_settings(shop_id=shop.pk, by=by, **values),
        action="groups.automation.update",
        before={},  # the shop never changed them: no row yet
        after=values,
        done=lambda: AutomationSettings.objects.filter(shop=shop).exists(),
        target=lambda: AutomationSettings.objects.get(shop=shop),
    )


@case("groups.services.add_member")
def _(shop, by):
    group, user = GroupFactory(shop=shop), UserFactory()
    return Case(
        call=lambda: group_services.add_member(group=group, user=user, by=by),
        action="group.member.add",
        before={},
        after={"status": "active", "role": "member"},
        done=lambda: Membership.objects.filter(group=group, user=user, status=MembershipStatus.ACTIVE).exists(),
        target=lambda: Membership.objects.get(group=group, user=user),
    )


@case("groups.services.approve")
def _(shop, by):
    m = _membership(shop, threshold=Threshold.APPROVAL)
    return Case(
        call=lambda: group_services.approve(membership=m, by=by),
        action="group.member.approve",
        before={"status": "pending"},
        after={"status": "active"},
        done=lambda: _status(m) == MembershipStatus.ACTIVE,
        target=lambda: m,
    )


@case("groups.services.reject")
def _(shop, by):
    m = _membership(shop, threshold=Threshold.APPROVAL)
    return Case(
        call=lambda: group_services.reject(membership=m, by=by, reason="不符合"),
        action="group.member.reject",
        before={"status": "pending"},
        after={"status": "rejected", "reason": "不符合"},
        done=lambda: _status(m) == MembershipStatus.REJECTED,
        target=lambda: m,
    )


@case("groups.services.remove")
def _(shop, by):
    m = _membership(shop)
    return Case(
        call=lambda: group_services.remove(membership=m, by=by, reason="发广告"),
        action="group.member.remove",
        before={"status": "active"},
        after={"status": "removed", "reason": "发广告"},
        done=lambda: _status(m) == MembershipStatus.REMOVED,
        target=lambda: m,
    )


@case("groups.enforcement.approve")
def _(shop, by):
    m = _membership(shop, threshold=Threshold.APPROVAL)
    return Case(
        call=lambda: enforcement.approve(membership=m, by=by),
        action="group.member.approve",
        before={"status": "pending"},
        after={"status": "active"},
        done=lambda: _status(m) == MembershipStatus.ACTIVE,
        target=lambda: m,
    )


@case("groups.enforcement.reject")
def _(shop, by):
    m = _membership(shop, threshold=Threshold.APPROVAL)
    return Case(
        call=lambda: enforcement.reject(membership=m, by=by, reason="不符合"),
        action="group.member.reject",
        before={"status": "pending"},
        after={"status": "rejected", "reason": "不符合"},
        done=lambda: _status(m) == MembershipStatus.REJECTED,
        target=lambda: m,
    )


@case("groups.enforcement.warn")
def _(shop, by):
    m = _membership(shop)
    return Case(
        call=lambda: enforcement.warn(membership=m, by=by, rule="不发广告"),
        action="group.member.warn",
        before={},
        after={"rule": "不发广告", "count": 1, "limit": 3, "removed": False},
        done=lambda: MemberWarning.objects.filter(membership=m).exists(),
        target=lambda: MemberWarning.objects.get(membership=m),
    )


@case("groups.enforcement.remove")
def _(shop, by):
    m = _membership(shop)
    return Case(
        call=lambda: enforcement.remove(membership=m, by=by, reason="发广告"),
        action="group.member.remove",
        before={"status": "active"},
        after={"status": "removed", "reason": "发广告"},
        done=lambda: _status(m) == MembershipStatus.REMOVED,
        target=lambda: m,
    )


@case("groups.enforcement.decide_appeal")
def _(shop, by):
    m = _membership(shop)
    warning = MemberWarning.objects.create(group=m.group, membership=m, member=m.user, rule="不发广告", by=by)
    appeal = WarningAppeal.objects.create(warning=warning, shop=shop, text="误会")
    return Case(
        call=lambda: enforcement.decide_appeal(appeal=appeal, by=by, withdraw=True, note="确是误会"),
        action="group.warning.appeal.decide",
        before={"state": "open"},
        after={"state": "withdrawn", "decision_note": "确是误会"},
        done=lambda: WarningAppeal.objects.get(pk=appeal.pk).state == "withdrawn",
        target=lambda: appeal,
    )


@case("groups.services.ban")
def _(shop, by):
    m = _membership(shop)
    return Case(
        call=lambda: group_services.ban(membership=m, by=by, reason="骚扰"),
        action="group.member.ban",
        before={"status": "active"},
        after={"status": "banned", "reason": "骚扰"},
        done=lambda: _status(m) == MembershipStatus.BANNED,
        target=lambda: m,
    )


@case("groups.services.unban")
def _(shop, by):
    m = _membership(shop)
    Membership.objects.filter(pk=m.pk).update(status=MembershipStatus.BANNED)
    return Case(
        call=lambda: group_services.unban(membership=m, by=by),
        action="group.member.unban",
        before={"status": "banned"},
        after={"status": "removed"},
        done=lambda: _status(m) == MembershipStatus.REMOVED,
        target=lambda: m,
    )


@case("groups.services.set_role")
def _(shop, by):
    m = _membership(shop)
    return Case(
        call=lambda: group_services.set_role(membership=m, by=by, role=MemberRole.ADMIN),
        action="group.member.role",
        before={"role": "member"},
        after={"role": "admin"},
        done=lambda: Membership.objects.get(pk=m.pk).role == MemberRole.ADMIN,
        target=lambda: m,
    )


@case("groups.services.set_member_tags")
def _(shop, by):
    m, tag = _membership(shop), TagFactory(shop=shop)
    return Case(
        call=lambda: group_services.set_member_tags(membership=m, by=by, tags=[tag]),
        action="group.member.tags",
        before={"tags": []},
        after={"tags": [tag.pk]},
        done=lambda: Membership.objects.get(pk=m.pk).tags.filter(pk=tag.pk).exists(),
        target=lambda: m,
    )


@case("groups.services.create_group")
def _(shop, by):
    return Case(
        call=lambda: group_services.create_group(shop=shop, by=by, name="新手妈妈群", capacity=100),
        action="group.create",
        before={},
        after={"name": "新手妈妈群", "capacity": 100, "owner": None},
        partial=True,
        done=lambda: Group.objects.filter(shop=shop, name="新手妈妈群").exists(),
        target=lambda: Group.objects.get(shop=shop, name="新手妈妈群"),
    )


def _settings_of(group) -> dict:
    return {k: getattr(group, k) for k in ("capacity", "threshold", "entry_price", "entry_question")}


@case("groups.services.update_group")
def _(shop, by):
    group = GroupFactory(shop=shop, name="旧群名", capacity=200)
    values = _settings_of(group) | {"capacity": 150}
    return Case(
        call=lambda: group_services.update_group(group=group, by=by, name="新群名", tags=[], **values),
        action="group.update",
        before={"name": "旧群名", "capacity": 200},
        after={"name": "新群名", "capacity": 150},
        done=lambda: Group.objects.get(pk=group.pk).name == "新群名",
        target=lambda: group,
    )


@case("groups.services.move_group")
def _(shop, by):
    group = GroupFactory(shop=shop, state=GroupState.ACTIVE)
    return Case(
        call=lambda: group_services.move_group(group=group, by=by, to_state=GroupState.COOLING, reason="淡季"),
        action="group.transition",
        before={"state": "active"},
        after={"state": "cooling", "reason": "淡季"},
        done=lambda: Group.objects.get(pk=group.pk).state == GroupState.COOLING,
        target=lambda: group,
    )


@case("groups.services.create_series")
def _(shop, by):
    return Case(
        call=lambda: group_services.create_series(shop=shop, by=by, name="护肤交流", capacity=100),
        action="group.series.create",
        before={},
        after={"name": "护肤交流", "capacity": 100, "rotation_threshold": 100},
        partial=True,
        done=lambda: GroupSeries.objects.filter(shop=shop, name="护肤交流").exists(),
        target=lambda: GroupSeries.objects.get(shop=shop, name="护肤交流"),
    )


@case("groups.services.create_link")
def _(shop, by):
    group = GroupFactory(shop=shop)
    options = group_services.LinkOptions(channel=Channel.POSTER, label="门店海报", max_uses=50)
    return Case(
        call=lambda: group_services.create_link(shop=shop, by=by, inviter=by, group=group, options=options),
        action="group.link.create",
        before={},
        after={
            "group": group.pk,
            "series": None,
            "inviter": by.pk,
            "channel": "poster",
            "label": "门店海报",
            "expires_at": None,
            "max_uses": 50,
        },
        done=lambda: InviteLink.objects.filter(group=group, label="门店海报").exists(),
        target=lambda: InviteLink.objects.get(group=group, label="门店海报"),
    )


@case("groups.services.revoke_link")
def _(shop, by):
    link = InviteLinkFactory(group=GroupFactory(shop=shop))
    return Case(
        call=lambda: group_services.revoke_link(link=link, by=by),
        action="group.link.revoke",
        before={"revoked_at": None},
        after={"revoked_at": MADE},
        done=lambda: InviteLink.objects.get(pk=link.pk).revoked_at is not None,
        target=lambda: link,
    )


# --- Campaigns ------------------------------------------------------------------------------------


def _campaign(shop, **fields):
    sku = SkuFactory(product__shop=shop, price=Decimal("59.90"), stock=50)
    return make_campaign(shop, sku, owner=None, **fields)


def _campaign_state(campaign) -> str:
    return Campaign.objects.get(pk=campaign.pk).state


@case("campaigns.services.create_campaign")
def _(shop, by):
    sku = SkuFactory(product__shop=shop, price=Decimal("59.90"), stock=50)
    return Case(
        call=lambda: make_campaign(shop, sku, owner=by, run=False, name="三人团 新米"),
        action="campaign.create",
        before={},
        after={"name": "三人团 新米", "sku": sku.pk, "per_member_limit": None},
        done=lambda: Campaign.objects.filter(shop=shop, name="三人团 新米").exists(),
        target=lambda: Campaign.objects.get(shop=shop, name="三人团 新米"),
        partial=True,
    )


@case("campaigns.services.update_campaign")
def _(shop, by):
    campaign = _campaign(shop, run=False, name="旧活动名")
    return Case(
        call=lambda: campaign_services.update_campaign(campaign=campaign, by=by, name="新活动名"),
        action="campaign.update",
        before={"name": "旧活动名"},
        after={"name": "新活动名"},
        done=lambda: Campaign.objects.get(pk=campaign.pk).name == "新活动名",
        target=lambda: campaign,
    )


@case("campaigns.services.schedule_campaign")
def _(shop, by):
    campaign = _campaign(shop, run=False)
    return Case(
        call=lambda: campaign_services.schedule_campaign(campaign=campaign, by=by),
        action="campaign.schedule",
        before={"state": "draft"},
        after={"state": "running"},  # its start had come: it starts at once
        done=lambda: _campaign_state(campaign) == CampaignState.RUNNING,
        target=lambda: campaign,
    )


@case("campaigns.services.launch_campaign")
def _(shop, by):
    campaign = _campaign(shop, run=False, starts_at=timezone.now() + timedelta(days=1))
    at = timezone.now() + timedelta(hours=2)
    return Case(
        call=lambda: campaign_services.launch_campaign(campaign=campaign, by=by, starts_at=at),
        action="campaign.launch",
        before={"state": "draft", "starts_at": campaign.starts_at.isoformat()},
        after={"state": "scheduled", "starts_at": at.isoformat()},
        done=lambda: _campaign_state(campaign) == CampaignState.SCHEDULED,
        target=lambda: campaign,
    )


@case("campaigns.services.unschedule_campaign")
def _(shop, by):
    campaign = _campaign(shop, starts_at=timezone.now() + timedelta(days=1))
    return Case(
        call=lambda: campaign_services.unschedule_campaign(campaign=campaign, by=by),
        action="campaign.unschedule",
        before={"state": "scheduled"},
        after={"state": "draft"},
        done=lambda: _campaign_state(campaign) == CampaignState.DRAFT,
        target=lambda: campaign,
    )


@case("campaigns.services.cancel_campaign")
def _(shop, by):
    campaign = _campaign(shop)
    return Case(
        call=lambda: campaign_services.cancel_campaign(campaign=campaign, by=by, reason="停售"),
        action="campaign.cancel",
        before={"state": "running"},
        after={"state": "cancelled", "reason": "停售"},
        done=lambda: _campaign_state(campaign) == CampaignState.CANCELLED,
        target=lambda: campaign,
    )


# --- The walk -------------------------------------------------------------------------------------


@pytest.fixture
def actor(shop):
    return OperatorFactory(shop=shop, role=OperatorRole.OWNER).user


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


def test_the_list_and_the_cases_match():
    assert len(set(OPERATOR_WRITES)) == len(OPERATOR_WRITES)
    assert set(CASES) == set(OPERATOR_WRITES)


@pytest.mark.parametrize("name", OPERATOR_WRITES)
def test_the_service_requires_by_as_a_keyword(name):
    by = inspect.signature(resolve(name)).parameters.get("by")
    assert by is not None, f"{name} takes no `by`"
    assert by.kind is inspect.Parameter.KEYWORD_ONLY, f"{name}: `by` must be keyword-only"
    assert by.default is inspect.Parameter.empty, f"{name}: `by` must be required (no default)"


@pytest.mark.parametrize("name", OPERATOR_WRITES)
def test_the_service_records_one_entry_with_its_author(name, shop, actor):
    UserFactory()  # someone else exists: the entry must name the actor, not just any user
    scenario = CASES[name](shop, actor)
    assert scenario.action in ACTIONS
    last = AuditEntry.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
    scenario.call()
    assert scenario.done()
    entries = list(AuditEntry.objects.filter(pk__gt=last))
    assert len(entries) == 1, f"{name} wrote {len(entries)} audit entries"
    entry = entries[0]
    assert (entry.shop_id, entry.actor_id, entry.action) == (shop.pk, actor.pk, scenario.action)
    assert entry.actor_name == actor.public_name
    target = scenario.target()
    assert (entry.target_type.model_class(), entry.target_id) == (type(target), target.pk)
    assert entry.target_label
    assert entry.before == scenario.before
    if scenario.partial:
        assert all(entry.after.get(k) == v for k, v in scenario.after.items()), entry.after
        return
    # MADE in a case's `after` stands for a value made by the call (a new id, a stored file's name, a time).
    made = [k for k, v in scenario.after.items() if v is MADE]
    assert all(entry.after.get(k) not in (None, "") for k in made), entry.after
    assert entry.after == {k: entry.after.get(k) if k in made else v for k, v in scenario.after.items()}


@pytest.mark.parametrize("name", OPERATOR_WRITES)
def test_without_its_entry_the_change_is_not_made(name, shop, actor, monkeypatch):
    """The entry is written inside the service's transaction: when it fails, the change rolls back."""
    scenario = CASES[name](shop, actor)

    def refuse(**values):
        raise IntegrityError("the audit log refused the entry")

    last = AuditEntry.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
    monkeypatch.setattr(AuditEntry.objects, "create", refuse)
    with pytest.raises(IntegrityError):
        scenario.call()
    assert not scenario.done(), f"{name} made its change without its audit entry"
    assert not AuditEntry.objects.filter(pk__gt=last).exists()


class Refused(Exception):
    """What a caller raises after the service returned, inside the same transaction."""


@pytest.mark.parametrize("name", OPERATOR_WRITES)
def test_when_the_change_rolls_back_so_does_its_entry(name, shop, actor):
    """The entry is no side channel (another connection, an after-commit task): it goes with the change."""
    scenario = CASES[name](shop, actor)
    last = AuditEntry.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
    with pytest.raises(Refused), transaction.atomic():
        scenario.call()
        assert AuditEntry.objects.filter(pk__gt=last).count() == 1
        raise Refused
    assert not scenario.done()
    assert not AuditEntry.objects.filter(pk__gt=last).exists()
