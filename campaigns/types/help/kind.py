"""帮 Help / assist (助力): a member asks friends to tap "help"; K helps in time unlock the reward.

Rules and where each is decided:
- a member starts a task (one open task per member and campaign: a partial unique index; starting again
  returns the open one) and shares its link; friends sign in and tap help;
- the place of a help is decided by ONE conditional UPDATE of the task row,
  `help_count = help_count + 1 WHERE help_count < K AND state = 'open' AND expires_at > now`; the
  help that gets K completes the task and grants the reward in the same statement, exactly once
  (a CHECK keeps the counter at most K);
- nobody helps themself (refused here, a CHECK behind it), a friend helps a task once (unique), and
  at most `helps_per_helper` times per campaign (a unique slot per helper); "new users only" admits
  only people who never paid an order in the shop;
- every help is an act of the engine (`services.record_act`): a referral event crediting the starter,
  flagged when its signals weigh enough (the starter's IP or device; a brand-new account only together
  with another), never blocked;
- an unfinished task expires (the engine's job calls `expire_due`: one conditional UPDATE per task, so
  running it twice or concurrently changes nothing twice);
- the reward: a coupon of one of the shop's templates (granted to the starter at completion through the
  coupon type's grant_coupon, key help:<task>, once), or a special price (the member buys the campaign's
  SKU at it through the normal order pipeline, one live order per task) or a free item the shop hands
  over (recorded as granted, valued at the campaign SKU's price at that moment). The starter claims a
  free item with a pickup point or an address: with a campaign SKU it becomes a real zero-price order
  (priced to zero by this kind's pricing step, within the campaign's stock cap and budget); either way it
  joins the order core's fulfilment queue, once per task.
"""

import logging
from datetime import datetime, timedelta
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.db.models import Count, Q
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from campaigns import registry
from campaigns.models import Campaign, CampaignAct, CampaignState, CampaignType, Help, HelpTask, HelpTaskState
from campaigns.types.assisted.refusals import ActRefused
from campaigns.types.base import CampaignKind
from orders.models import FulfilmentItem, Order, OrderState, Sku
from shequn.client import request_fingerprint

logger = logging.getLogger(__name__)
MAX_HELPS = 100
MAX_HELPS_PER_HELPER = 50
MIN_TIME_LIMIT_MINUTES, MAX_TIME_LIMIT_MINUTES = 5, 30 * 24 * 60


class RewardKind:
    PRICE = "price"  # buy the campaign's SKU at `reward_price`
    FREE_ITEM = "free_item"  # the shop hands `reward_label` over (a zero-price order when the campaign has a SKU)
    COUPON = "coupon"  # a coupon of the shop's template `reward_coupon`, granted at completion
    CHOICES = (PRICE, FREE_ITEM, COUPON)
    # The one setting each kind reads: the others mean nothing for a campaign of that kind.
    SETTING = {PRICE: "reward_price", FREE_ITEM: "reward_label", COUPON: "reward_coupon"}


class HelpRefused(ActRefused):
    """A help (or a task start, or a reward claim) that cannot happen, with a reason code the pages and the
    API show in words."""

    MESSAGES = {
        **ActRefused.MESSAGES,
        "not_member": gettext_lazy("请先加入活动所在的群，再发起助力。"),
        "task_limit": gettext_lazy("本活动每人最多发起 %(n)d 次助力。"),
        "self": gettext_lazy("不能给自己助力，请把链接分享给好友。"),
        "duplicate": gettext_lazy("你已经为 TA 助力过了，每人只能助力一次。"),
        "helper_limit": gettext_lazy("本活动每人最多助力 %(n)d 次，你的助力次数已用完。"),
        "not_new": gettext_lazy("本活动仅限新用户助力（未在本店下过单）。"),
        "completed": gettext_lazy("TA 的助力已经完成，不需要再助力了。"),
        "expired": gettext_lazy("这个助力已过期。"),
        "not_completed": gettext_lazy("助力还未完成，集齐好友助力后才能领取奖励。"),
        "not_starter": gettext_lazy("只有发起人可以领取奖励。"),
        "coupon": gettext_lazy("这个奖励是优惠券，已发到你的券包，无需下单。"),
        "claimed": gettext_lazy("奖励已领取。"),
    }


