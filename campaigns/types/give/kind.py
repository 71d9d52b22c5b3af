"""送 Give (赠送): buy one, give one; or invite a friend and you both get it free (请好友喝一杯).

Rules and where each is decided:
- **a paid gift** (mode "gift"): a member buys the campaign's SKU as a gift (`buy_gift`: a normal order
  through the engine, nothing delivered to the buyer); once it is paid (`after_paid`) it becomes a Gift with
  an unguessable link (128 bits) the member forwards. The order's unit is the one the friend gets: no
  second order and no second unit of stock;
- **a treat** (mode "treat"): a member starts a treat (`start_treat`, with where their own item goes) and
  forwards its link; when a friend claims it both get the item as zero-price orders, within the campaign's
  stock cap and budget (the engine's conditional UPDATEs), a friend at most once per campaign (unique);
- **the claim**: a friend opens the link, signs in and claims with a pickup point or an address. ONE
  conditional UPDATE of the gift row (`state = 'open' AND expires_at > now AND giver <> friend`) decides,
  so a gift is claimed exactly once however many tap at once; the owed item joins the order core's
  fulfilment queue (orders.fulfilment) in the same transaction;
- **expiry** (`expire_due`, the engine's periodic job): an unclaimed gift past its time is refunded to the
  giver through the order core's refund service, or returned to the giver to claim themself, as the
  campaign says; one conditional UPDATE per gift decides, so running the job twice or concurrently refunds
  once (and the refund's unique key stands behind it);
- a gift order cannot ship before its gift is claimed (before_ship), and a refunded gift order withdraws
  its open gift and voids what it owed.
"""

import secrets
from datetime import datetime, timedelta
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Count, Q, Sum
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from campaigns import registry
from campaigns.models import Campaign, CampaignOrder, CampaignState, CampaignType
from campaigns.plugins import campaign_id_of
from campaigns.types.base import CampaignKind
from orders import fulfilment
from orders import services as order_services
from orders.fulfilment import Destination
from orders.models import Delivery, Order, OrderState
from orders.services import DeliveryRequest

from .models import Gift, GiftMode, GiftState

MIN_CLAIM_DAYS, MAX_CLAIM_DAYS = 1, 30
TOKEN_BYTES = 16  # 128 bits: a gift link cannot be guessed


class OnExpiry:
    REFUND = "refund"  # the giver gets the money back
    RETURN = "return"  # the gift comes back to the giver, who may claim it themself
    CHOICES = (REFUND, RETURN)


class GiftRefused(ValidationError):
    """A gift act that cannot happen, with a reason code the pages and the API show in words."""

    MESSAGES = {
        "not_running": gettext_lazy("活动未在进行中。"),
        "not_member": gettext_lazy("请先加入活动所在的群。"),
        "wrong_mode": gettext_lazy("这个活动不支持这种送法。"),
        "own_gift": gettext_lazy("这是你送出的礼物，请转发给好友领取。"),
        "claimed": gettext_lazy("这份礼物已经被领取了。"),
        "expired": gettext_lazy("这份礼物已过期。"),
        "closed": gettext_lazy("这份礼物已退款，不能再领取。"),
        "treat_taken": gettext_lazy("你已经在本活动领过一次请客了。"),
    }

    def __init__(self, reason: str):
        self.reason = reason
        self.message_text = str(self.MESSAGES[reason])
        super().__init__(self.message_text, code=reason)


# --- Settings ----------------------------------------------------------------------------------------


