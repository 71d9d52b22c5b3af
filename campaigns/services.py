"""Writes of the campaign engine: creating and scheduling campaigns, starting and ending them on time,
recording every act with who brought whom, share links, and placing orders at a campaign price.

Guarantees:
- a campaign's settings are cleaned by its type before it is saved; inconsistent ones never reach the table;
- state moves are conditional UPDATEs (campaigns.lifecycle): a job and an operator racing never both win;
  the start/end jobs are safe to run twice or concurrently;
- an act counts once: it is inserted first under its unique key; nobody acts for themself;
- a campaign never sells more than its stock cap nor spends more than its budget (conditional UPDATEs with
  CHECK constraints behind them), and a cancelled or refunded order gives both back exactly once;
- the counters stock_used and budget_used are kept only while the campaign has a cap (a stock cap or a
  budget): a campaign without one is never written by its orders (no second hot row beside the SKU). Its
  orders share-lock the row (FOR KEY SHARE, which orders never wait on) so that an edit setting a first cap
  waits for them and then counts the counters from the campaign's orders (campaign_usage);
- a member never takes part more often than the campaign's per-member limit (counted under a short
  per-(campaign, member) advisory lock);
- a capped campaign whose last unit is taken is flagged sold out (orders.soldout, scope "campaign") on
  commit, and its orders are refused from the flag before any row is read or locked; every release and
  every edit clears the flag on commit. The flag only refuses: the cap's conditional UPDATE decides.
"""

import logging
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation

from django.conf import settings as django_settings
from django.core import signing
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.db.models import F, Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User
from groups.activity import record_activity
from groups.lifecycle import JOINABLE_STATES
from groups.models import ActivityKind, Group, Membership, MembershipStatus
from orders import soldout
from orders.models import Order, Sku
from orders.services import DeliveryRequest, LineRequest, place_order
from shequn import locks
from shequn.bounds import MAX_CAMPAIGN_NUMBER
from shequn.client import request_fingerprint
from shops import audit
from shops.models import Shop

from . import referral_adapter, registry
from .lifecycle import EDITABLE_STATES, CampaignTransitionRefused, transition_campaign
from .models import ZERO, Campaign, CampaignAct, CampaignOrder, CampaignState
from .selectors import campaign_usage

logger = logging.getLogger(__name__)
CENT = Decimal("0.01")
SHARE_SALT = "campaigns.share"
SOLD_OUT_SCOPE = "campaign"  # the campaign's cap, in orders.soldout's flags

ENGINE_FIELDS = (
    "name",
    "starts_at",
    "ends_at",
    "all_groups",
    "groups",
    "series",
    "product",
    "sku",
    "stock_cap",
    "budget",
    "per_member_limit",
    "reward",
    "hook_title",
    "hook_text",
    "proof_text",
    "cta_text",
)
# What an operator may still change while the campaign runs (the type's rules are frozen: teams,
# helps and cuts already rely on them).
LIVE_EDITABLE_FIELDS = (
    "name",
    "ends_at",
    "stock_cap",
    "budget",
    "per_member_limit",
    "hook_title",
    "hook_text",
    "proof_text",
    "cta_text",
)
TEXT_LIMITS = {"name": 60, "hook_title": 60, "cta_text": 30, "hook_text": 2000, "proof_text": 4000}


# --- Validation --------------------------------------------------------------------------------------


def _positive_int(
    value, field: str, errors: dict, *, minimum: int = 1, maximum: int = MAX_CAMPAIGN_NUMBER
) -> int | None:
    if value in (None, ""):
        return None
    try:
        number = int(str(value).strip()) if len(str(value)) <= 20 else None
    except (TypeError, ValueError):
        number = None
    if number is None:
        errors[field] = _("请输入整数。")
        return None
    if number < minimum:
        errors[field] = _("不能小于 %(n)d。") % {"n": minimum}
        return None
    if number > maximum:
        errors[field] = _("不能大于 %(n)d。") % {"n": maximum}
        return None
    return number


def parse_money(value, field: str, errors: dict, *, required: bool = False) -> Decimal | None:
    """A money amount in yuan with at most two decimals, > 0; the type modules use it for their prices."""
    if value in (None, ""):
        if required:
            errors[field] = _("请填写金额。")
        return None
    try:
        amount = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        errors[field] = _("请输入金额，例如 39.90。")
        return None
    # Before quantize, which 1e30 and -1e30 would overflow (a 500 rather than a message).
    if amount.is_finite() and amount.copy_abs() >= Decimal("100000000"):
        errors[field] = _("金额过大。")
        return None
    if not amount.is_finite() or amount != amount.quantize(CENT) or amount <= 0:
        errors[field] = _("金额必须大于 0，最多两位小数。")
        return None
    return amount