# --- Settings ----------------------------------------------------------------------------------------


def _int(value, name: str, errors: dict, *, default: int, minimum: int, maximum: int, message: str) -> int | None:
    if value in (None, ""):
        value = default
    try:
        number = int(str(value).strip())
    except (TypeError, ValueError):
        errors[name] = message
        return None
    if not minimum <= number <= maximum:
        errors[name] = message
        return None
    return number


def clean_help_settings(*, campaign_fields: dict, settings: dict) -> dict:
    """helps_needed (K, 1–100), time_limit_minutes (default 24 h), reward_kind ("price": buy the SKU at
    reward_price, below its price; "free_item": the shop hands reward_label over), new_users_only
    (default off), helps_per_helper (per campaign, default 1)."""
    from campaigns.services import parse_money

    errors: dict[str, str] = {}
    helps_needed = _int(
        settings.get("helps_needed"),
        "helps_needed",
        errors,
        default=3,
        minimum=1,
        maximum=MAX_HELPS,
        message=_("需要助力人数须在 1–%(max)d 之间。") % {"max": MAX_HELPS},
    )
    time_limit = _int(
        settings.get("time_limit_minutes"),
        "time_limit_minutes",
        errors,
        default=24 * 60,
        minimum=MIN_TIME_LIMIT_MINUTES,
        maximum=MAX_TIME_LIMIT_MINUTES,
        message=_("助力时限须在 5 分钟到 30 天之间。"),
    )
    per_helper = _int(
        settings.get("helps_per_helper"),
        "helps_per_helper",
        errors,
        default=1,
        minimum=1,
        maximum=MAX_HELPS_PER_HELPER,
        message=_("每人可助力次数须在 1–%(max)d 之间。") % {"max": MAX_HELPS_PER_HELPER},
    )
    reward_kind = settings.get("reward_kind") or RewardKind.PRICE
    reward_price, reward_label = None, str(settings.get("reward_label") or "").strip()
    reward_coupon = None
    sku = campaign_fields.get("sku")
    if reward_kind not in RewardKind.CHOICES:
        errors["reward_kind"] = _("请选择奖励方式：助力价购买或赠品。")
    elif reward_kind == RewardKind.COUPON:
        template = _coupon_template(settings.get("reward_coupon"), campaign_fields.get("shop"), errors)
        if template is not None:
            reward_coupon, reward_label = template.pk, reward_label or template.name
    elif reward_kind == RewardKind.PRICE:
        reward_price = parse_money(settings.get("reward_price"), "reward_price", errors, required=True)
        if sku is None:
            errors.setdefault("sku", _("「助力价购买」需要选择活动商品规格。"))
        elif reward_price is not None and reward_price >= sku.price:
            errors["reward_price"] = _("助力价必须低于商品原价 ¥%(price)s。") % {"price": sku.price}
    elif not reward_label and campaign_fields.get("product") is None:
        errors["reward_label"] = _("请填写赠品名称，或选择活动商品。")
    if len(reward_label) > 60:
        errors["reward_label"] = _("赠品名称不能超过 60 个字。")
    starts_at, ends_at = campaign_fields.get("starts_at"), campaign_fields.get("ends_at")
    if (
        time_limit
        and isinstance(starts_at, datetime)
        and isinstance(ends_at, datetime)
        and timedelta(minutes=time_limit) > ends_at - starts_at
    ):
        errors.setdefault("time_limit_minutes", _("助力时限不能长于活动时长。"))
    if errors:
        raise ValidationError(errors)
    return {
        "helps_needed": helps_needed,
        "time_limit_minutes": time_limit,
        "reward_kind": reward_kind,
        "reward_price": str(reward_price) if reward_price is not None else None,
        "reward_label": reward_label,
        "new_users_only": bool(settings.get("new_users_only")),
        "helps_per_helper": per_helper,
    } | ({"reward_coupon": reward_coupon} if reward_kind == RewardKind.COUPON else {})


