"""Stewards' rewards (群管奖励): a shop's 群主 and 群管理 earn on their group's sales.

A rule per role (commission: percent of what the order keeps; points: points per yuan it keeps). When an
order is paid, every active owner/admin of the order's group whose role has an active rule gets one pending
reward (once per order and steward: a unique constraint, so a replayed or racing hook rewards nobody
twice; the buyer never rewards themself). After the shop's review period the referral grant job grants it,
recomputing the amount from what the order still keeps (partial refunds lower it); a full refund before
then reverses it. A granted reward stays granted, as referral rewards do.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User
from groups.models import Membership, MembershipStatus
from shops import audit
from shops.models import Shop

from . import points, services
from .models import (
    MAX_STEWARD_COMMISSION_PERCENT,
    MAX_STEWARD_POINTS_PER_YUAN,
    ZERO,
    PointsEntryKind,
    StewardReward,
    StewardRewardKind,
    StewardRewardStatus,
    StewardRole,
    StewardRule,
)

CENT = Decimal("0.01")
FULL_REFUND_REASON = "订单已全额退款"  # stored as a record, like referrals' REFUND_VOID_REASON
NOTHING_KEPT_REASON = "订单已无实付金额"
RULE_FIELDS = ("role", "kind", "rate", "is_active")


# --- Rules ------------------------------------------------------------------------------------------


def active_rules(shop_id: int) -> dict[str, StewardRule]:
    return {rule.role: rule for rule in StewardRule.objects.filter(shop_id=shop_id, is_active=True)}


@dataclass(frozen=True)
class RuleInput:
    role: str
    enabled: bool
    kind: str = StewardRewardKind.COMMISSION
    rate: Decimal | None = None


def validate_rule(data: RuleInput) -> dict[str, str]:
    """Errors by field name (Chinese by default) for one role's rule; empty when it can be saved."""
    errors = {}
    if data.role not in StewardRole.values:
        errors["role"] = _("请选择群主或群管理。")
    if not data.enabled:
        return errors
    if data.kind not in StewardRewardKind.values:
        errors["kind"] = _("请选择奖励类型：佣金或积分。")
        return errors
    rate = data.rate
    if rate is None or rate <= 0 or rate != rate.quantize(CENT):
        errors["rate"] = _("请填写大于 0 的比例（最多两位小数）。")
    elif data.kind == StewardRewardKind.COMMISSION and rate > MAX_STEWARD_COMMISSION_PERCENT:
        errors["rate"] = _("佣金比例最多 %(max)s%%。") % {"max": MAX_STEWARD_COMMISSION_PERCENT}
    elif data.kind == StewardRewardKind.POINTS and rate > MAX_STEWARD_POINTS_PER_YUAN:
        errors["rate"] = _("每元最多给 %(max)s 积分。") % {"max": MAX_STEWARD_POINTS_PER_YUAN}
    return errors


def save_rule(*, shop: Shop, by: User, data: RuleInput) -> StewardRule | None:
    """Make `data` the role's active rule (or switch the role's reward off). The previous rule stops; its
    pending rewards keep it. Audited with who made the change."""
    errors = validate_rule(data)
    if errors:
        raise ValidationError(errors)
    now = timezone.now()
    with transaction.atomic():
        previous = StewardRule.objects.select_for_update().filter(shop=shop, role=data.role, is_active=True).first()
        if previous is not None and data.enabled and (previous.kind, previous.rate) == (data.kind, data.rate):
            return previous  # nothing changes: no new rule, no audit entry
        if previous is None and not data.enabled:
            return None
        if previous is not None:
            StewardRule.objects.filter(pk=previous.pk).update(is_active=False, updated_by=by, updated_at=now)
        rule = None
        if data.enabled:
            rule = StewardRule.objects.create(
                shop=shop, role=data.role, kind=data.kind, rate=data.rate, updated_by=by, updated_at=now
            )
        audit.record(
            shop=shop,
            by=by,
            action="referrals.steward_rule." + ("update" if previous and rule else "create" if rule else "deactivate"),
            target=rule or previous,
            before=audit.snapshot(previous, RULE_FIELDS) if previous else {},
            after=audit.snapshot(rule, RULE_FIELDS) if rule else {"role": data.role, "is_active": False},
        )
        return rule


def save_rules(*, shop: Shop, by: User, rules: list[RuleInput]) -> None:
    """Both roles' rules at once (the dashboard's one form): all saved or none."""
    errors = {f"{data.role}-{field}": message for data in rules for field, message in validate_rule(data).items()}
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        for data in rules:
            save_rule(shop=shop, by=by, data=data)


# --- Amounts ----------------------------------------------------------------------------------------


