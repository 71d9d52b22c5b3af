"""券 terms: what a coupon is worth on an order, in words and in fen, and which of a member's coupons are
usable. Pure reads: both the rules (kind.py) and the checkout plug-in (checkout.py) use them.

The choices' codes of a template's settings live here too (the dashboard's form spells them out)."""

from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_DOWN, Decimal

from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from campaigns.models import Campaign, CampaignType, Coupon, CouponState

CENT = Decimal("0.01")
# What a page shows for a template a setting names but that is gone or not the shop's: never its id.
TEMPLATE_GONE = gettext_lazy("已失效的券")


class CouponKindCode:
    THRESHOLD = "threshold"  # 满减
    PERCENT = "percent"  # 折扣
    NO_THRESHOLD = "no_threshold"  # 无门槛
    EXCHANGE = "exchange"  # 兑换券
    CHOICES = (THRESHOLD, PERCENT, NO_THRESHOLD, EXCHANGE)


class Scope:
    ALL = "all"
    PRODUCTS = "products"
    GROUPS = "groups"
    CHOICES = (ALL, PRODUCTS, GROUPS)


class Audience:
    EVERYONE = "everyone"
    NEW_MEMBERS = "new_members"
    TAGS = "tags"
    CHOICES = (EVERYONE, NEW_MEMBERS, TAGS)


class Validity:
    FIXED = "fixed"
    RELATIVE = "relative"
    CHOICES = (FIXED, RELATIVE)


# --- Terms: what a coupon is worth on an order ------------------------------------------------------------


@dataclass(frozen=True)
class Line:
    """One order line as a coupon sees it."""

    sku_id: int
    product_id: int
    unit_price: Decimal
    quantity: int

    @property
    def amount(self) -> Decimal:
        return self.unit_price * self.quantity


def terms_of(campaign: Campaign) -> dict:
    """What a coupon copies from its template when issued: the settings, the template's name and SKU."""
    terms = dict(campaign.settings)
    terms["name"] = campaign.name
    terms["sku_id"] = campaign.sku_id
    return terms


def _yuan(amount: str) -> str:
    """An amount as a coupon shows it: whole yuan without the fen (20, not 20.00); 19.90 stays."""
    return amount[:-3] if amount.endswith(".00") else amount


def face_words(terms: dict) -> str:
    """满 100 减 20 · 8.5 折（最多减 30）· 无门槛减 5 · 兑换券."""
    kind = terms.get("coupon_kind")
    if kind == CouponKindCode.THRESHOLD:
        return _("满 %(threshold)s 减 %(amount)s") % {
            "threshold": _yuan(terms["threshold"]),
            "amount": _yuan(terms["amount_off"]),
        }
    if kind == CouponKindCode.NO_THRESHOLD:
        return _("无门槛减 %(amount)s") % {"amount": _yuan(terms["amount_off"])}
    if kind == CouponKindCode.PERCENT:
        rate = (Decimal(100 - terms["percent_off"]) / 10).normalize()
        words = _("%(rate)s 折（减 %(percent)s%%）") % {"rate": f"{rate:f}", "percent": terms["percent_off"]}
        if terms.get("max_off"):
            words += _("（最多减 %(cap)s）") % {"cap": _yuan(terms["max_off"])}
        return words
    return _("兑换券")


def discount(terms: dict, *, lines: list[Line], group_id: int | None, campaign_priced: bool = False) -> Decimal:
    """How much the coupon takes off an order of `lines` placed in `group_id` (0: it does not apply). Never
    more than the lines in scope cost; whole fen, rounded down."""
    if campaign_priced and not terms.get("stack_with_campaign_price"):
        return Decimal("0.00")
    scope = terms.get("scope") or Scope.ALL
    if scope == Scope.GROUPS and group_id not in (terms.get("scope_groups") or []):
        return Decimal("0.00")
    if scope == Scope.PRODUCTS:
        lines = [line for line in lines if line.product_id in (terms.get("scope_products") or [])]
    eligible = sum((line.amount for line in lines), Decimal("0.00"))
    kind = terms.get("coupon_kind")
    off = Decimal("0.00")
    if kind == CouponKindCode.THRESHOLD and eligible >= Decimal(terms["threshold"]):
        off = Decimal(terms["amount_off"])
    elif kind == CouponKindCode.NO_THRESHOLD:
        off = Decimal(terms["amount_off"])
    elif kind == CouponKindCode.PERCENT:
        off = (eligible * terms["percent_off"] / 100).quantize(CENT, rounding=ROUND_DOWN)
        if terms.get("max_off"):
            off = min(off, Decimal(terms["max_off"]))
    elif kind == CouponKindCode.EXCHANGE:
        off = next((line.unit_price for line in lines if line.sku_id == terms.get("sku_id")), Decimal("0.00"))
    return max(min(off, eligible), Decimal("0.00")).quantize(CENT)


# --- Reads ---------------------------------------------------------------------------------------------


def template_words(template: Campaign) -> str:
    """A coupon template as an operator reads it: 「name · face（state）」 (— for the face of a draft whose
    terms are incomplete)."""
    try:
        face = face_words(terms_of(template))
    except (KeyError, TypeError, ValueError):
        face = "—"
    return _("%(name)s · %(face)s（%(state)s）") % {
        "name": template.name,
        "face": face,
        "state": template.get_state_display(),
    }


def templates_words(shop_id: int, ids) -> dict[int, str]:
    """{id: template_words} of the shop's coupon templates among `ids`, in one query (none without ids):
    another shop's template, another type's campaign or a deleted one is absent (TEMPLATE_GONE on a page)."""
    wanted = {int(str(i)) for i in ids or () if str(i).isascii() and str(i).isdigit() and len(str(i)) <= 18}
    if not wanted:
        return {}
    templates = Campaign.objects.filter(shop_id=shop_id, type=CampaignType.COUPON, pk__in=wanted)
    return {template.pk: template_words(template) for template in templates}


def coupons_of_member(member, *, shop_id: int | None = None):
    """The member's own coupons (newest first), with their template: one query."""
    qs = Coupon.objects.filter(member=member).select_related("campaign", "shop")
    if shop_id is not None:
        qs = qs.filter(shop_id=shop_id)
    return qs.order_by("-claimed_at", "-pk")


def usable_coupons(member, *, shop_id: int, now: datetime | None = None) -> list[Coupon]:
    now = now or timezone.now()
    return list(
        Coupon.objects.filter(
            member=member,
            shop_id=shop_id,
            state=CouponState.AVAILABLE,
            valid_from__lte=now,
            valid_until__gt=now,
        )
        .select_related("campaign")
        .order_by("valid_until", "pk")
    )


SOURCE_PREFIX = "coupon:"


def source_of(coupon: Coupon) -> str:
    """The source of an order's coupon adjustment: how the order's `order_created` finds the coupon."""
    return f"{SOURCE_PREFIX}{coupon.pk}"


def coupon_id_in(source: str) -> int | None:
    if not (source or "").startswith(SOURCE_PREFIX):
        return None
    tail = source[len(SOURCE_PREFIX) :]
    return int(tail) if tail.isdigit() else None