def _coupon_template(raw, shop, errors: dict) -> Campaign | None:
    """The id of one of the shop's coupon templates that is not over (a coupon campaign), else a message."""
    text = str(raw or "").strip()
    if not (text.isascii() and text.isdigit() and len(text) <= 18):
        errors["reward_coupon"] = _("请选择本店的优惠券作为奖励。")
        return None
    found = Campaign.objects.filter(
        pk=int(text),
        shop_id=getattr(shop, "pk", None),
        type=CampaignType.COUPON,
        state__in=(CampaignState.DRAFT, CampaignState.SCHEDULED, CampaignState.RUNNING),
    ).first()
    if found is None:
        errors["reward_coupon"] = _("请选择本店的优惠券作为奖励。")
        return None
    return found


class Rules:
    """A campaign's cleaned help settings, typed."""

    def __init__(self, campaign: Campaign):
        s = campaign.settings
        self.helps_needed: int = s["helps_needed"]
        self.time_limit = timedelta(minutes=s["time_limit_minutes"])
        self.reward_kind: str = s.get("reward_kind") or RewardKind.PRICE
        self.reward_price = Decimal(s["reward_price"]) if s.get("reward_price") else None
        self.reward_label: str = s.get("reward_label") or (campaign.product.name if campaign.product_id else "")
        self.reward_coupon: int | None = s.get("reward_coupon")
        self.new_users_only: bool = s.get("new_users_only", False)
        self.helps_per_helper: int = s.get("helps_per_helper", 1)

    def reward_snapshot(self) -> dict:
        snapshot = {
            "kind": self.reward_kind,
            "price": str(self.reward_price) if self.reward_price else None,
            "label": self.reward_label,
        }
        if self.reward_kind == RewardKind.COUPON:
            snapshot["coupon"] = self.reward_coupon
        return snapshot


# --- Reads ---------------------------------------------------------------------------------------------


def task_with_helps(pk: int) -> HelpTask:
    """One task with what its page shows (campaign, starter, helpers): a constant number of queries."""
    return (
        HelpTask.objects.select_related("campaign", "campaign__sku", "campaign__product", "starter", "group", "order")
        .prefetch_related("helps__helper")
        .get(pk=pk)
    )


def open_task_of(campaign: Campaign, member) -> HelpTask | None:
    return HelpTask.objects.filter(campaign=campaign, starter=member, state=HelpTaskState.OPEN).first()


# --- Starting a task -----------------------------------------------------------------------------------


def start_task(*, campaign: Campaign, member, group=None, now: datetime | None = None) -> HelpTask:
    """Start a help task for `member` (an active member of a group the campaign runs in). Starting again
    while one is open returns that one. The task ends at the time limit, or the campaign's end if sooner."""
    from campaigns.services import campaign_runs_in, member_groups_for

    now = now or timezone.now()
    if campaign.type != CampaignType.HELP:
        raise ValidationError(_("这不是助力活动。"))
    existing = open_task_of(campaign, member)
    if existing is not None:
        return existing
    if campaign.state != CampaignState.RUNNING or campaign.ends_at <= now:
        raise HelpRefused("not_running")
    groups = member_groups_for(campaign, member)
    if group is None or group not in groups or not campaign_runs_in(campaign, group):
        group = groups[0] if groups else None
    if group is None:
        raise HelpRefused("not_member")
    if (
        campaign.per_member_limit is not None
        and HelpTask.objects.filter(campaign=campaign, starter=member).count() >= campaign.per_member_limit
    ):
        raise HelpRefused("task_limit", n=campaign.per_member_limit)
    rules = Rules(campaign)
    try:
        with transaction.atomic():
            return HelpTask.objects.create(
                campaign=campaign,
                starter=member,
                group=group,
                helps_needed=rules.helps_needed,
                started_at=now,
                expires_at=min(now + rules.time_limit, campaign.ends_at),
                reward=rules.reward_snapshot(),
            )
    except IntegrityError:  # a double tap started it a moment ago
        existing = open_task_of(campaign, member)
        if existing is None:
            raise
        return existing


# --- Helping -------------------------------------------------------------------------------------------