def clean_give_settings(*, campaign_fields: dict, settings: dict) -> dict:
    """mode ("gift": buy one, give one; "treat": invite a friend, both free), claim_days (1–30, default 7),
    on_expiry (a paid gift left unclaimed: "refund" to the giver, or "return" it to them). A SKU is needed
    (the engine asks for one: the kind sells)."""
    errors: dict[str, str] = {}
    mode = settings.get("mode") or GiftMode.GIFT
    if mode not in GiftMode.values:
        errors["mode"] = _("请选择送法：买一送一，或请好友喝一杯。")
    raw_days = settings.get("claim_days")
    claim_days = None
    try:
        claim_days = int(str(raw_days).strip()) if raw_days not in (None, "") else 7
    except (TypeError, ValueError):
        pass
    if claim_days is None or not MIN_CLAIM_DAYS <= claim_days <= MAX_CLAIM_DAYS:
        errors["claim_days"] = _("领取期限须在 %(min)d–%(max)d 天之间。") % {
            "min": MIN_CLAIM_DAYS,
            "max": MAX_CLAIM_DAYS,
        }
    on_expiry = settings.get("on_expiry") or OnExpiry.REFUND
    if on_expiry not in OnExpiry.CHOICES:
        errors["on_expiry"] = _("请选择过期未领取的处理方式：退款给送礼人，或退回送礼人。")
    if campaign_fields.get("sku") is None:
        errors.setdefault("sku", _("赠送活动需要选择活动商品规格。"))
    if errors:
        raise ValidationError(errors)
    return {"mode": mode, "claim_days": claim_days, "on_expiry": on_expiry}


class Rules:
    """A campaign's cleaned give settings, typed."""

    def __init__(self, campaign: Campaign):
        s = campaign.settings
        self.mode: str = s.get("mode") or GiftMode.GIFT
        self.claim_time = timedelta(days=int(s.get("claim_days") or 7))
        self.on_expiry: str = s.get("on_expiry") or OnExpiry.REFUND


def _source(campaign: Campaign, mode: str) -> str:
    """The order source of a gift order or a treat's free order: the engine's "campaign:<id>" (its order hooks
    dispatch on it) with the way it was given."""
    return f"{campaign.order_source}:{mode}"


def _mode_of(order) -> str | None:
    """How an order (or a pricing draft) of a give campaign was given: "gift", "treat", or None."""
    source = order.source or ""
    return source.rsplit(":", 1)[1] if source.count(":") >= 2 else None


def _new_token() -> str:
    return secrets.token_urlsafe(TOKEN_BYTES)


def label_of(campaign: Campaign) -> str:
    """What the friend gets, in words: the product and the SKU's spec."""
    if campaign.sku_id is None:
        return campaign.name
    return f"{campaign.product.name} · {campaign.sku.spec}" if campaign.sku.spec else campaign.product.name


# --- Buying a gift -----------------------------------------------------------------------------------------


def _group_for(campaign: Campaign, member):
    from campaigns.services import member_groups_for

    groups = member_groups_for(campaign, member)
    if not groups:
        raise GiftRefused("not_member")
    return groups[0]


def buy_gift(*, campaign: Campaign, member, idempotency_key: str, message: str = "") -> Order:
    """The member buys the campaign's SKU as a gift: a normal order at its price (per-member limit, stock cap
    and stock as any campaign order), nothing delivered to the buyer; paid, it becomes a gift to forward.
    The same key returns the same order."""
    from campaigns.services import place_campaign_order

    if campaign.type != CampaignType.GIVE or Rules(campaign).mode != GiftMode.GIFT:
        raise GiftRefused("wrong_mode")
    if campaign.state != CampaignState.RUNNING:
        raise GiftRefused("not_running")
    group = _group_for(campaign, member)
    return place_campaign_order(
        member=member,
        campaign=campaign,
        group=group,
        sku=campaign.sku,
        quantity=1,
        price=campaign.sku.price,
        delivery=DeliveryRequest(method=Delivery.NONE),
        idempotency_key=idempotency_key,
        source=_source(campaign, GiftMode.GIFT),
        note=message.strip()[:60],
    )


