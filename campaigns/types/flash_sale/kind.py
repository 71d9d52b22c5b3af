"""秒 Flash sale (秒杀): a limited number of units at a price, from a start time, a few per member.

Rules and where each is decided:
- the campaign's start time (`starts_at`) is when orders open; the landing page shows it (and counts down
  to it with the page script). The first buyer at or after the start moves a campaign still scheduled to
  running (the start job runs once a minute; a flash sale cannot wait for it);
- the units are the campaign's stock cap (限量, required) and the per-member limit (每人限购, required) is the
  campaign's: both decided by the engine (campaigns.services.place_campaign_order) in the order's
  transaction — the cap by one conditional UPDATE of the campaign row behind a CHECK constraint, after the
  SKU's own conditional UPDATE; the limit counted under the (campaign, member) advisory lock. Each order is
  one unit, so a member's orders are their units;
- once the cap is reached the campaign is flagged sold out (orders.soldout, the same flag as a SKU's, scope
  "campaign"): the buy page and the API answer from the flag without reading the campaign's or the SKU's
  row. The flag only refuses; the database decides every sale, so it can never oversell;
- an order not paid within `pay_minutes` (default 15, never longer than the shop's payment time) is
  cancelled by the order core's overdue job; the cancel gives the unit back to the cap and clears the flag;
- a paid order is recorded as the member's act in the campaign (once per order).
"""

import logging
from datetime import timedelta
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Count, Q, Sum
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from campaigns import registry
from campaigns.lifecycle import CampaignTransitionRefused, transition_campaign
from campaigns.models import ZERO, Campaign, CampaignOrder, CampaignState, CampaignType
from campaigns.types.base import CampaignKind
from orders import soldout
from orders.models import Order

logger = logging.getLogger(__name__)
DEFAULT_PAY_MINUTES = 15
MAX_PAY_MINUTES = 24 * 60


# --- Settings ----------------------------------------------------------------------------------------


def clean_flash_sale_settings(*, campaign_fields: dict, settings: dict) -> dict:
    """flash_price (below the SKU's price), pay_minutes (1…1440, default 15); and the campaign's own stock
    cap and per-member limit, which a flash sale must have (its units and 每人限购)."""
    from campaigns.services import parse_money

    errors: dict[str, str] = {}
    price = parse_money(settings.get("flash_price"), "flash_price", errors, required=True)
    sku = campaign_fields.get("sku")
    if price is not None and sku is not None and price >= sku.price:
        errors["flash_price"] = _("秒杀价必须低于商品原价 ¥%(price)s。") % {"price": sku.price}
    raw_minutes = settings.get("pay_minutes")
    pay_minutes = DEFAULT_PAY_MINUTES
    if raw_minutes not in (None, ""):
        try:
            pay_minutes = int(str(raw_minutes).strip()) if len(str(raw_minutes)) <= 8 else 0
        except ValueError:
            pay_minutes = 0
        if not 1 <= pay_minutes <= MAX_PAY_MINUTES:
            errors["pay_minutes"] = _("付款时限须在 1 到 %(max)d 分钟之间。") % {"max": MAX_PAY_MINUTES}
    if campaign_fields.get("stock_cap") is None:
        errors["stock_cap"] = _("秒杀需要设置活动库存上限（限量件数）。")
    if campaign_fields.get("per_member_limit") is None:
        errors["per_member_limit"] = _("秒杀需要设置每人限购件数。")
    if errors:
        raise ValidationError(errors)
    return {"flash_price": str(price.quantize(Decimal("0.01"))), "pay_minutes": pay_minutes}


class Rules:
    """A campaign's cleaned flash-sale settings, typed, with what its own fields say."""

    def __init__(self, campaign: Campaign):
        self.flash_price = Decimal(campaign.settings["flash_price"])
        self.pay_minutes: int = campaign.settings.get("pay_minutes", DEFAULT_PAY_MINUTES)
        self.stock_cap: int = campaign.stock_cap or 0
        self.per_member_limit: int = campaign.per_member_limit or 1
        self.units_left = max(self.stock_cap - campaign.stock_used, 0)


def is_flagged_sold_out(campaign_id: int) -> str | None:
    """The campaign's sold-out flag (its name), or None: one cache read, no query."""
    from campaigns.services import SOLD_OUT_SCOPE

    return soldout.first_sold_out([campaign_id], scope=SOLD_OUT_SCOPE)


def opens_now(campaign: Campaign, *, now=None) -> bool:
    """Orders are taken: the campaign runs (or is scheduled and its start has come: the buyer starts it), and
    its end has not come."""
    now = now or timezone.now()
    return campaign.state in (CampaignState.RUNNING, CampaignState.SCHEDULED) and (
        campaign.starts_at <= now < campaign.ends_at
    )