def help_problem(task: HelpTask, user, *, now: datetime | None = None) -> str | None:
    """Why `user` cannot help `task` now (a reason code of HelpRefused), or None. For pages; `give_help`
    decides again under the guards."""
    from campaigns.services import is_new_to_shop

    now = now or timezone.now()
    if task.state == HelpTaskState.COMPLETED:
        return "completed"
    if task.state == HelpTaskState.EXPIRED or task.expires_at <= now:
        return "expired"
    if task.campaign.state != CampaignState.RUNNING:
        return "not_running"
    if user is None or not user.is_authenticated:
        return None
    if user.pk == task.starter_id:
        return "self"
    if Help.objects.filter(task=task, helper=user).exists():
        return "duplicate"
    rules = Rules(task.campaign)
    if Help.objects.filter(campaign_id=task.campaign_id, helper=user).count() >= rules.helps_per_helper:
        return "helper_limit"
    if rules.new_users_only and not is_new_to_shop(user, task.campaign.shop_id):
        return "not_new"
    return None


def refusal(reason: str, task: HelpTask) -> HelpRefused:
    if reason == "helper_limit":
        return HelpRefused(reason, n=Rules(task.campaign).helps_per_helper)
    return HelpRefused(reason)


def _claim_place(task_id: int, *, now: datetime) -> int | None:
    """The help's place (1…K), or None: ONE conditional UPDATE decides, so K places are handed out once
    each however many friends tap at the same moment. The K-th place completes the task and grants its
    reward in the same statement, once. It locks the task's row until commit: the callers take it last."""
    table = HelpTask._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            UPDATE {table}
               SET help_count = help_count + 1,
                   state = CASE WHEN help_count + 1 = helps_needed THEN %s ELSE state END,
                   completed_at = CASE WHEN help_count + 1 = helps_needed THEN %s ELSE completed_at END,
                   reward_granted_at = CASE WHEN help_count + 1 = helps_needed AND reward_granted_at IS NULL
                                            THEN %s ELSE reward_granted_at END,
                   -- a free item is worth its SKU's price at the moment it is granted (for campaign ROI)
                   reward_value = CASE WHEN help_count + 1 = helps_needed AND reward_granted_at IS NULL
                                            AND reward->>'kind' = %s
                                       THEN (SELECT s.price FROM {Sku._meta.db_table} s
                                             JOIN {Campaign._meta.db_table} c ON c.sku_id = s.id
                                             WHERE c.id = {table}.campaign_id)
                                       ELSE reward_value END
             WHERE id = %s AND state = %s AND expires_at > %s AND help_count < helps_needed
         RETURNING help_count
            """,
            [HelpTaskState.COMPLETED, now, now, RewardKind.FREE_ITEM, task_id, HelpTaskState.OPEN, now],
        )
        row = cursor.fetchone()
    return row[0] if row else None


def give_help(*, task: HelpTask, helper, request=None, now: datetime | None = None) -> Help:
    """`helper` helps `task`: exactly one place per help, the K-th completes the task and grants its reward
    once. Refuses (HelpRefused) a self-help, a second help of the same task, helps beyond the campaign's
    per-helper allowance, old customers when only new users may help, a completed or expired task."""
    from campaigns.services import referral_adapter

    now = now or timezone.now()
    task = HelpTask.objects.select_related("campaign", "starter", "group").get(pk=task.pk)
    campaign = task.campaign
    if helper.pk == task.starter_id:
        ip, device = request_fingerprint(request) if request is not None else (None, "")
        referral_adapter.record_self_attempt(shop_id=campaign.shop_id, user=helper, action="help", ip=ip, device=device)
        raise HelpRefused("self")
    problem = help_problem(task, helper, now=now)
    if problem:
        raise refusal(problem, task)
    rules = Rules(campaign)
    for attempt in (1, 2):
        slot = _helper_slot(task, helper, rules, retry=attempt == 2)
        try:
            return _record_help(task, helper, slot=slot, request=request, now=now)
        except IntegrityError as exc:
            text = str(exc)
            if "help_slot_per_helper" in text and attempt == 1:
                continue  # the helper's help of another task took this slot a moment ago: count again
            raise _conflict_refusal(text, rules) from None
    raise AssertionError("unreachable")


def _helper_slot(task: HelpTask, helper, rules: Rules, *, retry: bool) -> int:
    """The helper's next help number in the campaign (1…helps_per_helper), or HelpRefused when the
    allowance is spent. On the retry after a lost slot, a help of this same task means a duplicate."""
    if retry and Help.objects.filter(task=task, helper=helper).exists():
        # The slot was taken by this same friend's other tap on this task: that is a duplicate.
        raise HelpRefused("duplicate")
    slot = Help.objects.filter(campaign=task.campaign, helper=helper).count() + 1
    if slot > rules.helps_per_helper:
        # The help counted may be this friend's other tap on this task, committed since the check
        # above: that is a duplicate, not a spent allowance.
        if Help.objects.filter(task=task, helper=helper).exists():
            raise HelpRefused("duplicate")
        raise HelpRefused("helper_limit", n=rules.helps_per_helper)
    return slot


def _record_help(task: HelpTask, helper, *, slot: int, request, now: datetime) -> Help:
    """Write the act (its fraud signals, the helper's activity, its referral events: none depends on the
    task's state), then claim a place — the task's row is locked from there to commit — and write the help,
    all in one transaction. HelpRefused when no place is left (everything rolls back); IntegrityError when
    a constraint catches a concurrent help (the caller names it)."""
    from campaigns.services import record_act

    campaign = task.campaign
    with transaction.atomic():
        act = record_act(
            campaign=campaign,
            actor=helper,
            inviter=task.starter,
            kind="help",
            key=f"help:{task.pk}:{helper.pk}",
            request=request,
            group=task.group,
            occurred_at=now,
        )
        if act is None:  # the act is written with its help: this friend's help is in (or being made)
            raise HelpRefused("duplicate")
        place = _claim_place(task.pk, now=now)
        if place is None:
            task.refresh_from_db(fields=["state", "help_count", "expires_at"])
            raise HelpRefused(
                "completed"
                if task.state == HelpTaskState.COMPLETED or task.help_count >= task.helps_needed
                else "expired"
            )
        given = Help.objects.create(
            task=task,
            campaign=campaign,
            helper=helper,
            starter=task.starter,
            number=place,
            helper_slot=slot,
            act=act,
            flagged=act.flagged,
            created_at=now,
        )
        if place == task.helps_needed:
            if task.reward.get("kind") == RewardKind.COUPON:
                grant_coupon_reward(task)
            tell_completed(task)
    return given


def grant_coupon_reward(task: HelpTask):
    """A completed task's coupon reward: a coupon of the template the task's reward names, given to the starter
    through the coupon type's one grant entry point under the key help:<task id>, so a rerun (the completing
    help, a retry from the task page) gives it once. The help is never refused for it: a template sold out or
    over is logged and answers None (the page offers the retry)."""
    # The coupon type's grant_coupon is the entry point for every rule that gives a coupon.
    from campaigns.types.coupon.kind import CouponRefused, grant_coupon

    template = Campaign.objects.filter(
        pk=task.reward.get("coupon") or 0, shop_id=task.campaign.shop_id, type=CampaignType.COUPON
    ).first()
    if template is None:
        logger.warning("help task %s: its coupon template is gone", task.pk)
        return None
    try:
        with transaction.atomic():
            return grant_coupon(
                template=template,
                member=task.starter,
                reason=_("助力奖励"),
                key=f"help:{task.pk}",
                issuer=task.campaign,
            )
    except CouponRefused as refused:
        logger.warning("help task %s: coupon reward not given: %s", task.pk, refused.reason)
        return None


def tell_completed(task: HelpTask) -> None:
    """Inside the help that completed the task: its starter hears once that the reward is theirs."""
    from campaigns.messages import tell

    reward = task.reward or {}
    if reward.get("kind") == RewardKind.FREE_ITEM:
        what = _("赠品「%(label)s」已归你，去领取吧。") % {"label": reward.get("label") or task.campaign.name}
    elif reward.get("kind") == RewardKind.COUPON:
        what = _("优惠券「%(label)s」已发到你的券包，下单时可用。") % {
            "label": reward.get("label") or task.campaign.name
        }
    else:
        what = _("可以 ¥%(price)s 购买了，去下单吧。") % {"price": reward.get("price")}
    tell(
        campaign=task.campaign,
        member=task.starter_id,
        kind="help_completed",
        key=f"help:{task.pk}:completed",
        title=_("助力成功"),
        body=_("「%(name)s」好友助力已满 %(n)d 人，") % {"name": task.campaign.name, "n": task.helps_needed} + what,
        url=task.get_absolute_url(),
    )


def help_summary(task: HelpTask) -> str:
    if task.state == HelpTaskState.OPEN:
        return _("我的助力 · %(done)d/%(needed)d 人") % {"done": task.help_count, "needed": task.helps_needed}
    if task.state == HelpTaskState.COMPLETED:
        return _("我的助力 · 助力成功")
    return _("我的助力 · %(state)s") % {"state": task.get_state_display()}


def _conflict_refusal(text: str, rules: Rules) -> HelpRefused:
    """The refusal a constraint violation stands for: the per-helper slot (allowance spent), no
    self-help, else one help per friend and task."""
    if "help_slot_per_helper" in text:
        return HelpRefused("helper_limit", n=rules.helps_per_helper)
    if "help_not_self" in text:
        return HelpRefused("self")
    return HelpRefused("duplicate")


# --- The reward ------------------------------------------------------------------------------------------


def claim_reward(
    *, task: HelpTask, member, delivery, idempotency_key: str, choices: dict[str, str] | None = None
) -> Order:
    """The starter of a completed task buys the campaign's SKU at the reward price: one live order per
    task (a cancelled, unpaid one frees it again); the same key returns the same order."""
    from campaigns.services import place_campaign_order

    if member.pk != task.starter_id:
        raise HelpRefused("not_starter")
    with transaction.atomic():
        # A short lock on the task row: two claims of one task place one order. Taken before the order's own
        # locks (SKU rows), the same order every claim takes them in.
        task = (
            HelpTask.objects.select_for_update(of=("self",))
            .select_related("campaign", "campaign__sku", "group")
            .get(pk=task.pk)
        )
        if task.state != HelpTaskState.COMPLETED or task.reward_granted_at is None:
            raise HelpRefused("not_completed")
        if task.reward.get("kind") == RewardKind.COUPON:
            raise HelpRefused("coupon")  # granted at completion (the page's retry: grant_coupon_reward)
        if task.reward.get("kind") == RewardKind.FREE_ITEM:
            return _claim_free_item(task, member, delivery=delivery, idempotency_key=idempotency_key)
        if task.order_id is not None:
            order = Order.objects.get(pk=task.order_id)
            if order.idempotency_key == idempotency_key or order.state != OrderState.CANCELLED:
                if order.idempotency_key != idempotency_key:
                    raise HelpRefused("claimed")
                return order
        campaign = task.campaign
        order = place_campaign_order(
            member=member,
            campaign=campaign,
            group=task.group,
            sku=campaign.sku,
            quantity=1,
            price=Decimal(task.reward["price"]),
            delivery=delivery,
            idempotency_key=idempotency_key,
            allow_after_end=True,
            choices=choices,
        )
        HelpTask.objects.filter(pk=task.pk).update(order=order)
    return order


def free_item_claimed(task: HelpTask) -> bool:
    """Whether a completed task's free item was claimed (an order, or with no SKU the owed item alone)."""
    if task.state != HelpTaskState.COMPLETED or task.reward.get("kind") != RewardKind.FREE_ITEM:
        return False
    return task.order_id is not None or FulfilmentItem.objects.filter(key=f"help:{task.pk}").exists()