def validate_campaign(
    *, shop: Shop, type: str, fields: dict, settings: dict | None, campaign: Campaign | None = None
) -> tuple[dict, dict]:
    """Clean the engine's fields and the type's settings together; raise one ValidationError with a
    Chinese message per field (engine field names, and the type's setting names) when anything is off."""
    kind, cleaned, errors = clean_engine_fields(shop=shop, type=type, fields=fields, campaign=campaign)
    cleaned_settings = _clean_type_settings(kind, cleaned, errors, shop=shop, settings=settings, campaign=campaign)
    if errors:
        raise ValidationError(errors)
    return cleaned, cleaned_settings


def clean_engine_fields(
    *, shop: Shop, type: str, fields: dict, campaign: Campaign | None = None
) -> tuple[object, dict, dict[str, str]]:
    """The engine's half of validate_campaign, without the type's settings: (kind, cleaned fields, errors by
    field). The launch wizard checks its product step with it, before the type's numbers are asked for."""
    try:
        kind = registry.get(type)
    except registry.UnknownCampaignType as exc:
        raise ValidationError({"type": exc.args[0]}) from None
    errors: dict[str, str] = {}
    data = {**_current_fields(campaign), **fields}
    cleaned: dict = {}
    _clean_texts(data, cleaned, errors)
    _clean_period(data, cleaned, errors, open_ended=kind.open_ended)
    _clean_audience(data, cleaned, errors, shop=shop)
    _clean_product(data, cleaned, errors, shop=shop, sells=kind.sells)
    _clean_limits(data, cleaned, errors, campaign=campaign)
    return kind, cleaned, errors


def _current_fields(campaign: Campaign | None) -> dict:
    """What an edit starts from: the campaign's engine fields as stored (nothing for a new campaign)."""
    if campaign is None:
        return {}
    current = {name: getattr(campaign, name) for name in ENGINE_FIELDS if name not in ("groups", "series")}
    current["groups"], current["series"] = list(campaign.groups.all()), list(campaign.series.all())
    return current


def _clean_texts(data: dict, cleaned: dict, errors: dict) -> None:
    """Texts are stripped and within their limits; the name is required."""
    for name, limit in TEXT_LIMITS.items():
        text = (data.get(name) or "").strip()
        if len(text) > limit:
            errors[name] = _("不能超过 %(n)d 个字。") % {"n": limit}
        cleaned[name] = text
    if not cleaned["name"]:
        errors["name"] = _("请填写活动名称。")


def _clean_period(data: dict, cleaned: dict, errors: dict, *, open_ended: bool = False) -> None:
    """The start is required, the end too unless the type runs open-ended (then empty = no end), and the end
    comes after the start."""
    starts_at, ends_at = data.get("starts_at"), data.get("ends_at")
    if not isinstance(starts_at, datetime):
        errors["starts_at"] = _("请填写开始时间。")
    if open_ended and ends_at in (None, ""):
        ends_at = None
    elif not isinstance(ends_at, datetime):
        errors["ends_at"] = _("请填写结束时间。")
    if isinstance(starts_at, datetime) and isinstance(ends_at, datetime) and ends_at <= starts_at:
        errors["ends_at"] = _("结束时间必须晚于开始时间。")
    cleaned["starts_at"], cleaned["ends_at"] = starts_at, ends_at


def _clean_audience(data: dict, cleaned: dict, errors: dict, *, shop: Shop) -> None:
    """The groups and group-link series are the shop's own; a campaign not for all groups names some."""
    cleaned["all_groups"] = bool(data.get("all_groups", True))
    groups = list(data.get("groups") or [])
    series = list(data.get("series") or [])
    if any(getattr(g, "shop_id", None) != shop.pk for g in groups):
        errors["groups"] = _("只能选择本店的群。")
    if any(getattr(s, "shop_id", None) != shop.pk for s in series):
        errors["series"] = _("只能选择本店的群活码。")
    if not cleaned["all_groups"] and not groups and not series:
        errors["groups"] = _("请选择活动在哪些群进行，或勾选「本店所有群」。")
    cleaned["groups"], cleaned["series"] = groups, series


def _clean_product(data: dict, cleaned: dict, errors: dict, *, shop: Shop, sells: bool) -> None:
    """The product is the shop's, the SKU is the product's (it implies the product when alone), and a
    type that sells needs a SKU."""
    product, sku = data.get("product"), data.get("sku")
    if sku is not None and product is None:
        product = sku.product
    if product is not None and product.shop_id != shop.pk:
        errors["product"] = _("只能选择本店的商品。")
    elif sku is not None and sku.product_id != product.pk:
        errors["sku"] = _("规格不属于所选商品。")
    elif sells and sku is None:
        errors["sku"] = _("这种活动需要选择商品规格。")
    cleaned["product"], cleaned["sku"] = product, sku


