"""券 at checkout: the order core's pricing step (orders.pricing) asks the plug-ins what the checkout page
offers (`pricing_options`) and what each draft costs (`order_pricing`); this module answers for coupons.

- The page offers the member's usable coupons that take something off this order, the best one preselected
  (the largest discount; on a tie the one that expires first), and "no coupon".
- The draft's choice "coupon" names one coupon (one coupon per order: one choice, and a unique index on the
  order behind it). It must be the member's own, usable now, in scope, and, on a campaign-priced order,
  allowed with a campaign price by its template: otherwise the order is refused with a message. The
  discount never takes the order below zero (capped at what is still due).
- Nothing is written here: the order core writes the adjustment row (source "coupon:<id>") and the
  `order_created` receiver (kind.on_order_created) marks the coupon used, once.
"""

from decimal import Decimal

from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext as _

from campaigns.models import Coupon, CouponState

from . import terms as coupons

CHOICE_KEY = "coupon"
ZERO = Decimal("0.00")


def _lines(lines, adjustments=()) -> list[coupons.Line]:
    """The lines as the coupon sees them: at the campaign's price where a campaign price (an adjustment on
    one line, exact per unit) brought them down, so a threshold counts what the member pays, not the list
    price."""
    from orders.models import AdjustmentKind

    off: dict[int, Decimal] = {}
    for adjustment in adjustments:
        if adjustment.kind == AdjustmentKind.CAMPAIGN_PRICE and adjustment.sku_id is not None:
            off[adjustment.sku_id] = off.get(adjustment.sku_id, ZERO) + adjustment.amount
    return [
        coupons.Line(
            line.sku_id,
            line.product_id,
            (line.unit_price + off.get(line.sku_id, ZERO) / line.quantity).quantize(Decimal("0.01")),
            line.quantity,
        )
        for line in lines
    ]


def _campaign_priced(draft) -> bool:
    """An order placed through a campaign (a group-buy or flash-sale price) or carrying a campaign price."""
    from orders.models import AdjustmentKind

    return (draft.source or "").startswith("campaign:") or any(
        adjustment.kind == AdjustmentKind.CAMPAIGN_PRICE for adjustment in draft.adjustments
    )


def offers(*, member, group, lines, campaign_priced: bool = False) -> list[tuple[Coupon, Decimal]]:
    """The member's usable coupons that take something off these lines, best first: (coupon, discount)."""
    if member is None or not getattr(member, "is_authenticated", False):
        return []
    priced_lines = _lines(lines)
    found = []
    for coupon in coupons.usable_coupons(member, shop_id=group.shop_id):
        off = coupons.discount(coupon.terms, lines=priced_lines, group_id=group.pk, campaign_priced=campaign_priced)
        if off > 0:
            found.append((coupon, off))
    return sorted(found, key=lambda pair: (-pair[1], pair[0].valid_until, pair[0].pk))


def pricing_options(*, member, group, lines, source: str = "") -> list[dict]:
    """The checkout page's coupon choice: usable coupons with what each takes off, the best preselected. On a
    campaign's checkout (`source` "campaign:…", lines at the campaign's price) only the coupons whose template
    allows a campaign price are offered."""
    found = offers(member=member, group=group, lines=lines, campaign_priced=source.startswith("campaign:"))
    if not found:
        return []
    choices = [("", _("不使用优惠券"))] + [
        (
            str(coupon.pk),
            _("%(face)s · %(name)s（省 ¥%(off)s）")
            % {"face": coupons.face_words(coupon.terms), "name": coupon.terms.get("name", ""), "off": off},
        )
        for coupon, off in found
    ]
    return [{"key": CHOICE_KEY, "label": _("优惠券"), "choices": choices, "initial": str(found[0][0].pk)}]


def order_pricing(draft) -> list:
    """The chosen coupon's adjustment for this draft (none when no coupon is chosen); ValidationError when
    the chosen coupon cannot pay for this order."""
    from orders.pricing import Adjustment, AdjustmentKind

    choice = (draft.choices or {}).get(CHOICE_KEY) or ""
    if not choice:
        return []
    if not (choice.isascii() and choice.isdigit() and len(choice) <= 18):
        raise ValidationError({CHOICE_KEY: _("请选择有效的优惠券。")})
    now = timezone.now()
    coupon = Coupon.objects.filter(pk=int(choice), member=draft.member, shop_id=draft.shop_id).first()
    if coupon is None or coupon.state != CouponState.AVAILABLE or not coupon.is_usable_at(now):
        raise ValidationError({CHOICE_KEY: _("这张优惠券已不可用（已使用、已过期或不属于你），请重新选择。")})
    campaign_priced = _campaign_priced(draft)
    if campaign_priced and not coupon.terms.get("stack_with_campaign_price"):
        raise ValidationError({CHOICE_KEY: _("这张优惠券不能与活动价同时使用。")})
    off = coupons.discount(
        coupon.terms,
        lines=_lines(draft.lines, draft.adjustments),
        group_id=draft.group.pk,
        campaign_priced=campaign_priced,
    )
    off = min(off, draft.total)
    if off <= 0:
        raise ValidationError({CHOICE_KEY: _("这张优惠券不适用于本订单（未满门槛或商品不在适用范围内）。")})
    exchanged = (
        coupon.terms.get("sku_id") if coupon.terms.get("coupon_kind") == coupons.CouponKindCode.EXCHANGE else None
    )
    return [
        Adjustment(
            kind=AdjustmentKind.COUPON,
            source=coupons.source_of(coupon),
            amount=-off,
            reason=f"{coupons.face_words(coupon.terms)} · {coupon.terms.get('name', '')}"[:120],
            sku_id=exchanged,
        )
    ]
