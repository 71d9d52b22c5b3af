"""A campaign's checkout pages (open or join a team, buy a bargain, claim a help reward) on the order core's
pricing step, as the shop's own checkout: the pricing plug-ins' choices (the member's usable coupons whose
template allows a campaign price, the best preselected; points) and a quote of the order at the campaign's
price with them. Read only: placing the order prices it again, inside its transaction, and the plug-ins
check the member's choices there (a coupon not allowed with a campaign price is refused on the server).
"""

from dataclasses import dataclass
from decimal import Decimal

from django import forms
from django.core.exceptions import ValidationError

from orders import pricing
from orders import services as order_services
from orders.services import LineRequest
from referrals.points import CHOICE as POINTS_KEY

from .models import Campaign
from .types.coupon.checkout import CHOICE_KEY as COUPON_KEY

# The pricing choices a member may post on a campaign's checkout, offered on the page or not.
POSTED_KEYS = (COUPON_KEY, POINTS_KEY)


@dataclass(frozen=True)
class CampaignLine:
    """The one line a campaign order buys, at the price the campaign asks."""

    campaign: Campaign
    sku: object  # orders.Sku
    price: Decimal
    quantity: int = 1


class ServerDecidesChoices:
    """A campaign checkout form whose pricing choices the plug-ins decide on the server, in their own words:
    a coupon the page does not list (one that may not stack with a campaign price, posted by hand) is not
    a bare "invalid option" nor dropped when the page offers no coupon at all; it goes to the order's pricing
    step, which refuses it and says why ("这张优惠券不能与活动价同时使用"). Mixed in before CheckoutForm."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for key in self.choice_keys:
            field = self.fields[key]
            if isinstance(field, forms.ChoiceField):  # a select still, but any value reaches the plug-in
                self.fields[key] = forms.CharField(
                    label=field.label,
                    required=False,
                    max_length=60,
                    initial=field.initial,
                    help_text=field.help_text,
                    widget=forms.Select(choices=field.choices),
                )

    def pricing_choices(self) -> dict[str, str]:
        chosen = super().pricing_choices()
        if self.is_bound:
            for key in POSTED_KEYS:
                raw = str(self.data.get(key, "")).strip()[:60]
                if raw and key not in self.choice_keys:
                    chosen[key] = raw
        return chosen


def chosen_group(data, groups: list):
    """The group the page prices for: the one the member picked (if theirs), else the first of theirs."""
    wanted = str(data.get("group", "") if data is not None else "")
    return next((group for group in groups if str(group.pk) == wanted), groups[0] if groups else None)


def options(*, member, group, line: CampaignLine) -> list[dict]:
    """What the pricing plug-ins offer on this campaign's checkout (CheckoutForm's `options`)."""
    if group is None or line.sku is None:
        return []
    priced = pricing.PricedLine(line.sku.pk, line.sku.product_id, line.price, line.quantity)
    return pricing.options_for(member=member, group=group, lines=[priced], source=line.campaign.order_source)


def quote(*, member, group, line: CampaignLine, choices: dict[str, str]) -> tuple[pricing.Priced | None, str]:
    """(the order's price with these choices, ""), or (None, why a plug-in refuses them)."""
    if group is None or line.sku is None:
        return None, ""
    try:
        return (
            order_services.quote_order(
                member=member,
                group=group,
                lines=[LineRequest(line.sku.pk, line.quantity)],
                choices=choices,
                source=line.campaign.order_source,
                unit_price=line.price,
            ),
            "",
        )
    except ValidationError as error:
        return None, "；".join(error.messages)


def money(priced: pricing.Priced | None, line: CampaignLine) -> dict:
    """The money block of the checkout template (campaigns/_pricing.html)."""
    if priced is None:
        total = line.price * line.quantity
        return {"subtotal": total, "adjustments": [], "total": total}
    return {
        "subtotal": priced.subtotal,
        "adjustments": [
            {"reason": a.reason, "discount": a.amount < 0, "size": abs(a.amount)} for a in priced.adjustments
        ],
        "total": priced.total,
    }


def page(request, *, form, group, line: CampaignLine) -> dict:
    """The template context of the pricing part: the quote for the member's current choices (the preselected
    ones before a submit), and why they are refused, if they are."""
    if form.is_bound:
        form.is_valid()
    priced, refusal = quote(member=request.user, group=group, line=line, choices=form.pricing_choices())
    return {"money": money(priced, line), "pricing_refusal": refusal}