def _clean_limits(data: dict, cleaned: dict, errors: dict, *, campaign: Campaign | None) -> None:
    """Caps, limits and budget are positive; an edit cannot lower the stock cap or the budget below what
    is already used. The reward is a mapping."""
    cleaned["stock_cap"] = _positive_int(data.get("stock_cap"), "stock_cap", errors)
    cleaned["per_member_limit"] = _positive_int(data.get("per_member_limit"), "per_member_limit", errors)
    cleaned["budget"] = parse_money(data.get("budget"), "budget", errors)
    if campaign is not None:
        if cleaned["stock_cap"] is not None and cleaned["stock_cap"] < campaign.stock_used:
            errors["stock_cap"] = _("已占用 %(n)d 件，上限不能低于此数。") % {"n": campaign.stock_used}
        if cleaned["budget"] is not None and cleaned["budget"] < campaign.budget_used:
            errors["budget"] = _("已用 %(n)s 元，预算不能低于此数。") % {"n": campaign.budget_used}
    reward = data.get("reward") or {}
    if not isinstance(reward, dict):
        errors["reward"] = _("奖励格式不正确。")
        reward = {}
    cleaned["reward"] = reward


def _clean_type_settings(
    kind, cleaned: dict, errors: dict, *, shop: Shop, settings: dict | None, campaign: Campaign | None
) -> dict:
    """The type cleans its own settings (given ones, else the campaign's stored ones) against the cleaned
    engine fields; its messages join the engine's, an engine message for the same field winning."""
    raw_settings = settings if settings is not None else (campaign.settings if campaign else {})
    try:
        return kind.validate_settings(campaign_fields={**cleaned, "shop": shop}, settings=dict(raw_settings or {}))
    except ValidationError as exc:
        if hasattr(exc, "error_dict"):
            for name, messages in exc.message_dict.items():
                errors.setdefault(name, " ".join(messages))
        else:
            errors.setdefault("settings", " ".join(exc.messages))
        return {}


def _apply(campaign: Campaign, cleaned: dict, names) -> None:
    for name in names:
        if name not in ("groups", "series"):
            setattr(campaign, name, cleaned[name])


# --- Operator actions --------------------------------------------------------------------------------


def create_campaign(*, shop: Shop, by: User | None, type: str, settings: dict | None = None, **fields) -> Campaign:
    """A new campaign as a draft, its fields and its type's settings validated together."""
    unknown = set(fields) - set(ENGINE_FIELDS)
    if unknown:
        raise TypeError(f"unknown campaign fields: {sorted(unknown)}")
    cleaned, cleaned_settings = validate_campaign(shop=shop, type=type, fields=fields, settings=settings or {})
    with transaction.atomic():
        campaign = Campaign(shop=shop, type=type, created_by=by, settings=cleaned_settings)
        _apply(campaign, cleaned, ENGINE_FIELDS)
        campaign.save()
        campaign.groups.set(cleaned["groups"])
        campaign.series.set(cleaned["series"])
        _record(campaign, by=by, action="campaign.create", before={}, after=_values(campaign))
    return campaign


def _values(campaign: Campaign) -> dict:
    """What the audit log keeps of a campaign: its engine fields, its groups and series, its type's settings."""
    values = audit.snapshot(campaign, [name for name in ENGINE_FIELDS if name not in ("groups", "series")])
    values["groups"] = sorted(campaign.groups.values_list("pk", flat=True))
    values["series"] = sorted(campaign.series.values_list("pk", flat=True))
    values["settings"] = audit.plain(campaign.settings)
    return values


def _record(campaign: Campaign, *, by: User | None, action: str, before: dict, after: dict) -> None:
    """An operator's change to a campaign goes in the shop's audit log; the jobs' (by=None) in its transitions."""
    if by is not None:
        audit.record(shop=campaign.shop_id, by=by, action=action, target=campaign, before=before, after=after)