def _gift_of_paid_order(order: Order, *, now: datetime) -> Gift | None:
    """The paid gift order becomes its gift, once (unique order): the clock to claim starts now."""
    campaign = Campaign.objects.get(pk=campaign_id_of(order))
    try:
        with transaction.atomic():
            return Gift.objects.create(
                campaign=campaign,
                mode=GiftMode.GIFT,
                giver_id=order.member_id,
                group_id=order.group_id,
                token=_new_token(),
                message=order.note[:60],
                order=order,
                created_at=now,
                expires_at=now + Rules(campaign).claim_time,
            )
    except IntegrityError:  # a payment notification delivered twice: the gift is already made
        return Gift.objects.filter(order=order).first()


# --- A treat (请好友喝一杯) ----------------------------------------------------------------------------------


def start_treat(*, campaign: Campaign, member, delivery: DeliveryRequest, now: datetime | None = None) -> Gift:
    """The member starts a treat to forward, saying where their own free item goes. Nothing is ordered until
    a friend claims it (then both orders are placed together, or neither)."""
    now = now or timezone.now()
    if campaign.type != CampaignType.GIVE or Rules(campaign).mode != GiftMode.TREAT:
        raise GiftRefused("wrong_mode")
    if campaign.state != CampaignState.RUNNING or campaign.ends_at <= now:
        raise GiftRefused("not_running")
    group = _group_for(campaign, member)
    fulfilment.check_destination(shop_id=campaign.shop_id, destination=_destination(delivery))
    return Gift.objects.create(
        campaign=campaign,
        mode=GiftMode.TREAT,
        giver=member,
        group=group,
        token=_new_token(),
        giver_delivery={
            "method": delivery.method,
            "recipient_name": delivery.recipient_name,
            "recipient_phone": delivery.recipient_phone,
            "address": delivery.address,
            "pickup_point_id": delivery.pickup_point_id,
        },
        created_at=now,
        expires_at=min(now + Rules(campaign).claim_time, campaign.ends_at),
    )


def _destination(delivery: DeliveryRequest) -> Destination:
    return Destination(
        method=delivery.method,
        recipient_name=delivery.recipient_name,
        recipient_phone=delivery.recipient_phone,
        address=delivery.address,
        pickup_point_id=delivery.pickup_point_id,
    )


# --- Claiming ----------------------------------------------------------------------------------------------


def gift_by_token(token: str) -> Gift:
    """One gift with what its page shows (campaign, product, giver, recipient): a constant number of queries."""
    return Gift.objects.select_related(
        "campaign", "campaign__shop", "campaign__product", "campaign__sku", "giver", "recipient"
    ).get(token=token)


def claim_problem(gift: Gift, user, *, now: datetime | None = None) -> str | None:
    """Why `user` cannot claim `gift` now (a GiftRefused reason), or None. For pages; `claim_gift` decides
    again under its conditional UPDATE."""
    now = now or timezone.now()
    if gift.state == GiftState.CLAIMED:
        return "claimed"
    if gift.state == GiftState.RETURNED:
        return None if user is None or not user.is_authenticated or user.pk == gift.giver_id else "expired"
    if gift.state in (GiftState.REFUNDED, GiftState.EXPIRED) or gift.expires_at <= now:
        return "closed" if gift.state == GiftState.REFUNDED else "expired"
    if user is not None and user.is_authenticated and user.pk == gift.giver_id:
        return "own_gift"
    return None


def _take(gift: Gift, member, *, now: datetime) -> bool:
    """ONE conditional UPDATE moves the gift to claimed for `member`: an open gift in time by a friend, or a
    gift returned to its giver by the giver. True for exactly one of any number of concurrent claims."""
    if member.pk == gift.giver_id:
        claimable = Q(state=GiftState.RETURNED, giver_id=member.pk)
    else:
        claimable = Q(state=GiftState.OPEN, expires_at__gt=now) & ~Q(giver_id=member.pk)
    return (
        Gift.objects.filter(claimable, pk=gift.pk).update(state=GiftState.CLAIMED, recipient=member, claimed_at=now)
        == 1
    )


def _refusal_after_losing(gift: Gift, member, *, now: datetime) -> GiftRefused:
    gift.refresh_from_db(fields=["state", "expires_at", "recipient"])
    return GiftRefused(claim_problem(gift, member, now=now) or "claimed")


