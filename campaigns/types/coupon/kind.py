"""券 Coupons (优惠券): a coupon template is a campaign of type "coupon"; members claim coupons of it, rules
grant them, orders use them, refunds give them back, fraud voids them.

Rules and where each is decided:
- the template's terms (settings): 满减 amount off over a threshold, 折扣 a percentage off with a cap,
  无门槛 amount off with no threshold, 兑换券 one unit of the campaign's SKU free; a scope (all products,
  some products, orders placed in some groups); validity (fixed dates, or N days after the claim); who may
  claim (everyone in the campaign's groups, new members, members with some tags); whether it stacks with
  a campaign price; whether a refund gives it back; whether the coupon centre lists it; whether it is the
  shop's invite-both-get (邀请双方得券) coupon;
- supply: the campaign's stock cap, taken by ONE conditional UPDATE of the campaign row
  (`stock_used = stock_used + 1 WHERE stock_used < stock_cap AND state = 'running'`), so the last unit is
  claimed exactly once under any concurrency (a CHECK keeps stock_used ≤ stock_cap behind it);
- limits per member (the campaign's per_member_limit, 1 when empty) and per member and day: each claim
  takes the next number, and (template, member, number) and (template, member, day, number) are unique:
  the database refuses a claim past either limit however many taps race;
- a rule's grant (`grant_coupon`) is the one entry point for rewards (invite-both-get through the referral
  reward rules, and any other rule): once per key, from the same supply, regardless of the claim limits;
- at checkout (checkout.py) the member's usable coupons are priced against the order and the best one is
  preselected; one coupon per order (a unique index), a coupon with a campaign price only where the
  template allows it; the order's coupon row (source "coupon:<id>") marks the coupon used by a conditional
  UPDATE inside the order's transaction, so one coupon pays for one order;
- an order cancelled, or refunded in full, gives its coupon back while still valid (per template); a
  partial refund keeps it used; a member's available coupons are voided when a fraud flag on them is
  confirmed; coupons past their validity expire (the engine's periodic job).
"""

import logging
from datetime import datetime, timedelta
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.db.models import Count, DurationField, F, Func, Min, Q
from django.urls import reverse
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from campaigns import registry
from campaigns.models import Campaign, CampaignState, CampaignType, Coupon, CouponChannel, CouponState
from campaigns.types.assisted.refusals import ActRefused
from campaigns.types.base import CampaignKind
from shequn.bounds import MAX_COUPON_NOTICE_HOURS

from .terms import (
    CENT,
    SOURCE_PREFIX,
    Audience,
    CouponKindCode,
    Line,
    Scope,
    Validity,
    coupon_id_in,
    coupons_of_member,
    discount,
    face_words,
    source_of,
    terms_of,
    usable_coupons,
)

__all__ = [  # the type's rules, and the terms they are written in (terms.py)
    "Audience",
    "CouponKindCode",
    "CouponKind",
    "CouponRefused",
    "Line",
    "Scope",
    "Validity",
    "claim_coupon",
    "coupon_id_in",
    "coupons_of_member",
    "discount",
    "face_words",
    "grant_coupon",
    "source_of",
    "terms_of",
    "usable_coupons",
]

logger = logging.getLogger(__name__)

MAX_VALID_DAYS = 365
MAX_PER_DAY = 100
GRANT_KEY_MAX = 80


class CouponRefused(ActRefused):
    """A claim or a grant that cannot happen, with a reason code the pages and the API show in words."""

    MESSAGES = {
        **ActRefused.MESSAGES,
        "not_coupon": gettext_lazy("这不是优惠券活动。"),
        "not_member": gettext_lazy("请先加入活动所在的群，再领取优惠券。"),
        "not_listed": gettext_lazy("这张券不能自行领取，只能通过活动规则获得。"),
        "not_new": gettext_lazy("这张券仅限新用户领取（未在本店下过单）。"),
        "not_tagged": gettext_lazy("这张券仅限指定标签的成员领取。"),
        "sold_out": gettext_lazy("券已领完了。"),
        "limit": gettext_lazy("每人最多领取 %(n)d 张，你已经领过了。"),
        "day_limit": gettext_lazy("每人每天最多领取 %(n)d 张，明天再来吧。"),
        "ended": gettext_lazy("这张券的有效期已过，不能再领取。"),
    }


# --- Settings (the template's terms) --------------------------------------------------------------------


def _int_in(value, name: str, errors: dict, *, low: int, high: int, message: str, default=None) -> int | None:
    if value in (None, ""):
        return default
    try:
        number = int(str(value).strip())
    except (TypeError, ValueError):
        errors[name] = message
        return None
    if not low <= number <= high:
        errors[name] = message
        return None
    return number