def update_campaign(*, campaign: Campaign, by: User | None, settings: dict | None = None, **fields) -> Campaign:
    """Change a campaign. Drafts and scheduled campaigns: everything; a running one: its name, landing
    texts, end, caps and limits only (its rules are what people joined under); an ended or cancelled
    one: nothing."""
    unknown = set(fields) - set(ENGINE_FIELDS)
    if unknown:
        raise TypeError(f"unknown campaign fields: {sorted(unknown)}")
    with transaction.atomic():
        campaign = Campaign.objects.select_for_update().get(pk=campaign.pk)
        # Uncapped, the counters are not kept: count them now (the lock waited for every order in flight),
        # so a first cap starts from what the campaign's orders hold and the limits are checked against it.
        campaign.stock_used, campaign.budget_used = campaign_usage(campaign)
        before = _values(campaign)
        if campaign.state in EDITABLE_STATES:
            allowed = ENGINE_FIELDS
        elif campaign.state == CampaignState.RUNNING:
            allowed = LIVE_EDITABLE_FIELDS
            frozen = sorted(
                name
                for name in fields
                if name not in allowed and _differs(getattr(campaign, name, None), fields[name], campaign, name)
            )
            if frozen or (settings is not None and settings != campaign.settings):
                raise CampaignTransitionRefused(
                    _("活动进行中，只能修改名称、落地页文案、结束时间、库存上限、预算和限购。")
                )
            settings = None
        else:
            raise CampaignTransitionRefused(_("活动已结束或已取消，不能再修改。"))
        fields = {name: value for name, value in fields.items() if name in allowed}
        cleaned, cleaned_settings = validate_campaign(
            shop=campaign.shop, type=campaign.type, fields=fields, settings=settings, campaign=campaign
        )
        if (
            campaign.state == CampaignState.RUNNING
            and "ends_at" in fields
            and cleaned["ends_at"] is not None
            and cleaned["ends_at"] <= timezone.now()
        ):
            raise ValidationError({"ends_at": _("结束时间必须在未来。")})
        _apply(campaign, cleaned, [name for name in ENGINE_FIELDS if name in fields])
        if campaign.state in EDITABLE_STATES:
            campaign.settings = cleaned_settings
        campaign.save()
        if "groups" in fields:
            campaign.groups.set(cleaned["groups"])
        if "series" in fields:
            campaign.series.set(cleaned["series"])
        _record(campaign, by=by, action="campaign.update", before=before, after=_values(campaign))
        soldout.clear_on_commit([campaign.pk], scope=SOLD_OUT_SCOPE)  # a higher cap (or none) sells again
    return campaign


def _differs(current, new, campaign: Campaign, name: str) -> bool:
    if name in ("groups", "series"):
        return {obj.pk for obj in getattr(campaign, name).all()} != {obj.pk for obj in new or []}
    if isinstance(current, Decimal) and new not in (None, ""):
        try:
            return current != Decimal(str(new))
        except InvalidOperation:
            return True
    return current != new


def schedule_campaign(*, campaign: Campaign, by: User | None) -> Campaign:
    """Draft → scheduled (its settings checked again; its end must be in the future). A campaign whose
    start has already come starts at once."""
    with transaction.atomic():
        campaign = Campaign.objects.select_for_update().get(pk=campaign.pk)
        validate_campaign(shop=campaign.shop, type=campaign.type, fields={}, settings=None, campaign=campaign)
        now = timezone.now()
        if campaign.ends_at is not None and campaign.ends_at <= now:
            raise ValidationError({"ends_at": _("结束时间已过，请先修改结束时间。")})
        was = campaign.state
        transition_campaign(campaign=campaign, to_state=CampaignState.SCHEDULED, by=by, reason=_("排期"))
        if campaign.starts_at <= now:
            transition_campaign(
                campaign=campaign, to_state=CampaignState.RUNNING, by=by, reason=_("开始时间已到，立即开始")
            )
        _record(campaign, by=by, action="campaign.schedule", before={"state": was}, after={"state": campaign.state})
    return campaign


def launch_campaign(*, campaign: Campaign, by: User, starts_at: datetime | None = None) -> Campaign:
    """The launch wizard's last step: a draft goes on sale now (`starts_at` None: its start becomes now and
    it runs at once) or at `starts_at` (scheduled; the start job runs it then). Every rule is checked again
    against the new start (the end after it and in the future, the type's time limits within the period);
    the start and the state change together, with one audit entry."""
    with transaction.atomic():
        campaign = Campaign.objects.select_for_update().get(pk=campaign.pk)
        now = timezone.now()
        if campaign.state != CampaignState.DRAFT:
            raise CampaignTransitionRefused(
                _("只有草稿可以上线；这个活动已经是「%(state)s」。") % {"state": CampaignState(campaign.state).label}
            )
        if starts_at is not None and starts_at <= now:
            raise ValidationError({"starts_at": _("定时上线的时间必须晚于现在。")})
        start = starts_at or now
        before = {"state": campaign.state, "starts_at": campaign.starts_at}
        cleaned, _settings = validate_campaign(
            shop=campaign.shop, type=campaign.type, fields={"starts_at": start}, settings=None, campaign=campaign
        )
        if cleaned["ends_at"] is not None and cleaned["ends_at"] <= now:
            raise ValidationError({"ends_at": _("结束时间已过，请先修改结束时间。")})
        campaign.starts_at = start
        campaign.save(update_fields=["starts_at", "updated_at"])
        transition_campaign(campaign=campaign, to_state=CampaignState.SCHEDULED, by=by, reason=_("上线"))
        if start <= now:
            transition_campaign(campaign=campaign, to_state=CampaignState.RUNNING, by=by, reason=_("立即上线"))
        _record(
            campaign,
            by=by,
            action="campaign.launch",
            before=before,
            after={"state": campaign.state, "starts_at": campaign.starts_at},
        )
    return campaign


def unschedule_campaign(*, campaign: Campaign, by: User | None) -> Campaign:
    """Scheduled → draft, to change it again before it starts."""
    with transaction.atomic():
        campaign = Campaign.objects.select_for_update().get(pk=campaign.pk)
        was = campaign.state
        transition_campaign(campaign=campaign, to_state=CampaignState.DRAFT, by=by, reason=_("撤回排期"))
        _record(campaign, by=by, action="campaign.unschedule", before={"state": was}, after={"state": campaign.state})
    return campaign