def claim_gift(*, gift: Gift, member, delivery: DeliveryRequest, now: datetime | None = None) -> Gift:
    """`member` claims `gift` with a pickup point or an address: exactly once per gift. A paid gift's item is
    owed from the giver's order (the fulfilment queue); a treat places both zero-price orders (see
    `_place_treat_orders`), all in one transaction: a refusal leaves the gift open."""
    now = now or timezone.now()
    gift = Gift.objects.select_related("campaign", "campaign__product", "campaign__sku").get(pk=gift.pk)
    problem = claim_problem(gift, member, now=now)
    if problem:
        raise GiftRefused(problem)
    destination = _destination(delivery)
    fulfilment.check_destination(shop_id=gift.campaign.shop_id, destination=destination)
    with transaction.atomic():
        if gift.mode == GiftMode.TREAT:
            claimed = _claim_treat(gift, member, delivery=delivery, now=now)
        else:
            _lock_order(gift.order_id)
            if not _take(gift, member, now=now):
                raise _refusal_after_losing(gift, member, now=now)
            fulfilment.owe_item(
                shop_id=gift.campaign.shop_id,
                member=member,
                source=gift.campaign.order_source,
                key=f"gift:{gift.pk}",
                label=label_of(gift.campaign),
                destination=destination,
                order=gift.order,
            )
            claimed = gift
    claimed.refresh_from_db()
    return claimed


def _claim_treat(gift: Gift, member, *, delivery: DeliveryRequest, now: datetime) -> Gift:
    """A friend claims a treat: the claim, then both zero-price orders (the friend's, the giver's) within the
    campaign's stock cap and budget, then both owed items. Any refusal rolls all of it back."""
    from campaigns.services import member_groups_for

    groups = member_groups_for(gift.campaign, member)
    if not groups:
        raise GiftRefused("not_member")
    try:
        with transaction.atomic():
            if not _take(gift, member, now=now):
                raise _refusal_after_losing(gift, member, now=now)
    except IntegrityError:  # gift_one_treat_per_friend: this friend took another treat of the campaign
        raise GiftRefused("treat_taken") from None
    friend_order = _free_order(gift, member, groups[0], delivery, key=f"treat:{gift.pk}:friend")
    giver_delivery = DeliveryRequest(**gift.giver_delivery)
    giver_order = _free_order(gift, gift.giver, gift.group, giver_delivery, key=f"treat:{gift.pk}:giver")
    Gift.objects.filter(pk=gift.pk).update(recipient_order=friend_order, giver_order=giver_order)
    for who, order, where in ((member, friend_order, delivery), (gift.giver, giver_order, giver_delivery)):
        fulfilment.owe_item(
            shop_id=gift.campaign.shop_id,
            member=who,
            source=gift.campaign.order_source,
            key=f"treat:{gift.pk}:{who.pk}",
            label=label_of(gift.campaign),
            destination=_destination(where),
            order=order,
        )
    return gift


def _free_order(gift: Gift, member, group, delivery: DeliveryRequest, *, key: str) -> Order:
    """A treat's zero-price order for `member`: the campaign's SKU through the engine (stock cap, budget: the
    item's price is the subsidy), priced to zero by this kind's pricing step (a GIFT adjustment)."""
    from campaigns.services import place_campaign_order

    campaign = gift.campaign
    return place_campaign_order(
        member=member,
        campaign=campaign,
        group=group,
        sku=campaign.sku,
        quantity=1,
        price=campaign.sku.price,
        delivery=delivery,
        idempotency_key=key,
        source=_source(campaign, GiftMode.TREAT),
        allow_after_end=True,
        free=True,
    )


# --- Expiry --------------------------------------------------------------------------------------------