def _claim_free_item(task: HelpTask, member, *, delivery, idempotency_key: str) -> Order | None:
    """The starter claims a completed task's free item, inside claim_reward's lock on the task: with a campaign
    SKU a zero-price order (the whole price is the campaign's subsidy; the order is paid at once), owed through
    the fulfilment queue; without one, the owed item alone (None). Once per task: a second claim is refused,
    the same key returns the same order."""
    from campaigns.services import place_campaign_order
    from orders import fulfilment

    key = f"help:{task.pk}"
    if free_item_claimed(task):
        if (
            task.order_id is not None
            and Order.objects.filter(pk=task.order_id, idempotency_key=idempotency_key).exists()
        ):
            return Order.objects.get(pk=task.order_id)
        raise HelpRefused("claimed")
    campaign = task.campaign
    order = None
    if campaign.sku_id is not None:
        order = place_campaign_order(
            member=member,
            campaign=campaign,
            group=task.group,
            sku=campaign.sku,
            quantity=1,
            price=campaign.sku.price,
            delivery=delivery,
            idempotency_key=idempotency_key,
            source=f"{campaign.order_source}:{RewardKind.FREE_ITEM}",
            allow_after_end=True,
            free=True,
        )
        HelpTask.objects.filter(pk=task.pk).update(order=order)
    fulfilment.owe_item(
        shop_id=campaign.shop_id,
        member=member,
        source=campaign.order_source,
        key=key,
        label=task.reward.get("label") or campaign.name,
        destination=fulfilment.Destination(
            method=delivery.method,
            recipient_name=delivery.recipient_name,
            recipient_phone=delivery.recipient_phone,
            address=delivery.address,
            pickup_point_id=delivery.pickup_point_id,
        ),
        order=order,
    )
    return order


