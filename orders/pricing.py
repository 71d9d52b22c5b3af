"""The order's one pricing step: lines at their unit price, then adjustments, each with its source and reason.

Plug-ins (coupons, points, gifts, campaign prices, shipping) answer the `order_pricing` hook (shequn.hooks)
with Adjustment values; the order core imports none of them. `price_draft` asks the hook, checks every
answer and spreads each adjustment over the lines to the fen, so that every line knows what was paid for it
(refunds are split back by that, never beyond it). The checkout page asks it for a quote (`quote_only`), and
order placement asks it again inside the order's insert transaction, where the answer is written as
OrderAdjustment rows.

Guarantees:
- total = subtotal + sum(adjustments), to the fen, and never negative; no line's share makes it negative;
- the split is deterministic: largest remainder by fen, ties to the line with the lowest SKU id.
"""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from shequn import hooks

from .models import ZERO, AdjustmentKind

CENT = Decimal("0.01")

__all__ = [
    "AdjustmentKind",
    "Adjustment",
    "PricedLine",
    "PricingDraft",
    "Priced",
    "price_draft",
    "split_by_fen",
    "options_for",
]


@dataclass(frozen=True)
class Adjustment:
    """One change to an order's price. `amount` in yuan, two places: negative a discount, positive a charge.
    `source` names who made it ("coupon:12", "points", "campaign:7"): its owner finds its row by it.
    `sku_id` puts it on that one line; None spreads it over all lines in proportion, by fen."""

    kind: str
    source: str
    amount: Decimal
    reason: str
    sku_id: int | None = None


@dataclass(frozen=True)
class PricedLine:
    sku_id: int
    product_id: int
    unit_price: Decimal
    quantity: int

    @property
    def line_total(self) -> Decimal:
        return self.unit_price * self.quantity


@dataclass
class PricingDraft:
    """What is being priced. `choices` are what the member chose at checkout, keys owned by plug-ins
    ({"coupon": "12", "points": "300"}); `adjustments` grows as the receivers answer, in priority order, so
    a later receiver (points) sees what the earlier ones (coupon) took off."""

    member: object  # accounts.User
    group: object  # groups.Group
    lines: list[PricedLine]
    choices: dict[str, str] = field(default_factory=dict)
    source: str = ""
    quote_only: bool = False
    adjustments: list[Adjustment] = field(default_factory=list)

    @property
    def shop_id(self) -> int:
        return self.group.shop_id

    @property
    def subtotal(self) -> Decimal:
        return sum((line.line_total for line in self.lines), start=ZERO)

    @property
    def total(self) -> Decimal:
        """What the member would pay with the adjustments so far."""
        return self.subtotal + sum((a.amount for a in self.adjustments), start=ZERO)


@dataclass(frozen=True)
class Priced:
    lines: list[PricedLine]
    subtotal: Decimal
    adjustments: list[Adjustment]
    # shares[i][sku_id]: adjustment i's part on that line (same sign as the adjustment).
    shares: list[dict[int, Decimal]]
    line_adjustment: dict[int, Decimal]  # sku_id → the sum of its shares
    discount: Decimal  # the discounts, as a positive figure
    charges: Decimal  # the charges
    total: Decimal

    def line_due(self, sku_id: int, line_total: Decimal) -> Decimal:
        return line_total + self.line_adjustment.get(sku_id, ZERO)


def split_by_fen(amount: Decimal, weights: Sequence[tuple[int, Decimal]]) -> dict[int, Decimal]:
    """Split `amount` over keys in proportion to their (non-negative) weights, to the fen: each key gets the
    floor of its exact share, and the fen left over go one each to the largest remainders (ties: the lowest
    key). The parts add up to `amount` exactly and, when |amount| ≤ the sum of weights, none exceeds its
    weight in size. Weights all zero: equal weights."""
    if not weights:
        return {}
    fen = int((abs(amount) / CENT).to_integral_value())
    scaled = sorted((key, int((weight / CENT).to_integral_value())) for key, weight in weights)
    if not any(weight for _key, weight in scaled):
        scaled = [(key, 1) for key, _weight in scaled]
    denominator = sum(weight for _key, weight in scaled)
    parts, remainders = {}, []
    for key, weight in scaled:
        parts[key], remainder = divmod(fen * weight, denominator)
        remainders.append((-remainder, key))
    for _remainder, key in sorted(remainders)[: fen - sum(parts.values())]:
        parts[key] += 1
    sign = -1 if amount < 0 else 1
    return {key: sign * part * CENT for key, part in parts.items()}