def expire_gift(gift_id: int, *, now: datetime) -> int:
    """An unclaimed gift past its time: refunded to the giver (or returned to them), or a treat expired; one
    conditional UPDATE decides (0 if claimed or already closed), and the refund rides in its transaction."""
    gift = Gift.objects.select_related("campaign").filter(pk=gift_id).first()
    if gift is None:
        return 0
    if gift.mode == GiftMode.TREAT:
        to_state = GiftState.EXPIRED
    else:
        to_state = GiftState.RETURNED if Rules(gift.campaign).on_expiry == OnExpiry.RETURN else GiftState.REFUNDED
    with transaction.atomic():
        _lock_order(gift.order_id)
        moved = _close(gift_id, to_state=to_state, now=now)
        if moved and to_state == GiftState.REFUNDED:
            _refund_gift_order(gift.order, reason=_("礼物过期未领取，退款给送礼人"))
    return int(moved)


def _close(gift_id: int, *, to_state: str, now: datetime) -> bool:
    """ONE conditional UPDATE closes an open gift past its time: True for exactly one of concurrent runs."""
    return (
        Gift.objects.filter(pk=gift_id, state=GiftState.OPEN, expires_at__lte=now).update(state=to_state, closed_at=now)
        == 1
    )


def _lock_order(order_id: int | None) -> None:
    """Lock a paid gift's order row before its gift's: the order core's writes (a refund, a shipment) lock the
    order first and then reach the gift through their hooks, so every path takes the two in that order."""
    if order_id is not None:
        Order.objects.select_for_update().filter(pk=order_id).values_list("pk", flat=True).first()


def _refund_gift_order(order: Order, *, reason: str) -> None:
    """Refund the whole gift order through the order core's refund service (its unique key pays out once)."""
    order = Order.objects.select_for_update().get(pk=order.pk)
    if order.state == OrderState.PAID:
        order_services.request_refund(order=order, by=None, reason=reason)
        order_services.approve_refund(order=order, by=None, reason=reason)


def expire_due_gifts(*, now: datetime | None = None, limit: int = 1000) -> int:
    """Close the open gifts whose time is over. Each in its own transaction; safe to run twice or concurrently."""
    now = now or timezone.now()
    ids = list(
        Gift.objects.filter(state=GiftState.OPEN, expires_at__lte=now)
        .order_by("expires_at", "pk")
        .values_list("pk", flat=True)[:limit]
    )
    return sum(expire_gift(pk, now=now) for pk in ids)


# --- Reads ---------------------------------------------------------------------------------------------


def gifts_of_member(member, *, limit: int = 50) -> list[Gift]:
    """The member's gifts, given and received, newest first: one query."""
    return list(
        Gift.objects.filter(Q(giver=member) | Q(recipient=member))
        .select_related("campaign", "campaign__product", "campaign__sku", "giver", "recipient")
        .order_by("-created_at", "-pk")[:limit]
    )


def give_figures(campaign: Campaign) -> dict:
    """Live figures of one give campaign: two queries."""
    gifts = Gift.objects.filter(campaign=campaign).aggregate(
        made=Count("pk"),
        open=Count("pk", filter=Q(state=GiftState.OPEN)),
        claimed=Count("pk", filter=Q(state=GiftState.CLAIMED)),
        refunded=Count("pk", filter=Q(state=GiftState.REFUNDED)),
        returned=Count("pk", filter=Q(state=GiftState.RETURNED)),
        expired=Count("pk", filter=Q(state=GiftState.EXPIRED)),
    )
    free = CampaignOrder.objects.filter(campaign=campaign, released_at__isnull=True, unit_price=0).aggregate(
        units=Sum("units"), subsidy=Sum("subsidy")
    )
    return {
        _("发出礼物"): gifts["made"],
        _("待领取"): gifts["open"],
        _("已领取"): gifts["claimed"],
        _("过期退款"): gifts["refunded"],
        _("过期退回"): gifts["returned"],
        _("请客过期"): gifts["expired"],
        _("免费件数"): free["units"] or 0,
        _("免费补贴（元）"): free["subsidy"] or Decimal("0.00"),
    }