def start_if_due(campaign: Campaign, *, now=None) -> Campaign:
    """A scheduled flash sale whose start has come is moved to running now, once (the first buyer's
    request does it; concurrent buyers wait on the row lock, then find it running). Returns it fresh."""
    now = now or timezone.now()
    if campaign.state != CampaignState.SCHEDULED or campaign.starts_at > now:
        return campaign
    with transaction.atomic():
        locked = (
            Campaign.objects.select_for_update()
            .filter(pk=campaign.pk, state=CampaignState.SCHEDULED, starts_at__lte=now)
            .first()
        )
        if locked is not None:
            try:
                transition_campaign(
                    campaign=locked, to_state=CampaignState.RUNNING, by=None, reason=_("秒杀开始时间已到")
                )
            except CampaignTransitionRefused:
                pass
    campaign.refresh_from_db(fields=["state", "stock_used", "budget_used"])
    return campaign


# --- Buying ------------------------------------------------------------------------------------------


def buy(
    *,
    campaign: Campaign,
    member,
    group,
    delivery,
    idempotency_key: str,
    note: str = "",
    choices: dict[str, str] | None = None,
) -> Order:
    """Place the member's order of one unit at the flash price (pending payment; pay within pay_minutes).
    `choices`: the member's coupon (only one whose template allows a campaign price) and points, checked by
    the order core's pricing plug-ins inside the order's transaction. The same key returns the same order.
    Refuses: before the start, a sold-out campaign (from the flag, before any row is read), past the
    member's limit, past the cap; the engine decides the last two."""
    if campaign.type != CampaignType.FLASH_SALE:
        raise ValidationError(_("这不是秒杀活动。"))
    from campaigns.services import place_campaign_order

    now = timezone.now()
    if campaign.state == CampaignState.SCHEDULED and campaign.starts_at > now:
        at = timezone.localtime(campaign.starts_at).strftime("%Y-%m-%d %H:%M:%S")
        raise ValidationError(_("秒杀尚未开始，%(at)s 开抢。") % {"at": at})
    if now >= campaign.ends_at:  # the end job runs once a minute; the sale ends at its second
        raise ValidationError(_("秒杀已结束。"))
    campaign = start_if_due(campaign, now=now)
    # One transaction of its own (place_campaign_order's): the time to pay is set before the order's insert
    # (FlashSale.before_insert), so nothing is written after the two hot rows (the SKU's stock, then the cap).
    return place_campaign_order(
        member=member,
        campaign=campaign,
        group=group,
        sku=campaign.sku,
        quantity=1,
        price=Rules(campaign).flash_price,
        delivery=delivery,
        idempotency_key=idempotency_key,
        note=note,
        choices=choices,
    )


def units_of_member(campaign: Campaign, member) -> int:
    """The units the member holds in the campaign (live orders: pending payment or paid, not given back)."""
    return (
        CampaignOrder.objects.filter(campaign=campaign, member=member, released_at__isnull=True).aggregate(
            n=Sum("units")
        )["n"]
        or 0
    )