def _ids(value) -> tuple[list[int], list[str]]:
    """Ids and names from a list of ids or a comma-separated text of ids or names (the dashboard's field)."""
    if isinstance(value, list | tuple):
        tokens = [str(v) for v in value]
    else:
        tokens = str(value or "").strip("[] ").replace("，", ",").split(",")
    tokens = [t.strip().strip("'\"") for t in tokens if t.strip().strip("'\"")]
    return [int(t) for t in tokens if t.isdigit()], [t for t in tokens if not t.isdigit()]


def _shop_ids(model, value, *, shop, name: str, errors: dict, message: str) -> list[int]:
    """The shop's rows named by `value` (ids or names) as sorted ids; a name or id not of the shop is an error."""
    ids, names = _ids(value)
    found = model.objects.filter(Q(pk__in=ids) | Q(name__in=names), shop=shop).values_list("pk", "name")
    found_ids = {pk for pk, _name in found}
    found_names = {name_ for _pk, name_ in found}
    if set(ids) - found_ids or set(names) - found_names or not (ids or names):
        errors[name] = message
    return sorted(found_ids)


def _moment(value, name: str, errors: dict) -> datetime | None:
    if isinstance(value, datetime):
        moment = value
    else:
        moment = parse_datetime(str(value or "").strip().replace(" ", "T")) if value else None
    if moment is None:
        errors[name] = _("请填写正确的时间。")
        return None
    return timezone.make_aware(moment) if timezone.is_naive(moment) else moment


def _money(amount: Decimal | None) -> str | None:
    return str(amount.quantize(CENT)) if amount else None


def _clean_face(settings: dict, campaign_fields: dict, errors: dict) -> dict:
    """The coupon's face value by kind: amount (and threshold), percentage (and cap), or the exchanged SKU."""
    from campaigns.services import parse_money

    kind = settings.get("coupon_kind") or CouponKindCode.THRESHOLD
    face: dict = {"coupon_kind": kind, "amount_off": None, "threshold": None, "percent_off": None, "max_off": None}
    if kind not in CouponKindCode.CHOICES:
        errors["coupon_kind"] = _("请选择券的类型：满减、折扣、无门槛或兑换券。")
    elif kind in (CouponKindCode.THRESHOLD, CouponKindCode.NO_THRESHOLD):
        amount = parse_money(settings.get("amount_off"), "amount_off", errors, required=True)
        face["amount_off"] = _money(amount)
        if kind == CouponKindCode.THRESHOLD:
            threshold = parse_money(settings.get("threshold"), "threshold", errors, required=True)
            face["threshold"] = _money(threshold)
            if amount and threshold and threshold < amount:
                errors["threshold"] = _("使用门槛不能低于减免金额。")
    elif kind == CouponKindCode.PERCENT:
        face["percent_off"] = _int_in(
            settings.get("percent_off"),
            "percent_off",
            errors,
            low=1,
            high=99,
            message=_("折扣力度须在 1%–99% 之间。"),
        )
        if face["percent_off"] is None:
            errors.setdefault("percent_off", _("折扣力度须在 1%–99% 之间。"))
        cap = parse_money(settings.get("max_off"), "max_off", errors)
        face["max_off"] = _money(cap)
    elif campaign_fields.get("sku") is None:
        errors["sku"] = _("兑换券需要选择兑换的商品规格。")
    return face


def _clean_scope(settings: dict, shop, errors: dict) -> dict:
    from groups.models import Group
    from orders.models import Product

    scope = settings.get("scope") or Scope.ALL
    cleaned = {"scope": scope, "scope_products": [], "scope_groups": []}
    if scope not in Scope.CHOICES:
        errors["scope"] = _("请选择适用范围。")
    elif scope == Scope.PRODUCTS:
        cleaned["scope_products"] = _shop_ids(
            Product,
            settings.get("scope_products"),
            shop=shop,
            name="scope_products",
            errors=errors,
            message=_("请填写本店的商品（名称或编号，逗号分隔）。"),
        )
    elif scope == Scope.GROUPS:
        cleaned["scope_groups"] = _shop_ids(
            Group,
            settings.get("scope_groups"),
            shop=shop,
            name="scope_groups",
            errors=errors,
            message=_("请填写本店的群（名称或编号，逗号分隔）。"),
        )
    return cleaned