# --- The plug-in -----------------------------------------------------------------------------------------


class GiveKind(CampaignKind):
    code = CampaignType.GIVE
    label = gettext_lazy("赠送")
    summary = gettext_lazy("买一份送好友，好友凭链接领取；或请好友喝一杯，好友领取时两人都免费得。")
    essential_settings = ("mode", "claim_days")
    sells = True

    @property
    def settings_form(self):
        from .forms import GiveSettingsForm

        return GiveSettingsForm

    def validate_settings(self, *, campaign_fields: dict, settings: dict) -> dict:
        return clean_give_settings(campaign_fields=campaign_fields, settings=settings)

    def expire_due(self, *, now) -> int:
        return expire_due_gifts(now=now)

    def on_end(self, campaign) -> None:
        """An ended campaign's open treats end with it (nothing was paid); paid gifts keep their own time."""
        Gift.objects.filter(campaign=campaign, mode=GiftMode.TREAT, state=GiftState.OPEN).update(
            state=GiftState.EXPIRED, closed_at=timezone.now()
        )

    def after_paid(self, order) -> None:
        if _mode_of(order) == GiftMode.GIFT:
            _gift_of_paid_order(order, now=timezone.now())

    def pricing(self, draft, campaign) -> list:
        """A treat's two orders are free (the campaign's budget pays the item's price); a paid gift is not."""
        if _mode_of(draft) != GiftMode.TREAT:
            return []
        from campaigns.services import free_item_adjustments

        return free_item_adjustments(draft, campaign, reason=_("请好友喝一杯：两人免费"))

    def page_after_payment(self, order) -> str | None:
        gift = Gift.objects.filter(order_id=order.pk).only("token").first()
        return gift.get_absolute_url() if gift is not None else None

    def before_ship(self, order) -> None:
        """A gift order ships only to the friend who claimed it (from the fulfilment queue)."""
        if (
            _mode_of(order) == GiftMode.GIFT
            and not Gift.objects.filter(order_id=order.pk, state=GiftState.CLAIMED).exists()
        ):
            raise ValidationError(_("礼物尚未被领取，不能发货。"))

    def after_refund(self, order) -> None:
        """A refunded gift order withdraws its unclaimed gift; whatever it owed is no longer owed."""
        Gift.objects.filter(order_id=order.pk, state__in=(GiftState.OPEN, GiftState.RETURNED)).update(
            state=GiftState.REFUNDED, closed_at=timezone.now()
        )
        fulfilment.void_items_of_order(order)

    def figures(self, campaign) -> dict:
        return give_figures(campaign)

    def landing_context(self, campaign, user) -> dict:  # noqa: ARG002 - the same page for everyone
        # A fresh key per page view: a double tap on 买一份送好友 places one order.
        return {"give_rules": Rules(campaign), "gift_key": secrets.token_hex(12)}

    def api_fields(self) -> dict:
        from rest_framework import serializers

        return {"give": serializers.DictField(read_only=True, allow_null=True, help_text="送: mode, claim_days")}

    def api_extras(self, campaign) -> dict:
        rules = Rules(campaign)
        return {"give": {"mode": rules.mode, "claim_days": rules.claim_time.days, "on_expiry": rules.on_expiry}}

    def poster_offer(self, campaign, target) -> str:
        """买一份送好友 · ¥x, or 请好友喝一杯 · 两人免费得; on a gift's poster, who it is from."""
        rules = Rules(campaign)
        if isinstance(target, Gift):
            return _("%(name)s 送你一份礼物 · %(days)d 天内领取") % {
                "name": target.giver.public_name,
                "days": rules.claim_time.days,
            }
        if rules.mode == GiftMode.TREAT:
            return _("请好友喝一杯 · 两人免费得")
        return _("买一份送好友 · ¥%(price)s") % {"price": campaign.sku.price if campaign.sku_id else "—"}


registry.register(GiveKind())