def cancel_campaign(*, campaign: Campaign, by: User | None, reason: str = "") -> Campaign:
    """Cancel a campaign that has not ended; its kind closes what is open (group buy: open teams fail and
    are refunded)."""
    with transaction.atomic():
        campaign = Campaign.objects.select_for_update().get(pk=campaign.pk)
        was = campaign.state
        transition_campaign(campaign=campaign, to_state=CampaignState.CANCELLED, by=by, reason=reason or _("取消活动"))
        _record(
            campaign,
            by=by,
            action="campaign.cancel",
            before={"state": was},
            after={"state": campaign.state, "reason": reason},
        )
    return campaign


def start_due(*, now: datetime | None = None, limit: int = 200) -> int:
    """Start the scheduled campaigns whose start has come. Each in its own transaction; safe to run twice."""
    now = now or timezone.now()
    ids = list(
        Campaign.objects.filter(state=CampaignState.SCHEDULED, starts_at__lte=now)
        .order_by("starts_at", "pk")
        .values_list("pk", flat=True)[:limit]
    )
    return sum(_move(pk, CampaignState.SCHEDULED, CampaignState.RUNNING, _("到开始时间，自动开始")) for pk in ids)


def end_due(*, now: datetime | None = None, limit: int = 200) -> int:
    """End the running campaigns whose end has come. Each in its own transaction; safe to run twice."""
    now = now or timezone.now()
    ids = list(
        Campaign.objects.filter(state=CampaignState.RUNNING, ends_at__lte=now)
        .order_by("ends_at", "pk")
        .values_list("pk", flat=True)[:limit]
    )
    return sum(_move(pk, CampaignState.RUNNING, CampaignState.ENDED, _("到结束时间，自动结束")) for pk in ids)


def _move(pk: int, from_state: str, to_state: str, reason: str) -> int:
    with transaction.atomic():
        # skip_locked: an operator (or the other job) holding it decides; this run leaves it alone.
        campaign = Campaign.objects.select_for_update(skip_locked=True).filter(pk=pk, state=from_state).first()
        if campaign is None:
            return 0
        try:
            transition_campaign(campaign=campaign, to_state=to_state, by=None, reason=reason)
        except CampaignTransitionRefused:
            return 0
    return 1


def run_due_jobs(*, now: datetime | None = None) -> dict[str, int]:
    """The engine's periodic job: start and end campaigns on time, then let every type close what ran
    out of time (expired teams, help tasks, bargains) and write its messages that are due (a coupon about to
    expire). Every step is idempotent."""
    now = now or timezone.now()
    done = {"started": start_due(now=now), "ended": end_due(now=now)}
    for kind in registry.all():
        done[kind.code] = kind.expire_due(now=now)
        # The types' messages whose time has come (a coupon about to expire), each once.
        done[f"{kind.code}_messages"] = kind.send_due_messages(now=now)
    return done


# --- Where a campaign runs, who may see it ----------------------------------------------------------


def campaign_runs_in(campaign: Campaign, group: Group) -> bool:
    if group.shop_id != campaign.shop_id:
        return False
    if campaign.all_groups:
        return True
    return campaign.groups.filter(pk=group.pk).exists() or (
        group.series_id is not None and campaign.series.filter(pk=group.series_id).exists()
    )


def member_groups_for(campaign: Campaign, member: User) -> list[Group]:
    """The groups of the campaign the member is an active member of (where they may buy)."""
    qs = Group.objects.filter(
        shop_id=campaign.shop_id, memberships__user=member, memberships__status=MembershipStatus.ACTIVE
    )
    if not campaign.all_groups:
        qs = qs.filter(Q(pk__in=campaign.groups.values("pk")) | Q(series__in=campaign.series.values("pk")))
    return list(qs.distinct().order_by("pk"))


def entry_group_for(campaign: Campaign) -> Group | None:
    """A group a newcomer can join to take part (the first named group, else the first group of the shop)."""
    qs = Group.objects.filter(shop_id=campaign.shop_id, state__in=JOINABLE_STATES)
    if not campaign.all_groups:
        qs = qs.filter(Q(pk__in=campaign.groups.values("pk")) | Q(series__in=campaign.series.values("pk")))
    return qs.order_by("pk").first()


def is_new_to_shop(member: User, shop_id: int, *, except_order_id: int | None = None) -> bool:
    """Never paid an order in the shop (新人): what "new members only" and "new members brought" count.
    `except_order_id`: the order of the act being recorded (a join is paid before its act is recorded)."""
    paid = Order.objects.filter(shop_id=shop_id, member=member, paid_at__isnull=False)
    if except_order_id is not None:
        paid = paid.exclude(pk=except_order_id)
    return not paid.exists()