def kept_amount(order) -> Decimal:
    """What the order keeps: paid minus refunded (a returned duplicate payment cancels its own payment),
    never more than the order's total, never below zero."""
    return max(ZERO, min(order.total, order.paid_amount - order.refunded_amount))


def amount_for(kind: str, rate: Decimal, kept: Decimal) -> Decimal:
    """Commission in yuan (rounded to the cent) or whole points (rounded down) on `kept` yuan."""
    if kind == StewardRewardKind.COMMISSION:
        return (kept * rate / 100).quantize(CENT, rounding=ROUND_HALF_UP)
    return (kept * rate).quantize(Decimal("1"), rounding=ROUND_DOWN)


# --- Paid, refunded ---------------------------------------------------------------------------------


def record_order_paid(order) -> list[StewardReward]:
    """One pending reward per active owner/admin of the order's group whose role has an active rule (the buyer
    excepted, and the shop's own staff: they never earn member rewards). Runs inside the payment's
    transaction (order_paid); a repeat inserts nothing."""
    rules = active_rules(order.shop_id)
    if not rules:
        return []
    stewards = (
        Membership.objects.filter(group_id=order.group_id, status=MembershipStatus.ACTIVE, role__in=list(rules))
        .exclude(user_id=order.member_id)
        .exclude(user__operator_seats__shop_id=order.shop_id)
        .values_list("user_id", "role")
    )
    now = timezone.now()
    due_at = now + timedelta(days=services.referral_settings(order.shop_id).review_days)
    kept = kept_amount(order)
    made = []
    for user_id, role in stewards:
        rule = rules[role]
        reward = StewardReward(
            shop_id=order.shop_id,
            rule=rule,
            steward_id=user_id,
            group_id=order.group_id,
            order=order,
            role=role,
            kind=rule.kind,
            amount=amount_for(rule.kind, rule.rate, kept),
            created_at=now,
            due_at=due_at,
        )
        try:
            with transaction.atomic():  # a savepoint: a duplicate (order, steward) leaves the payment intact
                reward.save(force_insert=True)
        except IntegrityError:
            continue
        made.append(reward)
    return made


def record_order_refunded(order) -> int:
    """A full refund reverses the order's pending steward rewards (each a conditional UPDATE); granted ones
    stay granted."""
    return StewardReward.objects.filter(order=order, status=StewardRewardStatus.PENDING).update(
        status=StewardRewardStatus.REVERSED, closed_at=timezone.now(), reason=FULL_REFUND_REASON
    )


# --- Grant ------------------------------------------------------------------------------------------


def grant_due_rewards(*, now: datetime | None = None, limit: int = 500) -> int:
    """Grant the steward rewards whose review period is over, each in its own transaction: pending → granted
    by a conditional UPDATE (so a concurrent run grants nothing twice), with the amount recomputed from what
    the order keeps now; commission and points are posted once per reward (ledger keys). An order that keeps
    nothing reverses its reward instead."""
    now = now or timezone.now()
    granted = 0
    due = StewardReward.objects.filter(status=StewardRewardStatus.PENDING, due_at__lte=now)
    for reward_id in list(due.order_by("due_at", "pk").values_list("pk", flat=True)[:limit]):
        with transaction.atomic():
            reward = (
                StewardReward.objects.select_related("rule", "order")
                .select_for_update(of=("self",))
                .filter(pk=reward_id, status=StewardRewardStatus.PENDING)
                .first()
            )
            if reward is None:
                continue
            amount = amount_for(reward.kind, reward.rule.rate, kept_amount(reward.order))
            if amount <= 0:
                StewardReward.objects.filter(pk=reward.pk, status=StewardRewardStatus.PENDING).update(
                    status=StewardRewardStatus.REVERSED, amount=ZERO, closed_at=now, reason=NOTHING_KEPT_REASON
                )
                continue
            if (
                StewardReward.objects.filter(pk=reward.pk, status=StewardRewardStatus.PENDING).update(
                    status=StewardRewardStatus.GRANTED, amount=amount, granted_at=now
                )
                != 1
            ):
                continue
            key = f"steward:{reward.pk}"
            if reward.kind == StewardRewardKind.COMMISSION:
                services.credit_commission(
                    shop_id=reward.shop_id, member_id=reward.steward_id, amount=amount, key=key, now=now
                )
            else:
                points.post_points(
                    shop_id=reward.shop_id,
                    member_id=reward.steward_id,
                    points=int(amount),
                    kind=PointsEntryKind.EARN,
                    key=key,
                )
            granted += 1
    return granted


# --- Reads ------------------------------------------------------------------------------------------


def rewards_for_shop(shop, *, status: str | None = None):
    qs = StewardReward.objects.filter(shop=shop).select_related("steward", "group", "order")
    return qs.filter(status=status) if status else qs