class FlashSale(CampaignKind):
    code = CampaignType.FLASH_SALE
    label = gettext_lazy("秒杀")
    summary = gettext_lazy("限时限量的秒杀价，到点开抢，每人限购，抢完即止。")
    essential_settings = ("flash_price", "stock_cap", "per_member_limit")
    sells = True

    @property
    def settings_form(self):
        from .forms import FlashSaleSettingsForm

        return FlashSaleSettingsForm

    @property
    def figure_labels(self) -> dict:
        return FIGURE_LABELS

    def validate_settings(self, *, campaign_fields: dict, settings: dict) -> dict:
        return clean_flash_sale_settings(campaign_fields=campaign_fields, settings=settings)

    # -- order hooks, inside the order's transaction --

    def before_insert(self, order, campaign) -> None:
        """A flash sale's unit waits less than an ordinary order: pay within the sale's minutes (never longer
        than the shop's), set before the insert, so no write follows the hot rows."""
        deadline = order.created_at + timedelta(minutes=Rules(campaign).pay_minutes)
        if order.pay_deadline > deadline:
            order.pay_deadline = deadline

    def after_paid(self, order) -> None:
        """The unit is sold: the member's act in the campaign (once per order). Never raises."""
        from campaigns.services import record_act

        row = CampaignOrder.objects.select_related("campaign", "member").filter(order_id=order.pk).first()
        if row is None:
            return
        try:
            record_act(
                campaign=row.campaign,
                actor=row.member,
                inviter=None,
                kind="flash_buy",
                key=f"flash:{order.pk}",
                group=order.group,
                amount=row.unit_price * row.units,
                order=order,
            )
        except ValidationError:  # record_act refuses only self-invites; none here
            logger.warning("flash-sale act refused for order %s", order.pk)

    # -- what 秒杀 adds to the engine's pages and API --

    def landing_context(self, campaign, user) -> dict:
        """Price, units left, the start (and the seconds to it), sold out or not, the member's own units."""
        now = timezone.now()
        rules = Rules(campaign)
        flagged = is_flagged_sold_out(campaign.pk) is not None
        return {
            "rules": rules,
            "open_now": opens_now(campaign, now=now),
            "not_yet": campaign.state == CampaignState.SCHEDULED and campaign.starts_at > now,
            "seconds_to_start": max(int((campaign.starts_at - now).total_seconds()), 0),
            "sold_out": flagged or rules.units_left == 0,
            "my_units": units_of_member(campaign, user) if user.is_authenticated else 0,
        }

    def api_fields(self) -> dict:
        from .serializers import FlashSaleRulesSerializer

        return {"flash_sale": FlashSaleRulesSerializer(allow_null=True)}

    def api_extras(self, campaign) -> dict:
        """No query: the campaign's own fields and the flag."""
        rules = Rules(campaign)
        return {
            "flash_sale": {
                "flash_price": rules.flash_price,
                "original_price": campaign.sku.price if campaign.sku_id else None,
                "stock_cap": rules.stock_cap,
                "units_left": rules.units_left,
                "sold_out": rules.units_left == 0 or is_flagged_sold_out(campaign.pk) is not None,
                "per_member_limit": rules.per_member_limit,
                "pay_minutes": rules.pay_minutes,
                "starts_at": campaign.starts_at,
                "open_now": opens_now(campaign),
            }
        }

    def figures(self, campaign) -> dict:
        return flash_sale_figures(campaign)

    def dashboard_context(self, campaign, request) -> dict:  # noqa: ARG002 - the kind's signature
        """Whether buyers are answered from the sold-out flag now."""
        return {"flagged": is_flagged_sold_out(campaign.pk) is not None}

    def poster_offer(self, campaign, target) -> str:  # noqa: ARG002 - the kind's signature
        """秒杀价 ¥x · 限量 n 件 (no query: the campaign's SKU is loaded with it)."""
        from campaigns.posters import with_original_price

        rules = Rules(campaign)
        words = _("秒杀价 ¥%(price)s · 限量 %(n)d 件") % {"price": rules.flash_price, "n": rules.stock_cap}
        return with_original_price(words, campaign.sku.price if campaign.sku_id else None)

    def member_price(self, campaign) -> Decimal | None:
        return Rules(campaign).flash_price


# --- Figures -----------------------------------------------------------------------------------------


def flash_sale_figures(campaign: Campaign) -> dict:
    """Two queries whatever the number of orders."""
    rows = CampaignOrder.objects.filter(campaign=campaign).aggregate(
        paid=Sum("units", filter=Q(released_at__isnull=True, order__paid_at__isnull=False)),
        held=Sum("units", filter=Q(released_at__isnull=True, order__paid_at__isnull=True)),
        released=Sum("units", filter=Q(released_at__isnull=False)),
        buyers=Count("member", distinct=True, filter=Q(released_at__isnull=True)),
    )
    gmv = Order.objects.filter(campaign_order__campaign=campaign, paid_at__isnull=False).aggregate(
        gmv=Sum("total"), refunded=Sum("refunded_amount")
    )
    cap = campaign.stock_cap or 0
    return {
        "stock_cap": cap,
        "units_sold": rows["paid"] or 0,
        "units_held": rows["held"] or 0,
        "units_left": max(cap - campaign.stock_used, 0),
        "units_released": rows["released"] or 0,
        "buyers": rows["buyers"] or 0,
        "gmv": gmv["gmv"] or ZERO,
        "refunded_amount": gmv["refunded"] or ZERO,
    }


FIGURE_LABELS = {
    "stock_cap": gettext_lazy("限量"),
    "units_sold": gettext_lazy("已售（已付款）"),
    "units_held": gettext_lazy("待付款占用"),
    "units_left": gettext_lazy("剩余"),
    "units_released": gettext_lazy("超时或退款放回"),
    "buyers": gettext_lazy("抢到人数"),
    "gmv": gettext_lazy("成交额（元）"),
    "refunded_amount": gettext_lazy("已退款（元）"),
}

registry.register(FlashSale())


def sold_out_route() -> soldout.EarlyRoute:
    """立即抢购 POSTs of a campaign flagged sold out are answered before the session (orders.early)."""
    from campaigns.services import SOLD_OUT_SCOPE

    return soldout.EarlyRoute(
        url_name="campaigns:flash_buy",
        back_name="campaigns:landing",
        scope=SOLD_OUT_SCOPE,
        subjects=lambda campaign_id, _data: [campaign_id],
        template="campaigns/flash_sale/sold_out_early.html",
        show_name=True,  # the landing page, public, shows the name
    )


def connect_hooks() -> None:
    """The flash-sale type's receivers of the lower apps' hooks (connecting again changes nothing)."""
    from shequn import hooks

    hooks.sold_out_routes.connect(sold_out_route, priority=hooks.DECIDE + 10)


connect_hooks()

__all__ = ["FlashSale", "Rules", "buy", "is_flagged_sold_out", "opens_now", "start_if_due", "units_of_member"]