# --- Share links -------------------------------------------------------------------------------------


def share_token(campaign: Campaign, member: User) -> str:
    return signing.Signer(salt=SHARE_SALT).sign(f"{campaign.pk}.{member.pk}")


def inviter_from_token(campaign: Campaign, token: str | None) -> User | None:
    """The member a share token names, if it is genuine and for this campaign; None otherwise."""
    if not token:
        return None
    try:
        value = signing.Signer(salt=SHARE_SALT).unsign(token)
        campaign_id, member_id = (int(part) for part in value.split(".", 1))
    except (signing.BadSignature, ValueError):
        return None
    if campaign_id != campaign.pk:
        return None
    return User.objects.filter(pk=member_id, is_active=True).first()


def share_path(campaign: Campaign, member: User, target=None) -> str:
    path = target.get_absolute_url() if target is not None else reverse("campaigns:landing", args=[campaign.pk])
    return f"{path}?by={share_token(campaign, member)}"


def share_link(campaign: Campaign, member: User, target=None) -> str:
    """The member's share link: the campaign's landing page (or `target`'s page: a team, a help task…)
    carrying a signed token of who shared it, so whoever acts through it is credited to them."""
    return django_settings.SITE_URL + share_path(campaign, member, target)


# --- Acts --------------------------------------------------------------------------------------------


def young_account_minutes(shop_id: int) -> int:
    return referral_adapter.young_account_minutes(shop_id)


# How much each signal about an act weighs; an act is flagged for review from FLAG_WEIGHT on. A young
# account counts only together with another signal (a friend who signed up to help is the point).
SIGNAL_WEIGHTS = {"young_account": 1, "same_ip_as_starter": 2, "same_device_as_starter": 2}
FLAG_WEIGHT = 2


def record_act(
    *,
    campaign: Campaign,
    actor: User,
    inviter: User | None,
    kind: str,
    key: str,
    request=None,
    starter: User | None = None,
    ip: str | None = None,
    device: str = "",
    group: Group | None = None,
    amount: Decimal = ZERO,
    occurred_at: datetime | None = None,
    order: Order | None = None,
    credit: bool = True,
) -> CampaignAct | None:
    """Record one act of `actor` in the campaign, exactly once per `key` (None for a duplicate).

    Refuses a self-act (`inviter` is the actor: ValidationError) — and records the attempt for fraud
    review. Notes its signals (an account younger than the shop's limit, the same IP or device as the
    starter: `starter`, default the inviter) and flags it, without blocking, when they weigh enough
    (SIGNAL_WEIGHTS): a brand-new friend is what a help campaign is for, so youth alone never flags.
    Credits the inviter with a referral event; a brand-new member who came by the share link also gets a
    referral edge (the shop's binding rule decides).
    `order`: the order this act paid for, if any (it does not make its buyer an old customer). The act is
    recorded as its payment lands, after referrals saw that payment with no edge: the edge it binds counts
    the order as the member's referral first order.
    `credit=False` leaves the inviter's referral event to the caller (`credit_act`, in the same
    transaction), for an act whose amount is decided later under a lock the caller takes as late as it can.
    """
    if request is not None and ip is None and not device:
        ip, device = request_fingerprint(request)
    device = (device or "")[:64]
    if inviter is not None and inviter.pk == actor.pk:
        referral_adapter.record_self_attempt(shop_id=campaign.shop_id, user=actor, action=kind, ip=ip, device=device)
        raise ValidationError(_("不能为自己助力、砍价或通过自己的分享链接参与。"))
    now = occurred_at or timezone.now()
    reasons = []
    if actor.date_joined and actor.date_joined > now - timedelta(minutes=young_account_minutes(campaign.shop_id)):
        reasons.append("young_account")
    starter = starter or inviter
    if starter is not None and starter.pk != actor.pk and (ip or device):
        theirs = CampaignAct.objects.filter(campaign=campaign, actor=starter)
        if ip and theirs.filter(ip=ip).exists():
            reasons.append("same_ip_as_starter")
        if device and theirs.filter(device=device).exists():
            reasons.append("same_device_as_starter")
    new_member = inviter is not None and _arrived_during(actor, campaign, except_order_id=getattr(order, "pk", None))
    try:
        with transaction.atomic():
            act = CampaignAct.objects.create(
                campaign=campaign,
                actor=actor,
                inviter=inviter,
                kind=kind[:20],
                key=key[:120],
                occurred_at=now,
                new_member=new_member,
                flagged=sum(SIGNAL_WEIGHTS[reason] for reason in reasons) >= FLAG_WEIGHT,
                flag_reasons=reasons,
                ip=ip,
                device=device,
            )
    except IntegrityError:
        return None
    if group is not None:  # taking part is activity in the group (last active, lurkers)
        record_activity(group_id=group.pk, user_id=actor.pk, kind=ActivityKind.CAMPAIGN, ref=f"act:{act.pk}", at=now)
    if inviter is not None:
        if credit:
            credit_act(act, amount=amount, group=group)
        if new_member:
            referral_adapter.record_join_edge(
                campaign=campaign, inviter=inviter, invitee=actor, group=group, ip=ip, device=device, order=order
            )
    return act