def _clean_validity(settings: dict, campaign_fields: dict, errors: dict) -> dict:
    validity = settings.get("validity") or Validity.RELATIVE
    cleaned = {"validity": validity, "valid_from": None, "valid_until": None, "valid_days": None}
    if validity not in Validity.CHOICES:
        errors["validity"] = _("请选择有效期方式：固定日期或领取后 N 天。")
    elif validity == Validity.FIXED:
        start = _moment(settings.get("valid_from"), "valid_from", errors)
        end = _moment(settings.get("valid_until"), "valid_until", errors)
        ends_at = campaign_fields.get("ends_at")
        if start and end and end <= start:
            errors["valid_until"] = _("失效时间必须晚于生效时间。")
        elif end and isinstance(ends_at, datetime) and end < ends_at:
            errors["valid_until"] = _("失效时间不能早于活动结束时间（领到的券要能用）。")
        cleaned["valid_from"] = start.isoformat() if start else None
        cleaned["valid_until"] = end.isoformat() if end else None
    else:
        cleaned["valid_days"] = _int_in(
            settings.get("valid_days"),
            "valid_days",
            errors,
            low=1,
            high=MAX_VALID_DAYS,
            default=7,
            message=_("有效天数须在 1–%(max)d 天之间。") % {"max": MAX_VALID_DAYS},
        )
    return cleaned


def _clean_audience(settings: dict, shop, errors: dict) -> dict:
    from groups.models import Tag

    audience = settings.get("audience") or Audience.EVERYONE
    cleaned = {"audience": audience, "audience_tags": []}
    if audience not in Audience.CHOICES:
        errors["audience"] = _("请选择谁可以领取。")
    elif audience == Audience.TAGS:
        cleaned["audience_tags"] = _shop_ids(
            Tag,
            settings.get("audience_tags"),
            shop=shop,
            name="audience_tags",
            errors=errors,
            message=_("请填写本店的成员标签（名称或编号，逗号分隔）。"),
        )
    return cleaned


def _flag(value) -> bool:
    return value is True or str(value).lower() in ("1", "true", "on", "yes")


def clean_coupon_settings(*, campaign_fields: dict, settings: dict) -> dict:
    """The template's terms, cleaned (see the module's rules); Chinese messages per field."""
    shop = campaign_fields.get("shop")
    errors: dict[str, str] = {}
    cleaned = {
        **_clean_face(settings, campaign_fields, errors),
        **_clean_scope(settings, shop, errors),
        **_clean_validity(settings, campaign_fields, errors),
        **_clean_audience(settings, shop, errors),
        "per_day_limit": _int_in(
            settings.get("per_day_limit"),
            "per_day_limit",
            errors,
            low=1,
            high=MAX_PER_DAY,
            message=_("每日限领须在 1–%(max)d 张之间。") % {"max": MAX_PER_DAY},
        ),
        "stack_with_campaign_price": _flag(settings.get("stack_with_campaign_price")),
        "return_on_refund": _flag(settings.get("return_on_refund", True)),
        "in_centre": _flag(settings.get("in_centre", True)),
        "referral_reward": _flag(settings.get("referral_reward")),
        "repurchase_reminder": _flag(settings.get("repurchase_reminder")),
    }
    if errors:
        raise ValidationError(errors)
    return cleaned


def centre_templates(member) -> list[Campaign]:
    """The coupon centre: running coupon templates listed there, of the member's campaigns (their shops'
    groups), each with `mine` (how many the member holds) and `left` (supply left, None: unlimited). Two
    queries, however many templates."""
    from campaigns.selectors import running_campaigns_for_member

    templates = [
        campaign
        for campaign in running_campaigns_for_member(member).filter(type=CampaignType.COUPON).select_related("shop")
        if campaign.settings.get("in_centre", True)
    ]
    held = dict(
        Coupon.objects.filter(member=member, campaign__in=[c.pk for c in templates], claim_number__isnull=False)
        .values_list("campaign")
        .annotate(n=Count("pk"))
    )
    for campaign in templates:
        campaign.mine = held.get(campaign.pk, 0)
        campaign.left = None if campaign.stock_cap is None else max(campaign.stock_cap - campaign.stock_used, 0)
        campaign.limit = claim_limit(campaign)
        campaign.face = face_words(campaign.settings)
    return templates


def claim_limit(campaign: Campaign) -> int:
    return campaign.per_member_limit or 1


# --- Claiming and granting -------------------------------------------------------------------------------