def _check(adjustment: Adjustment, sku_ids: set[int]) -> Adjustment:
    if not isinstance(adjustment, Adjustment) or adjustment.kind not in AdjustmentKind.values:
        raise TypeError(f"order_pricing answered {adjustment!r}: not an orders.pricing.Adjustment of a known kind")
    amount = Decimal(adjustment.amount)
    if amount != amount.quantize(CENT) or amount == 0:
        raise TypeError(f"order_pricing answered {adjustment!r}: the amount must be non-zero, in whole fen")
    if not adjustment.source or len(adjustment.source) > 60:
        raise TypeError(f"order_pricing answered {adjustment!r}: the source must be 1–60 characters")
    if adjustment.sku_id is not None and adjustment.sku_id not in sku_ids:
        raise TypeError(f"order_pricing answered {adjustment!r}: its sku_id is not one of the order's lines")
    return adjustment


def price_draft(draft: PricingDraft, *, extra: Iterable[Adjustment] = ()) -> Priced:
    """Price the draft: the `extra` adjustments the caller decided (a campaign price) first, then every
    `order_pricing` receiver's in priority order, each checked and spread over the lines.

    A receiver's ValidationError refuses the order (or the quote) with its message; an answer that would
    take a line or the order below zero refuses it too (a plug-in must cap its discount at draft.total).
    """
    draft.adjustments = []
    due = {line.sku_id: line.line_total for line in draft.lines}
    sku_ids = set(due)
    shares: list[dict[int, Decimal]] = []

    def take(adjustment: Adjustment) -> None:
        adjustment = _check(adjustment, sku_ids)
        if adjustment.sku_id is not None:
            share = {adjustment.sku_id: adjustment.amount}
        else:
            # A discount goes where money is still due (so no line goes below zero); a charge by the lines' sizes.
            weights = due if adjustment.amount < 0 else {line.sku_id: line.line_total for line in draft.lines}
            share = split_by_fen(adjustment.amount, list(weights.items()))
        for sku_id, part in share.items():
            due[sku_id] += part
            if due[sku_id] < 0:
                raise ValidationError(_("优惠金额超过了商品金额。"), code="over_discount")
        draft.adjustments.append(adjustment)
        shares.append(share)

    for adjustment in extra:
        take(adjustment)
    for answer in hooks.order_pricing.answers(draft):
        for adjustment in answer or ():
            take(adjustment)
    adjustments = list(draft.adjustments)
    discount = -sum((a.amount for a in adjustments if a.amount < 0), start=ZERO)
    charges = sum((a.amount for a in adjustments if a.amount > 0), start=ZERO)
    total = draft.subtotal - discount + charges
    if total < 0:
        raise ValidationError(_("优惠金额超过了商品金额。"), code="over_discount")
    line_adjustment = {sku_id: due[sku_id] - line.line_total for line in draft.lines for sku_id in [line.sku_id]}
    return Priced(
        lines=list(draft.lines),
        subtotal=draft.subtotal,
        adjustments=adjustments,
        shares=shares,
        line_adjustment=line_adjustment,
        discount=discount,
        charges=charges,
        total=total,
    )


def options_for(*, member, group, lines: list[PricedLine], source: str = "") -> list[dict]:
    """What the checkout page offers from the plug-ins (`pricing_options`): every answer, in priority order,
    as dicts with key, label, choices ([(value, words)]) and initial (the preselected value). `source`: the
    order's source on a plug-in's checkout page (a campaign's), its lines at the price the member pays."""
    offered: list[dict] = []
    for answer in hooks.pricing_options.answers(member=member, group=group, lines=lines, source=source):
        offered.extend(answer or ())
    return offered