def credit_act(act: CampaignAct, *, amount: Decimal = ZERO, group: Group | None = None) -> None:
    """Credit the act's inviter with its referral event (once per act key; nothing without an inviter)."""
    if act.inviter_id is None:
        return
    referral_adapter.record_campaign_act(
        campaign=act.campaign,
        inviter=act.inviter,
        invitee=act.actor,
        key=act.key,
        amount=amount,
        group=group,
        occurred_at=act.occurred_at,
        ip=act.ip,
        device=act.device,
    )


def _arrived_during(actor: User, campaign: Campaign, *, except_order_id: int | None = None) -> bool:
    """A brand-new member: first came to the shop (account or first join) since the campaign started."""
    first_join = (
        Membership.objects.filter(user=actor, group__shop_id=campaign.shop_id, first_joined_at__isnull=False)
        .order_by("first_joined_at")
        .values_list("first_joined_at", flat=True)
        .first()
    )
    arrived = first_join or actor.date_joined
    return (
        arrived is not None
        and arrived >= campaign.starts_at
        and is_new_to_shop(actor, campaign.shop_id, except_order_id=except_order_id)
    )


# --- Orders at a campaign price ----------------------------------------------------------------------


def _lock_member_in_campaign(campaign_id: int, member_id: int) -> None:
    """Serialise one member's orders in one campaign until commit: the limit check and the order are one act."""
    locks.lock(locks.Namespace.CAMPAIGN_MEMBER, locks.pair_key(campaign_id, member_id))


def place_campaign_order(
    *,
    member: User,
    campaign: Campaign,
    group: Group,
    sku: Sku,
    quantity: int,
    price: Decimal,
    delivery: DeliveryRequest,
    idempotency_key: str,
    source: str | None = None,
    allow_after_end: bool = False,
    note: str = "",
    free: bool = False,
    choices: dict[str, str] | None = None,
) -> Order:
    """Place an order through the normal pipeline (stock, idempotency, payment deadline) at the campaign's
    `price`, tagged with the campaign as its source so the campaign's kind gets the order's hooks.

    Inside the caller's transaction if there is one: a type creates its own rows (a team seat…) in the same
    transaction, so an order never exists without them. Refuses a campaign that is not running (unless
    `allow_after_end`, e.g. joining a team opened before the end), a group it does not run in, another SKU,
    more than the per-member limit, the stock cap or the budget. The same key returns the same order.

    `free`: a free item (a gift, a help reward): placed at the SKU's price, which the kind's pricing step
    (CampaignKind.pricing) brings to zero, so the whole price is the campaign's subsidy, taken from its budget.

    The line is at the SKU's price and the campaign's price is a CAMPAIGN_PRICE adjustment of the campaign
    (orders.services). `choices`: what the member chose on the campaign's checkout page for the pricing
    plug-ins (a coupon whose template allows a campaign price, points), checked by them on the server.
    """
    existing = Order.objects.filter(member=member, idempotency_key=(idempotency_key or "").strip()).first()
    if existing is not None and CampaignOrder.objects.filter(order=existing, campaign=campaign).exists():
        return existing  # a retry: the same order, nothing taken twice
    refuse_if_sold_out(campaign.pk)
    if campaign.state != CampaignState.RUNNING and not (allow_after_end and campaign.state == CampaignState.ENDED):
        raise ValidationError(_("活动未在进行中。"))
    if not campaign_runs_in(campaign, group):
        raise ValidationError({"group": _("活动不在这个群进行。")})
    if campaign.sku_id is not None and sku.pk != campaign.sku_id:
        raise ValidationError({"sku": _("只能购买活动指定的商品规格。")})
    if not isinstance(quantity, int) or quantity < 1:
        raise ValidationError({"quantity": _("数量至少为 1。")})
    price = Decimal(price).quantize(CENT)
    subsidy = max((sku.price - price) * quantity, ZERO)
    if free:
        price, subsidy = sku.price, sku.price * quantity
    with transaction.atomic(), locks.hot_rows_last():  # the SKU's stock, then the caps: the last writes
        _lock_member_in_campaign(campaign.pk, member.pk)
        if campaign.per_member_limit is not None:
            taken = CampaignOrder.objects.filter(campaign=campaign, member=member, released_at__isnull=True).count()
            if taken >= campaign.per_member_limit:
                raise ValidationError(_("每人限参与 %(n)d 次，你已参与 %(n)d 次。") % {"n": campaign.per_member_limit})
        capped = campaign.stock_cap is not None or campaign.budget is not None or _capped_now(campaign)
        placing = registry.PLACING.set(campaign)  # the order's hooks find its kind without a query
        try:
            order = place_order(
                member=member,
                group=group,
                lines=[LineRequest(sku.pk, quantity)],
                delivery=delivery,
                idempotency_key=idempotency_key,
                note=note,
                source=source or campaign.order_source,
                unit_price=price,
                choices=choices,
            )
        finally:
            registry.PLACING.reset(placing)
        if capped:  # after the SKU's UPDATE (by rank): the campaign's row is held from there to COMMIT only
            locks.take_last(locks.Rank.CAMPAIGN_CAPS, lambda: _take_from_caps(campaign, quantity, subsidy))
        CampaignOrder.objects.create(
            campaign=campaign,
            order=order,
            member=member,
            units=quantity,
            unit_price=ZERO if free else price,
            subsidy=subsidy,
        )
    return order