def claim_problem(campaign: Campaign, member, *, now: datetime) -> str | None:
    """Why `member` may not claim a coupon of `campaign` now (a CouponRefused reason), or None. Claiming
    decides again under the database's guards."""
    from campaigns.services import is_new_to_shop, member_groups_for

    if campaign.type != CampaignType.COUPON:
        return "not_coupon"
    if campaign.state != CampaignState.RUNNING or campaign.ends_at <= now:
        return "not_running"
    if not campaign.settings.get("in_centre", True):
        return "not_listed"
    if not member_groups_for(campaign, member):
        return "not_member"
    audience = campaign.settings.get("audience") or Audience.EVERYONE
    if audience == Audience.NEW_MEMBERS and not is_new_to_shop(member, campaign.shop_id):
        return "not_new"
    if audience == Audience.TAGS and not _has_tag(member, campaign):
        return "not_tagged"
    return None


def _has_tag(member, campaign: Campaign) -> bool:
    from groups.models import Membership, MembershipStatus

    return Membership.objects.filter(
        user=member,
        group__shop_id=campaign.shop_id,
        status=MembershipStatus.ACTIVE,
        tags__in=campaign.settings.get("audience_tags") or [],
    ).exists()


def refusal(reason: str, campaign: Campaign) -> CouponRefused:
    if reason == "limit":
        return CouponRefused(reason, n=claim_limit(campaign))
    if reason == "day_limit":
        return CouponRefused(reason, n=campaign.settings.get("per_day_limit") or 0)
    return CouponRefused(reason)


def _take_supply(campaign_id: int) -> bool:
    """One unit of the template's supply: ONE conditional UPDATE whose row count decides, so the last unit
    goes to exactly one claimer. It locks the campaign's row until commit: callers take it last."""
    table = Campaign._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} SET stock_used = stock_used + 1"
            " WHERE id = %s AND state = %s AND (stock_cap IS NULL OR stock_used < stock_cap)",
            [campaign_id, CampaignState.RUNNING],
        )
        return cursor.rowcount == 1


def _validity(terms: dict, now: datetime) -> tuple[datetime, datetime]:
    if terms.get("validity") == Validity.FIXED:
        return datetime.fromisoformat(terms["valid_from"]), datetime.fromisoformat(terms["valid_until"])
    return now, now + timedelta(days=terms.get("valid_days") or 7)


def _issue(campaign: Campaign, member, *, now: datetime, **fields) -> Coupon:
    """Insert the coupon, then take a unit of supply (the campaign row locked last); one transaction, so a
    refused unit takes the row back. CouponRefused when the supply is gone."""
    terms = terms_of(campaign)
    valid_from, valid_until = _validity(terms, now)
    if valid_until <= now:
        raise CouponRefused("ended")
    with transaction.atomic():
        coupon = Coupon.objects.create(
            shop_id=campaign.shop_id,
            campaign=campaign,
            member=member,
            terms=terms,
            valid_from=valid_from,
            valid_until=valid_until,
            claimed_at=now,
            **fields,
        )
        if not _take_supply(campaign.pk):
            raise CouponRefused("sold_out")
    return coupon


def _numbers(campaign: Campaign, member, day) -> tuple[int, int | None]:
    """The member's next claim number of the template, and of the day (None without a daily limit);
    CouponRefused when either limit is spent."""
    mine = Coupon.objects.filter(campaign=campaign, member=member, claim_number__isnull=False)
    number = mine.count() + 1
    if number > claim_limit(campaign):
        raise refusal("limit", campaign)
    per_day = campaign.settings.get("per_day_limit")
    if not per_day:
        return number, None
    day_number = mine.filter(claim_day=day).count() + 1
    if day_number > per_day:
        raise refusal("day_limit", campaign)
    return number, day_number


def claim_coupon(*, campaign: Campaign, member, channel: str = CouponChannel.CENTRE, now=None) -> Coupon:
    """`member` claims a coupon of the template (from the coupon centre, a link or a poster). Refused
    (CouponRefused) when the member may not, past the per-member or per-day limit (decided by the unique
    claim numbers), or when the supply is gone (decided by one conditional UPDATE): never more coupons than
    the supply, never more per member than the limits."""
    now = now or timezone.now()
    campaign = Campaign.objects.get(pk=campaign.pk)
    problem = claim_problem(campaign, member, now=now)
    if problem:
        raise refusal(problem, campaign)
    day = timezone.localdate(now)
    for attempt in (1, 2):
        number, day_number = _numbers(campaign, member, day)
        try:
            return _issue(
                campaign,
                member,
                now=now,
                channel=channel,
                claim_number=number,
                claim_day=day,
                day_number=day_number,
            )
        except IntegrityError as exc:
            if attempt == 2:  # a concurrent claim of the same member took the number twice: the limit holds
                raise refusal("day_limit" if "coupon_day_number_once" in str(exc) else "limit", campaign) from None
    raise AssertionError("unreachable")