# --- Expiry --------------------------------------------------------------------------------------------


def expire_task(task_id: int, *, now: datetime) -> int:
    """An unfinished task past its time: open → expired by one conditional UPDATE (0 if already closed)."""
    return HelpTask.objects.filter(pk=task_id, state=HelpTaskState.OPEN, expires_at__lte=now).update(
        state=HelpTaskState.EXPIRED, expired_at=now
    )


def expire_due_tasks(*, now: datetime | None = None, limit: int = 1000) -> int:
    """Expire the open tasks whose time is over. Each its own statement; safe to run twice or concurrently."""
    now = now or timezone.now()
    ids = list(
        HelpTask.objects.filter(state=HelpTaskState.OPEN, expires_at__lte=now)
        .order_by("expires_at", "pk")
        .values_list("pk", flat=True)[:limit]
    )
    return sum(expire_task(pk, now=now) for pk in ids)


# --- The plug-in -----------------------------------------------------------------------------------------


class HelpKind(CampaignKind):
    code = CampaignType.HELP
    label = gettext_lazy("助力")
    summary = gettext_lazy("请好友点一下助力，集齐人数后以助力价购买或领赠品。")
    essential_settings = ("helps_needed", "reward_kind", "reward_price")
    sells = False

    @property
    def settings_form(self):
        from .forms import HelpSettingsForm

        return HelpSettingsForm

    def validate_settings(self, *, campaign_fields: dict, settings: dict) -> dict:
        return clean_help_settings(campaign_fields=campaign_fields, settings=settings)

    def settings_words(self, campaign) -> dict[str, str]:
        """A coupon reward by its template's name and face (one query), never the template's id."""
        from campaigns.types.coupon.terms import TEMPLATE_GONE, templates_words

        settings = campaign.settings or {}
        if settings.get("reward_kind") != RewardKind.COUPON:
            return {}
        words = templates_words(campaign.shop_id, [settings.get("reward_coupon")])
        return {"reward_coupon": next(iter(words.values()), str(TEMPLATE_GONE))}

    def settings_not_shown(self, campaign) -> frozenset[str]:
        """The settings of the other reward kinds (a coupon reward has no 助力价 and no 赠品名称): the kind
        read as Rules reads it, a price when unset."""
        reward_kind = (campaign.settings or {}).get("reward_kind") or RewardKind.PRICE
        if reward_kind not in RewardKind.SETTING:
            return frozenset()
        return frozenset(name for kind, name in RewardKind.SETTING.items() if kind != reward_kind)

    def on_end(self, campaign) -> None:
        """An ended or cancelled campaign closes its open tasks (their time is capped at the end anyway)."""
        HelpTask.objects.filter(campaign=campaign, state=HelpTaskState.OPEN).update(
            state=HelpTaskState.EXPIRED, expired_at=timezone.now()
        )

    def expire_due(self, *, now) -> int:
        return expire_due_tasks(now=now)

    def after_cancel(self, order) -> None:
        """An unpaid reward order cancelled: the task's reward may be claimed again."""
        HelpTask.objects.filter(order_id=order.pk).update(order=None)

    def after_refund(self, order) -> None:
        """A refunded free-item order owes nothing any more."""
        from orders import fulfilment

        fulfilment.void_items_of_order(order)

    def pricing(self, draft, campaign) -> list:
        """A free item's order is free (the campaign's budget pays the item's price)."""
        from campaigns.services import free_item_adjustments

        if not (draft.source or "").endswith(f":{RewardKind.FREE_ITEM}"):
            return []
        return free_item_adjustments(draft, campaign, reason=_("助力奖励赠品"))

    def figures(self, campaign) -> dict:
        return help_figures(campaign)

    # -- the member's own part --

    participation_label = gettext_lazy("我的助力")

    def member_price(self, campaign) -> Decimal | None:
        """The reward price; a free item is ¥0; a coupon reward has no price."""
        rules = Rules(campaign)
        if rules.reward_kind == RewardKind.COUPON:
            return None
        return rules.reward_price if rules.reward_kind == RewardKind.PRICE else Decimal("0.00")

    def member_states(self, campaigns: list, member) -> dict[int, dict]:
        """The member's latest open or completed task in each campaign: its progress. One query."""
        tasks = HelpTask.objects.filter(
            campaign__in=[c.pk for c in campaigns],
            starter=member,
            state__in=(HelpTaskState.OPEN, HelpTaskState.COMPLETED),
        ).order_by("-started_at", "-pk")
        states: dict[int, dict] = {}
        for task in tasks:
            states.setdefault(
                task.campaign_id,
                {
                    "summary": help_summary(task),
                    "url": task.get_absolute_url(),
                    "ends_at": task.expires_at if task.state == HelpTaskState.OPEN else None,
                },
            )
        return states

    def participations(self, member, *, limit: int) -> list[dict]:
        tasks = (
            HelpTask.objects.filter(starter=member).select_related("campaign").order_by("-started_at", "-pk")[:limit]
        )
        return [
            {
                "id": task.pk,
                "campaign_id": task.campaign_id,
                "title": task.campaign.hook_title or task.campaign.name,
                "state": task.state,
                "state_label": task.get_state_display(),
                "summary": help_summary(task),
                "live": task.state == HelpTaskState.OPEN,
                "ends_at": task.expires_at if task.state == HelpTaskState.OPEN else None,
                "url": task.get_absolute_url(),
            }
            for task in tasks
        ]

    def poster_offer(self, campaign, target) -> str:
        """n 位好友助力 · ¥x 得 (or 免费得); on a task's poster, the helps it still lacks (还差 n 人助力)."""
        from campaigns.posters import with_original_price

        rules = Rules(campaign)
        if isinstance(target, HelpTask):
            left = max(target.helps_needed - target.help_count, 0)
            mechanic = _("还差 %(n)d 人助力") % {"n": left}
        else:
            mechanic = _("%(n)d 位好友助力") % {"n": rules.helps_needed}
        if rules.reward_kind == RewardKind.COUPON:
            return _("%(mechanic)s · 得优惠券") % {"mechanic": mechanic}
        if rules.reward_price is not None:
            words = _("%(mechanic)s · ¥%(price)s 得") % {"mechanic": mechanic, "price": rules.reward_price}
        else:
            words = _("%(mechanic)s · 免费得") % {"mechanic": mechanic}
        return with_original_price(words, campaign.sku.price if campaign.sku_id else None)