def free_item_adjustments(draft, campaign: Campaign, *, reason: str) -> list:
    """A kind's answer to the order core's pricing step for a free item placed with `free=True`: one GIFT
    adjustment of minus what is left to pay (nothing when nothing is left)."""
    from orders.pricing import Adjustment, AdjustmentKind

    if draft.total <= 0:
        return []
    return [Adjustment(kind=AdjustmentKind.GIFT, source=campaign.order_source, amount=-draft.total, reason=reason)]


def release_campaign_order(order: Order) -> bool:
    """Give a cancelled or refunded order's units and subsidy back to its campaign, exactly once."""
    row = CampaignOrder.objects.filter(order_id=order.pk, released_at__isnull=True).first()
    if row is None:
        return False
    if CampaignOrder.objects.filter(pk=row.pk, released_at__isnull=True).update(released_at=timezone.now()) != 1:
        return False
    if _capped_now(Campaign(pk=row.campaign_id)):
        locks.take_last(  # after the SKU's stock comes back, as placing takes them
            locks.Rank.CAMPAIGN_CAPS,
            lambda: Campaign.objects.filter(pk=row.campaign_id).update(
                stock_used=F("stock_used") - row.units, budget_used=F("budget_used") - row.subsidy
            ),
        )
    soldout.clear_on_commit([row.campaign_id], scope=SOLD_OUT_SCOPE)
    return True


def refuse_if_sold_out(campaign_id: int) -> None:
    """Refuse at once, before any row is read or locked, a campaign flagged sold out (its cap reached)."""
    name = soldout.first_sold_out([campaign_id], scope=SOLD_OUT_SCOPE)
    if name is not None:
        raise ValidationError(_("「%(name)s」活动名额已抢完。") % {"name": name}, code="sold_out")


def _capped_now(campaign: Campaign) -> bool:
    """Whether the campaign has a stock cap or a budget now. Share-locks the row (FOR KEY SHARE) till commit:
    orders and releases never wait on each other for it, but an edit that sets a first cap (FOR UPDATE)
    waits for them, so it counts every order an uncapped campaign took without touching its counters."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT stock_cap IS NOT NULL OR budget IS NOT NULL FROM {Campaign._meta.db_table} "
            "WHERE id = %s FOR KEY SHARE",
            [campaign.pk],
        )
        row = cursor.fetchone()
    return bool(row and row[0])


def _take_from_caps(campaign: Campaign, quantity: int, subsidy: Decimal) -> None:
    """Take the units and the subsidy from a capped campaign: one conditional UPDATE of both counters (a cap
    removed meanwhile lets it through: the counters then are no longer kept). The UPDATE that reaches the
    stock cap flags the campaign sold out on commit; one refused with the cap reached flags it at once."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {connection.ops.quote_name(Campaign._meta.db_table)} "
            "SET stock_used = stock_used + %s, budget_used = budget_used + %s "
            "WHERE id = %s AND (stock_cap IS NULL OR stock_used <= stock_cap - %s) "
            "AND (budget IS NULL OR budget_used <= budget - %s) "
            "RETURNING stock_cap IS NOT NULL AND stock_used >= stock_cap",
            [quantity, subsidy, campaign.pk, quantity, subsidy],
        )
        row = cursor.fetchone()
    if row is None:  # which limit refused: read after the UPDATE, so the row as it refused it
        now = Campaign.objects.filter(pk=campaign.pk).values("stock_cap", "stock_used").first()
        if now is not None and now["stock_cap"] is not None and now["stock_used"] > now["stock_cap"] - quantity:
            if now["stock_used"] >= now["stock_cap"]:
                soldout.mark(campaign.pk, campaign.name, scope=SOLD_OUT_SCOPE)
            raise ValidationError(_("活动名额已抢完。"), code="sold_out")
        if now is None:
            raise ValidationError(_("活动名额已抢完。"), code="sold_out")
        raise ValidationError(_("活动预算已用完。"))
    if row[0]:
        soldout.mark_on_commit(campaign.pk, campaign.name, scope=SOLD_OUT_SCOPE)