def grant_coupon(
    *, template: Campaign, member, reason: str, key: str, now=None, issuer: Campaign | None = None
) -> Coupon:
    """Give `member` a coupon of `template` for a rule's act (a referral reward, a help reward, a prize, a
    reminder): the one entry point for rule grants. Once per key (the same key returns the same coupon);
    from the template's supply (CouponRefused "sold_out" when it is gone); the claim limits and audience
    do not apply: the rule decided. `issuer`: the campaign whose rule gives it (a check-in milestone, a
    contest's prize, the share link that brought a referral), whose cost the coupon's discount then is in
    campaign ROI."""
    now = now or timezone.now()
    key = (key or "").strip()[:GRANT_KEY_MAX]
    if not key:
        raise ValueError("a rule's grant needs its key")
    existing = Coupon.objects.filter(campaign=template, grant_key=key).first()
    if existing is not None:
        return existing
    template = Campaign.objects.get(pk=template.pk)
    if template.type != CampaignType.COUPON:
        raise CouponRefused("not_coupon")
    if template.state != CampaignState.RUNNING:
        raise CouponRefused("not_running")
    try:
        return _issue(
            template,
            member,
            now=now,
            channel=CouponChannel.RULE,
            reason=reason[:120],
            grant_key=key,
            issuer_campaign_id=issuer.pk if issuer is not None and issuer.pk != template.pk else None,
        )
    except IntegrityError:
        existing = Coupon.objects.filter(campaign=template, grant_key=key).first()
        if existing is None:
            raise
        return existing


# --- Using, giving back, voiding, expiring ----------------------------------------------------------------


def use_coupon(*, coupon_id: int, order, now=None) -> None:
    """The order takes the coupon: available → used by ONE conditional UPDATE (the member's own, valid now,
    not used by another order), inside the order's transaction. ValidationError refuses the order."""
    now = now or timezone.now()
    taken = Coupon.objects.filter(
        pk=coupon_id,
        member_id=order.member_id,
        shop_id=order.shop_id,
        state=CouponState.AVAILABLE,
        valid_from__lte=now,
        valid_until__gt=now,
    ).update(state=CouponState.USED, order=order, used_at=now)
    if taken != 1:
        raise ValidationError(_("这张优惠券已不可用（已使用、已过期或不属于你），请重新选择。"))


def give_back(order, *, refunded: bool, now=None) -> int:
    """The order's coupon, used → available again while still valid: always for a cancelled unpaid order, for
    a full refund when its template gives coupons back. A partial refund announces nothing and keeps it."""
    now = now or timezone.now()
    used = Coupon.objects.filter(order=order, state=CouponState.USED, valid_until__gt=now)
    if refunded:
        used = used.exclude(terms__return_on_refund=False)
    from django.db.models import F

    return used.update(state=CouponState.AVAILABLE, order=None, used_at=None, returned_count=F("returned_count") + 1)


def void_member_coupons(*, shop_id: int, member_id: int | None = None, member_ids=(), reason: str, now=None) -> int:
    """Members confirmed as fraud: their available coupons of the shop become void (used ones stay with
    their orders). One statement for any number of members."""
    now = now or timezone.now()
    wanted = set(member_ids) | ({member_id} if member_id is not None else set())
    if not wanted:
        return 0
    return Coupon.objects.filter(shop_id=shop_id, member_id__in=wanted, state=CouponState.AVAILABLE).update(
        state=CouponState.VOID, voided_at=now, void_reason=reason[:200]
    )


def expire_coupons(*, now=None) -> int:
    """Available coupons past their validity → expired: one statement, idempotent, safe concurrently."""
    now = now or timezone.now()
    return Coupon.objects.filter(state=CouponState.AVAILABLE, valid_until__lte=now).update(state=CouponState.EXPIRED)


# --- Receivers of the lower apps' hooks ---------------------------------------------------------------------


def on_order_created(order) -> None:
    """The order core wrote the order's adjustments before this: a coupon row (source "coupon:<id>") marks
    that coupon used, once."""
    from orders.models import AdjustmentKind

    coupon_rows = order.adjustments.filter(kind=AdjustmentKind.COUPON, source__startswith=SOURCE_PREFIX)
    for source in coupon_rows.values_list("source", flat=True):
        coupon_id = coupon_id_in(source)
        if coupon_id is not None:
            use_coupon(coupon_id=coupon_id, order=order)


def on_order_cancelled(order) -> None:
    give_back(order, refunded=False)


def on_order_refunded(order) -> None:
    give_back(order, refunded=True)


