"""Referral points (积分): earned by granted POINTS rewards, spent at checkout through the order's pricing step.

Guarantees, each decided by the database:
- a balance never goes below 0: every debit is one conditional UPDATE (`balance >= n`), a CHECK behind it,
  so two orders spending the same points at once cannot both have them (the second is refused);
- every movement is one PointsEntry under one key per act (`reward:<id>`, `order:<id>:spend`,
  `order:<id>:return`): a reward credits once, an order spends once and gets its points back once.

Checkout: the member chooses how many points to use (choice key "points"); the shop's rate
(ReferralSettings.points_per_yuan, 0 = off) turns them into a discount in whole fen, capped at what is left
to pay, and only the points that discount needs are spent. The pricing receiver writes nothing; the
order_created receiver finds the order's "points:<n>" adjustment and debits; cancel or full refund returns.
"""

from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from orders.models import AdjustmentKind
from orders.pricing import Adjustment, PricingDraft

from .models import PointsAccount, PointsEntry, PointsEntryKind, ReferralSettings, Reward, RewardKind

CHOICE = "points"
SOURCE_PREFIX = "points:"
MAX_POINTS = 10**9
CENT = Decimal("0.01")


def rate_for(shop_id: int) -> int:
    """Points per yuan in the shop (0: points cannot be spent)."""
    rate = ReferralSettings.objects.filter(shop_id=shop_id).values_list("points_per_yuan", flat=True).first()
    return rate or 0


def balance_of(*, shop_id: int, member_id: int) -> int:
    return (
        PointsAccount.objects.filter(shop_id=shop_id, member_id=member_id).values_list("balance", flat=True).first()
        or 0
    )