def help_figures(campaign: Campaign) -> dict:
    """Live figures of one help campaign: a fixed number of queries."""
    tasks = HelpTask.objects.filter(campaign=campaign).aggregate(
        started=Count("pk"),
        open=Count("pk", filter=Q(state=HelpTaskState.OPEN)),
        completed=Count("pk", filter=Q(state=HelpTaskState.COMPLETED)),
        expired=Count("pk", filter=Q(state=HelpTaskState.EXPIRED)),
        rewards=Count("pk", filter=Q(reward_granted_at__isnull=False)),
    )
    helps = Help.objects.filter(campaign=campaign).aggregate(
        helps=Count("pk"), helpers=Count("helper", distinct=True), flagged=Count("pk", filter=Q(flagged=True))
    )
    brought = CampaignAct.objects.filter(campaign=campaign, kind="help", new_member=True).count()
    return {
        _("发起助力"): tasks["started"],
        _("助力中"): tasks["open"],
        _("助力成功"): tasks["completed"],
        _("已过期"): tasks["expired"],
        _("奖励已发放"): tasks["rewards"],
        _("助力次数"): helps["helps"],
        _("助力人数"): helps["helpers"],
        _("可疑助力"): helps["flagged"],
        _("带来新成员"): brought,
    }


registry.register(HelpKind())