def referral_template(shop_id: int) -> Campaign | None:
    """The shop's invite-both-get coupon: its running coupon template marked as the referral reward (the
    latest to start)."""
    return (
        Campaign.objects.filter(shop_id=shop_id, type=CampaignType.COUPON, state=CampaignState.RUNNING)
        .filter(settings__referral_reward=True)
        .order_by("-starts_at", "-pk")
        .first()
    )


def reminder_template(shop_id: int) -> Campaign | None:
    """The coupon a shop's repeat-purchase reminders carry: its running template marked for them (the latest
    to start)."""
    return (
        Campaign.objects.filter(shop_id=shop_id, type=CampaignType.COUPON, state=CampaignState.RUNNING)
        .filter(settings__repurchase_reminder=True)
        .order_by("-starts_at", "-pk")
        .first()
    )


def on_repurchase_reminded(reminders) -> None:
    """A repeat-purchase reminder carries a coupon of the shop's reminder template: one per reminder (key
    reminder:<id>, so a rerun of the batch gives nothing twice). Never raises (the reminders are sent): a
    template missing or sold out is logged. One template query per shop, then the grants."""
    templates: dict[int, Campaign | None] = {}
    for reminder in reminders:
        if reminder.shop_id not in templates:
            templates[reminder.shop_id] = reminder_template(reminder.shop_id)
        template = templates[reminder.shop_id]
        if template is None:
            continue
        try:
            with transaction.atomic():
                grant_coupon(
                    template=template, member=reminder.member, reason=_("复购提醒赠券"), key=f"reminder:{reminder.pk}"
                )
        except CouponRefused as refused:
            logger.warning("reminder %s: coupon not given: %s", reminder.pk, refused.reason)


def reminder_carries(reminders) -> dict[int, str]:
    """repurchase_reminder_carries receiver: the words naming the coupon each reminder gave (key
    reminder:<id>), e.g. 附赠一张「复购券」（满 100 减 20），已放入你的券包。 One query for the batch; the words
    made once per template, not per member."""
    wanted = {f"reminder:{reminder.pk}": reminder.pk for reminder in reminders}
    if not wanted:
        return {}
    given = Coupon.objects.filter(
        member_id__in={reminder.member_id for reminder in reminders}, grant_key__in=list(wanted)
    ).values_list("grant_key", "campaign_id", "terms")
    words: dict[int, str] = {}
    said: dict[int, str] = {}
    for key, template_id, terms in given:
        if template_id not in words:
            name, face = terms.get("name", ""), face_words(terms)
            words[template_id] = (
                _("附赠一张「%(name)s」优惠券（%(face)s），已放入你的券包，下单时可用。") % {"name": name, "face": face}
                if name and name != face
                else _("附赠一张「%(face)s」优惠券，已放入你的券包，下单时可用。") % {"face": face}
            )
        said[wanted[key]] = words[template_id]
    return said


def on_referral_reward_granted(reward) -> None:
    """邀请双方得券: a coupon reward passed the referral rules (review period, caps, fraud hold): the inviter
    and the invitee each get a coupon of the shop's invite-both-get template, once per reward and side.
    Never raises (the reward is granted): a template that is missing or sold out is logged.

    The reward itself costs nothing in campaign ROI: its coupons cost what they take off paid orders, borne by
    the campaign whose share link brought the referral (the issuer), as its points rewards are; a referral no
    campaign brought leaves them the template's."""
    if reward.kind != "coupon":
        return
    template = referral_template(reward.shop_id)
    if template is None:
        logger.warning("coupon reward %s: shop %s has no running invite-both-get coupon", reward.pk, reward.shop_id)
        return
    brought_by = reward.edge.campaign_id
    issuer = Campaign.objects.filter(pk=brought_by, shop_id=reward.shop_id).first() if brought_by else None
    sides = (("inviter", reward.inviter, _("邀请好友奖励")), ("invitee", reward.invitee, _("受邀首单奖励")))
    for side, member, reason in sides:
        try:
            with transaction.atomic():
                grant_coupon(
                    template=template, member=member, reason=reason, key=f"referral:{reward.pk}:{side}", issuer=issuer
                )
        except CouponRefused as refused:
            logger.warning("coupon reward %s (%s) not given: %s", reward.pk, side, refused.reason)


def on_fraud_flag_confirmed(flag) -> None:
    """A confirmed flag voids the coupons of every member it covers: its member, or for a device, IP or ring
    flag with no member of its own, the people its subject and events name."""
    from referrals.fraud import covered_members

    void_member_coupons(shop_id=flag.shop_id, member_ids=covered_members(flag), reason=_("风控确认作废"))


# --- The plug-in -----------------------------------------------------------------------------------------