def discount_for(*, points: int, rate: int, payable: Decimal) -> tuple[Decimal, int]:
    """(discount in yuan, points it takes): the whole fen `points` buy at `rate` points per yuan, at most
    `payable`; the points are the fewest that buy that many fen (never more than offered)."""
    if rate <= 0 or points <= 0 or payable <= 0:
        return Decimal("0.00"), 0
    fen = min(points * 100 // rate, int(payable * 100))
    return (Decimal(fen) / 100).quantize(CENT), -(-fen * rate // 100)


def _account(shop_id: int, member_id: int) -> PointsAccount:
    try:
        with transaction.atomic():
            account, _created = PointsAccount.objects.get_or_create(shop_id=shop_id, member_id=member_id)
            return account
    except IntegrityError:  # made by a concurrent call a moment ago
        return PointsAccount.objects.get(shop_id=shop_id, member_id=member_id)


def _move(account_id: int, points: int) -> bool:
    """Add `points` (negative: take) to the balance if it stays ≥ 0: one conditional UPDATE decides."""
    condition = {"balance__gte": -points} if points < 0 else {}
    return PointsAccount.objects.filter(pk=account_id, **condition).update(balance=F("balance") + points) == 1


def worth_of(*, shop_id: int, points: int) -> Decimal:
    """What `points` are worth at the shop's rate now, in whole fen down (0 while points cannot be spent)."""
    rate = rate_for(shop_id)
    if rate <= 0 or points <= 0:
        return Decimal("0.00")
    return (Decimal(points * 100 // rate) / 100).quantize(CENT)


def post_points(
    *,
    shop_id: int,
    member_id: int,
    points: int,
    kind: str,
    key: str,
    reward: Reward | None = None,
    order=None,
    campaign_id: int | None = None,
) -> PointsEntry | None:
    """Move points in (> 0) or out (< 0), once per key (a repeat returns None and changes nothing); taking
    more than the balance raises ValidationError. Run inside the caller's transaction.

    Points earned record their worth at the shop's rate now and the campaign that gave them (if any): what
    campaign ROI counts as its points cost."""
    account = _account(shop_id, member_id)
    try:
        with transaction.atomic():
            entry = PointsEntry.objects.create(
                account=account,
                kind=kind,
                points=points,
                balance_after=0,
                key=key,
                reward=reward,
                order=order,
                created_at=timezone.now(),
                campaign_id=campaign_id,
                worth=worth_of(shop_id=shop_id, points=points) if kind == PointsEntryKind.EARN else Decimal("0.00"),
            )
    except IntegrityError:
        if PointsEntry.objects.filter(key=key).exists():
            return None
        raise
    if not _move(account.pk, points):
        raise ValidationError({CHOICE: _("积分不足，请刷新后重试。")}, code="points_short")
    entry.balance_after = PointsAccount.objects.values_list("balance", flat=True).get(pk=account.pk)
    PointsEntry.objects.filter(pk=entry.pk).update(balance_after=entry.balance_after)
    return entry


def credit_reward(reward: Reward) -> PointsEntry | None:
    """A granted POINTS reward's whole points go to the inviter's account, once."""
    points = int(reward.amount)
    if reward.kind != RewardKind.POINTS or points <= 0:
        return None
    return post_points(
        shop_id=reward.shop_id,
        member_id=reward.inviter_id,
        points=points,
        kind=PointsEntryKind.EARN,
        key=f"reward:{reward.pk}",
        reward=reward,
        campaign_id=reward.edge.campaign_id,
    )


def _wanted(draft: PricingDraft) -> int:
    raw = (draft.choices.get(CHOICE) or "").strip()
    if not raw or raw == "0":
        return 0
    if not (raw.isascii() and raw.isdigit()) or int(raw) > MAX_POINTS:  # "²".isdigit(), but int("²") fails
        raise ValidationError({CHOICE: _("积分数量必须是正整数。")})
    return int(raw)


def price(draft: PricingDraft) -> list[Adjustment]:
    """order_pricing receiver: the member's points as a discount on what is left to pay (writes nothing)."""
    wanted = _wanted(draft)
    if not wanted:
        return []
    rate = rate_for(draft.shop_id)
    if rate <= 0:
        raise ValidationError({CHOICE: _("本店暂未开启积分抵扣。")})
    balance = balance_of(shop_id=draft.shop_id, member_id=draft.member.pk)
    if wanted > balance:
        raise ValidationError({CHOICE: _("积分不足：你有 %(balance)d 积分。") % {"balance": balance}})
    discount, spent = discount_for(points=wanted, rate=rate, payable=draft.total)
    if spent == 0:
        return []
    return [
        Adjustment(
            AdjustmentKind.POINTS,
            f"{SOURCE_PREFIX}{spent}",
            -discount,
            _("%(points)d 积分抵扣 ¥%(amount)s") % {"points": spent, "amount": discount},
        )
    ]


def options(*, member, group, lines, source: str = "") -> list[dict]:  # noqa: ARG001 (points apply to any order)
    """pricing_options receiver: the member's balance and the most they can use on this order."""
    rate = rate_for(group.shop_id)
    if rate <= 0 or not getattr(member, "is_authenticated", False):
        return []
    balance = balance_of(shop_id=group.shop_id, member_id=member.pk)
    payable = sum((line.line_total for line in lines), start=Decimal("0.00"))
    discount, usable = discount_for(points=balance, rate=rate, payable=payable)
    choices = [("", _("不使用积分"))]
    if usable:
        choices.append(
            (str(usable), _("使用 %(points)d 积分，抵 ¥%(amount)s") % {"points": usable, "amount": discount})
        )
    return [
        {
            "key": CHOICE,
            "label": _("积分抵扣"),
            "choices": choices,
            "initial": "",
            "help": _("你有 %(balance)d 积分，%(rate)d 积分抵 1 元。") % {"balance": balance, "rate": rate}
            + (
                _("本单最多可用 %(points)d 积分，抵 ¥%(amount)s。") % {"points": usable, "amount": discount}
                if usable
                else ""
            ),
            "balance": balance,
            # The member may type any whole number up to this (fewer points, a smaller discount); the
            # pricing receiver checks it again against the balance and what is left to pay.
            "max": usable,
        }
    ]


def spend_for_order(order) -> None:
    """order_created receiver: debit the points the order's points adjustment used (refuses the order when
    they are gone meanwhile: another order spent them first)."""
    source = order.adjustments.filter(kind=AdjustmentKind.POINTS, source__startswith=SOURCE_PREFIX).values_list(
        "source", flat=True
    )
    for found in source:
        post_points(
            shop_id=order.shop_id,
            member_id=order.member_id,
            points=-int(found[len(SOURCE_PREFIX) :]),
            kind=PointsEntryKind.SPEND,
            key=f"order:{order.pk}:spend",
            order=order,
        )


def _spent_and_returned(order) -> tuple[int, int]:
    """(points the order spent, points given back to it so far): one query."""
    spent = returned = 0
    for kind, moved in PointsEntry.objects.filter(order_id=order.pk).values_list("kind", "points"):
        if kind == PointsEntryKind.SPEND:
            spent -= moved
        elif kind == PointsEntryKind.RETURN:
            returned += moved
    return spent, returned


def give_back_for_order(order) -> None:
    """order_cancelled / order_refunded receiver: the points the order spent and has not had back yet (a
    partial refund may have returned some) come back, once."""
    spent, returned = _spent_and_returned(order)
    if spent > returned:
        post_points(
            shop_id=order.shop_id,
            member_id=order.member_id,
            points=spent - returned,
            kind=PointsEntryKind.RETURN,
            key=f"order:{order.pk}:return",
            order=order,
        )


def points_due_back(*, spent: int, refunded: Decimal, total: Decimal) -> int:
    """How many of the `spent` points the refunds so far return in all: the refunded share of what the
    member paid, rounded down to the point (the fen-and-point remainder stays spent until the last refund:
    refunded == total returns every point). Never more than spent; the running floor of one pool is the
    largest-remainder split of the points over the sequence of refunds."""
    if spent <= 0 or total <= 0 or refunded <= 0:
        return 0
    if refunded >= total:
        return spent
    return min(spent, int(spent * int(refunded * 100) // int(total * 100)))


def return_for_refund(refund) -> None:
    """order_refund_succeeded receiver: a refund of the goods (partial or full; not a returned duplicate
    payment) gives back the points in proportion to the money refunded, once per refund. A full refund's
    order_refunded receiver then returns what is left (nothing when the shares add up)."""
    if refund.key.startswith("late-payment:"):
        return
    order = refund.order
    spent, returned = _spent_and_returned(order)
    if spent <= returned:
        return
    refunded = order.refunds.filter(state="succeeded").exclude(key__startswith="late-payment:").aggregate(
        s=Sum("amount")
    )["s"] or Decimal("0.00")
    back = points_due_back(spent=spent, refunded=refunded, total=order.total) - returned
    if back > 0:
        post_points(
            shop_id=order.shop_id,
            member_id=order.member_id,
            points=back,
            kind=PointsEntryKind.RETURN,
            key=f"order:{order.pk}:refund:{refund.pk}",
            order=order,
        )