class CouponKind(CampaignKind):
    code = CampaignType.COUPON
    label = gettext_lazy("优惠券")
    summary = gettext_lazy("成员在领券中心或分享链接领券，下单时自动抵扣；也可作为邀请双方得券的奖励。")
    essential_settings = ("coupon_kind", "amount_off", "threshold", "percent_off")
    sells = False

    @property
    def settings_form(self):
        from .forms import CouponSettingsForm

        return CouponSettingsForm

    def validate_settings(self, *, campaign_fields: dict, settings: dict) -> dict:
        return clean_coupon_settings(campaign_fields=campaign_fields, settings=settings)

    def expire_due(self, *, now) -> int:
        return expire_coupons(now=now)

    def landing_context(self, campaign, user) -> dict:
        context = {"coupon_face": face_words(campaign.settings), "coupon_limit": claim_limit(campaign)}
        if user.is_authenticated:
            context["my_coupons"] = list(coupons_of_member(user).filter(campaign=campaign)[:20])
            claimed = sum(1 for coupon in context["my_coupons"] if coupon.claim_number is not None)
            problem = claim_problem(campaign, user, now=timezone.now())
            if problem is None and claimed >= claim_limit(campaign):
                problem = "limit"
            context["claim_problem"] = refusal(problem, campaign).message_text if problem else ""
        return context

    def figures(self, campaign) -> dict:
        return coupon_figures(campaign)

    def settings_words(self, campaign) -> dict[str, str]:
        """The products, groups and tags of the scope and audience by their names (a query for each list
        that names any), never by their ids."""
        from campaigns.selectors import names_in_shop, names_shown
        from groups.models import Group, Tag
        from orders.models import Product

        settings = campaign.settings or {}
        words = {}
        for name, model, gone in (
            ("scope_products", Product, gettext_lazy("已失效的商品")),
            ("scope_groups", Group, gettext_lazy("已失效的群")),
            ("audience_tags", Tag, gettext_lazy("已失效的标签")),
        ):
            ids = settings.get(name) or []
            words[name] = names_shown(ids, names_in_shop(model, shop_id=campaign.shop_id, ids=ids), gone=gone)
        return words

    def dashboard_context(self, campaign, _request) -> dict:
        return {"recent_coupons": list(Coupon.objects.filter(campaign=campaign).select_related("member", "order")[:20])}

    def poster_offer(self, campaign, _target) -> str:
        return face_words(campaign.settings)

    # -- the member's own part, and messages --

    participation_label = gettext_lazy("我的优惠券")

    def member_states(self, campaigns: list, member) -> dict[int, dict]:
        """How many of each template's coupons the member holds usable, and when the first ends. One query."""
        now = timezone.now()
        held = (
            Coupon.objects.filter(
                campaign__in=[c.pk for c in campaigns],
                member=member,
                state=CouponState.AVAILABLE,
                valid_until__gt=now,
            )
            .values("campaign_id")
            .annotate(n=Count("pk"), first_end=Min("valid_until"))
        )
        return {
            row["campaign_id"]: {
                "summary": _("已领 %(n)d 张可用") % {"n": row["n"]},
                "url": reverse("campaigns:coupon_centre"),
                "ends_at": row["first_end"],
            }
            for row in held
        }

    def participations(self, member, *, limit: int) -> list[dict]:
        now = timezone.now()
        return [
            {
                "id": coupon.pk,
                "campaign_id": coupon.campaign_id,
                "title": coupon.campaign.hook_title or coupon.campaign.name,
                "state": coupon.state,
                "state_label": coupon.get_state_display(),
                "summary": coupon_summary(coupon),
                "live": coupon.is_usable_at(now),
                "ends_at": coupon.valid_until if coupon.state == CouponState.AVAILABLE else None,
                "url": reverse("campaigns:coupon_centre"),
            }
            for coupon in coupons_of_member(member)[:limit]
        ]

    def send_due_messages(self, *, now) -> int:
        return remind_expiring(now=now)


# --- The member's coupons, and the reminder before one expires ----------------------------------------------

# A coupon is "about to expire" within its shop's coupon_expiry_notice_hours of its end; a member is reminded only
# of coupons held longer than that. One run of the job reminds this many at most, the rest at its next run.
EXPIRY_NOTICE_BATCH = 1000


class _Hours(Func):
    """PostgreSQL's make_interval(hours => n): a column of whole hours as an interval."""

    template = "make_interval(hours => %(expressions)s)"
    output_field = DurationField()


def coupon_summary(coupon: Coupon) -> str:
    face = face_words(coupon.terms)
    if coupon.state == CouponState.AVAILABLE:
        until = timezone.localtime(coupon.valid_until)
        return _("%(face)s · %(until)s 前可用") % {"face": face, "until": f"{until:%m-%d %H:%M}"}
    return f"{face} · {coupon.get_state_display()}"


def remind_expiring(*, now: datetime | None = None) -> int:
    """Each available coupon whose end is within its shop's coupon_expiry_notice_hours, held longer than that,
    gets one reminder to its member (the key is the coupon's), through the outbox: the member's opt-out, quiet
    hours and the cap apply. Idempotent; safe to run concurrently (the unique key decides)."""
    from django.db.models import CharField, Exists, OuterRef, Value
    from django.db.models.functions import Cast, Concat

    from notifications.models import Category, Notification
    from notifications.services import Outgoing, notify_many

    now = now or timezone.now()
    # Those reminded already are left out here, so a batch always holds coupons still to remind.
    reminded = Notification.objects.filter(
        key=Concat(Value("campaign:coupon:"), Cast(OuterRef("pk"), CharField()), Value(":expiring"))
    )
    due = list(
        Coupon.objects.filter(
            state=CouponState.AVAILABLE,
            valid_until__gt=now,
            valid_until__lte=now + timedelta(hours=MAX_COUPON_NOTICE_HOURS),  # no shop reminds earlier
        )
        .alias(notice=_Hours(F("shop__settings__coupon_expiry_notice_hours")))
        .filter(valid_until__lte=Value(now) + F("notice"), claimed_at__lt=Value(now) - F("notice"))
        .filter(~Exists(reminded))
        .select_related("campaign")
        .order_by("valid_until", "pk")[:EXPIRY_NOTICE_BATCH]
    )
    items = [
        Outgoing(
            shop_id=coupon.shop_id,
            user_id=coupon.member_id,
            category=Category.CAMPAIGN,
            kind="coupon_expiring",
            key=f"campaign:coupon:{coupon.pk}:expiring",
            title=_("你有一张优惠券快到期了"),
            body=_("「%(name)s」%(face)s，%(until)s 到期，别忘了用。")
            % {
                "name": coupon.campaign.name,
                "face": face_words(coupon.terms),
                "until": f"{timezone.localtime(coupon.valid_until):%m-%d %H:%M}",
            },
            url=reverse("campaigns:coupon_centre"),
        )
        for coupon in due
    ]
    if not items:
        return 0
    with transaction.atomic():
        return len(notify_many(items, now=now))


def coupon_figures(campaign: Campaign) -> dict:
    """Live figures of one coupon template: one query."""
    counts = Coupon.objects.filter(campaign=campaign).aggregate(
        issued=Count("pk"),
        claimed=Count("pk", filter=Q(grant_key="")),
        granted=Count("pk", filter=~Q(grant_key="")),
        available=Count("pk", filter=Q(state=CouponState.AVAILABLE)),
        used=Count("pk", filter=Q(state=CouponState.USED)),
        expired=Count("pk", filter=Q(state=CouponState.EXPIRED)),
        void=Count("pk", filter=Q(state=CouponState.VOID)),
    )
    left = "∞" if campaign.stock_cap is None else max(campaign.stock_cap - campaign.stock_used, 0)
    return {
        _("已发放"): counts["issued"],
        _("自领"): counts["claimed"],
        _("规则发放"): counts["granted"],
        _("可使用"): counts["available"],
        _("已使用"): counts["used"],
        _("已过期"): counts["expired"],
        _("已作废"): counts["void"],
        _("剩余"): left,
    }


registry.register(CouponKind())


def connect_hooks() -> None:
    """The coupon type's receivers of the lower apps' hooks (called once the kind is registered, from the
    campaigns app's ready() through the registry's autodiscovery; connecting again changes nothing)."""
    from shequn import hooks

    hooks.order_created.connect(on_order_created, priority=hooks.DECIDE + 20)
    hooks.order_cancelled.connect(on_order_cancelled, priority=hooks.DECIDE + 20)
    hooks.order_refunded.connect(on_order_refunded, priority=hooks.DECIDE + 20)
    hooks.referral_reward_granted.connect(on_referral_reward_granted, priority=hooks.DECIDE)
    hooks.fraud_flag_confirmed.connect(on_fraud_flag_confirmed, priority=hooks.DECIDE)
    hooks.repurchase_reminded.connect(on_repurchase_reminded, priority=hooks.DECIDE)
    hooks.repurchase_reminder_carries.connect(reminder_carries, priority=hooks.DECIDE)

    from . import checkout

    hooks.order_pricing.connect(checkout.order_pricing, priority=hooks.PRICE_COUPON)
    hooks.pricing_options.connect(checkout.pricing_options, priority=hooks.PRICE_COUPON)


connect_hooks()
