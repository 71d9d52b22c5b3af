"""砍 Bargain (砍价): "if you're my friend, cut my price" down to the floor, then buy.

Rules and where each is decided:
- the whole cut sequence is drawn when the bargain starts (campaigns.bargain_algorithm: whole fen, each
  cut ≥ ¥0.01, summing exactly to original − floor, the first cut the configured share) and stored with
  its seed: the i-th friend always gets the i-th cut, and an operator can audit it;
- a cut is decided by ONE conditional UPDATE of the bargain row that takes the next index and lowers the
  price by that planned cut: `cuts_done = cuts_done + 1, current_price = current_price − plan[cuts_done]
  WHERE state = 'open' AND cuts_done < cuts_planned AND expires_at > now`. Simultaneous cuts never skip
  or repeat a cut nor pass the floor (CHECKs on both counters behind it);
- a friend cuts a bargain once (unique), never their own (refused here, a CHECK behind it); every cut is
  an act of the engine (`services.record_act`): a referral event crediting the starter, flagged when its
  signals weigh enough (the starter's IP or device; a brand-new account only together with another);
- the last cut reaches the floor and starts the payment deadline (`pay_within_minutes`, default 24 h);
  past it the bargain lapses. Unfinished bargains expire at their time limit (the engine's job);
- the member buys at the current price (only at the floor unless the campaign allows buying earlier)
  through `services.place_campaign_order`: one conditional UPDATE moves the bargain to "ordered" (no
  more cuts, one order); the order's payment makes it "purchased"; a cancelled unpaid order gives the
  bargain back, or lets it lapse if its time is over.
"""

from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation

from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.db.models import Count, F, Q, Sum
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from campaigns import registry
from campaigns.bargain_algorithm import MAX_CUTS, cut_sequence, new_seed, to_fen, to_yuan
from campaigns.models import (
    LIVE_BARGAIN_STATES,
    ZERO,
    BargainCut,
    BargainState,
    BargainTask,
    Campaign,
    CampaignAct,
    CampaignState,
    CampaignType,
)
from campaigns.types.assisted.refusals import ActRefused
from campaigns.types.base import CampaignKind
from orders.models import Order
from shequn.client import request_fingerprint

MIN_TIME_LIMIT_MINUTES, MAX_TIME_LIMIT_MINUTES = 5, 30 * 24 * 60
DEFAULT_PAY_WITHIN_MINUTES = 24 * 60
MAX_FIRST_SHARE = Decimal("0.90")


class BargainRefused(ActRefused):
    """A start, cut or purchase that cannot happen, with a reason code the pages and the API show in words."""

    MESSAGES = {
        **ActRefused.MESSAGES,
        "not_member": gettext_lazy("请先加入活动所在的群，再发起砍价。"),
        "task_limit": gettext_lazy("本活动每人最多发起 %(n)d 次砍价。"),
        "self": gettext_lazy("不能给自己砍价，请把链接分享给好友。"),
        "duplicate": gettext_lazy("你已经帮 TA 砍过一刀了，每人只能砍一次。"),
        "floor": gettext_lazy("已经砍到底价了，不需要再砍了。"),
        "expired": gettext_lazy("这个砍价已过期。"),
        "closed": gettext_lazy("TA 已经下单，砍价已结束。"),
        "lapsed": gettext_lazy("已超过付款期限，砍价已失效。"),
        "not_floor": gettext_lazy("还没有砍到底价，砍到底价后才能购买。"),
        "not_starter": gettext_lazy("只有发起人可以购买。"),
    }


# --- Settings ----------------------------------------------------------------------------------------


def _int(
    value, name: str, errors: dict, *, default: int | None, minimum: int, maximum: int, message: str
) -> int | None:
    if value in (None, ""):
        if default is None:
            errors[name] = message
            return None
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


def _share(value, errors: dict) -> Decimal | None:
    if value in (None, ""):
        return Decimal("0.50")
    try:
        share = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        share = None
    if (
        share is None
        or not share.is_finite()
        or not Decimal(0) <= share <= MAX_FIRST_SHARE
        or share != share.quantize(Decimal("0.01"))
    ):
        errors["first_cut_share"] = _("首刀比例须在 0–0.90 之间（如 0.50 表示首刀砍掉一半差价），最多两位小数。")
        return None
    return share


def clean_bargain_settings(*, campaign_fields: dict, settings: dict) -> dict:
    """original_price (default the SKU's price, not above it), floor_price (> 0, below the original),
    min_cuts/max_cuts (friends needed to reach the floor, a number or a range; at most one cut per fen of
    the difference), time_limit_minutes (default 24 h), may_buy_before_floor (default off),
    first_cut_share (0–0.90, default 0.50), pay_within_minutes (after the floor; default the shop's
    bargain_pay_within_minutes, 24 h unless the shop changed it)."""
    from campaigns.services import parse_money

    errors: dict[str, str] = {}
    sku = campaign_fields.get("sku")
    original = parse_money(
        settings.get("original_price") or (sku.price if sku is not None else None),
        "original_price",
        errors,
        required=True,
    )
    floor = parse_money(settings.get("floor_price"), "floor_price", errors, required=True)
    min_cuts = _int(
        settings.get("min_cuts"),
        "min_cuts",
        errors,
        default=None,
        minimum=1,
        maximum=MAX_CUTS,
        message=_("砍到底价所需人数须在 1–%(max)d 之间。") % {"max": MAX_CUTS},
    )
    max_cuts = _int(
        settings.get("max_cuts"),
        "max_cuts",
        errors,
        default=min_cuts or 1,
        minimum=1,
        maximum=MAX_CUTS,
        message=_("最多人数须在 1–%(max)d 之间。") % {"max": MAX_CUTS},
    )
    time_limit = _int(
        settings.get("time_limit_minutes"),
        "time_limit_minutes",
        errors,
        default=24 * 60,
        minimum=MIN_TIME_LIMIT_MINUTES,
        maximum=MAX_TIME_LIMIT_MINUTES,
        message=_("砍价时限须在 5 分钟到 30 天之间。"),
    )
    shop = campaign_fields.get("shop")
    pay_within = _int(
        settings.get("pay_within_minutes"),
        "pay_within_minutes",
        errors,
        default=shop.settings.bargain_pay_within_minutes if shop else DEFAULT_PAY_WITHIN_MINUTES,
        minimum=MIN_TIME_LIMIT_MINUTES,
        maximum=MAX_TIME_LIMIT_MINUTES,
        message=_("砍到底价后的付款期限须在 5 分钟到 30 天之间。"),
    )
    share = _share(settings.get("first_cut_share"), errors)

    if sku is None:
        errors.setdefault("sku", _("砍价活动需要选择商品规格。"))
    elif original is not None and original > sku.price:
        errors["original_price"] = _("原价不能高于商品价格 ¥%(price)s。") % {"price": sku.price}
    if original is not None and floor is not None and floor >= original:
        errors["floor_price"] = _("底价必须低于原价 ¥%(price)s。") % {"price": original}
    if min_cuts is not None and max_cuts is not None and max_cuts < min_cuts:
        errors["max_cuts"] = _("最多人数不能少于最少人数。")
    if "floor_price" not in errors and original is not None and floor is not None and min_cuts is not None:
        fen = to_fen(original) - to_fen(floor)
        if min_cuts > fen:
            errors["min_cuts"] = _("差价只有 %(fen)d 分，每刀至少 1 分，最多 %(fen)d 人。") % {"fen": fen}
    starts_at, ends_at = campaign_fields.get("starts_at"), campaign_fields.get("ends_at")
    if (
        time_limit
        and isinstance(starts_at, datetime)
        and isinstance(ends_at, datetime)
        and timedelta(minutes=time_limit) > ends_at - starts_at
    ):
        errors.setdefault("time_limit_minutes", _("砍价时限不能长于活动时长。"))
    if errors:
        raise ValidationError(errors)
    return {
        "original_price": str(original),
        "floor_price": str(floor),
        "min_cuts": min_cuts,
        "max_cuts": max_cuts,
        "time_limit_minutes": time_limit,
        "pay_within_minutes": pay_within,
        "may_buy_before_floor": bool(settings.get("may_buy_before_floor")),
        "first_cut_share": str(share),
    }


class Rules:
    """A campaign's cleaned bargain settings, typed."""

    def __init__(self, campaign: Campaign):
        s = campaign.settings
        self.original_price = Decimal(s["original_price"])
        self.floor_price = Decimal(s["floor_price"])
        self.min_cuts: int = s["min_cuts"]
        self.max_cuts: int = s.get("max_cuts") or s["min_cuts"]
        self.time_limit = timedelta(minutes=s["time_limit_minutes"])
        self.pay_within = timedelta(minutes=s.get("pay_within_minutes") or DEFAULT_PAY_WITHIN_MINUTES)
        self.may_buy_before_floor: bool = s.get("may_buy_before_floor", False)
        self.first_cut_share = Decimal(s.get("first_cut_share") or "0.50")


# --- Reads ---------------------------------------------------------------------------------------------


RECENT_CUTS = 20  # the cuts a bargain's page and answer list: the latest ones (the totals are on the row)


def bargain_with_cuts(pk: int) -> BargainTask:
    """One bargain with what its page shows (campaign, starter, group, order): one query, however many
    friends cut it. Its cuts are read bounded: `recent_cuts`, `cut_of`."""
    return BargainTask.objects.select_related(
        "campaign", "campaign__sku", "campaign__product", "starter", "group", "order"
    ).get(pk=pk)


def recent_cuts(task: BargainTask, limit: int = RECENT_CUTS) -> list[BargainCut]:
    """The latest `limit` cuts with their friends, in cut order: one query on (task, number)."""
    latest = task.cuts.select_related("cutter").order_by("-number")[:limit]
    return list(reversed(latest))


def cut_of(task: BargainTask, user) -> BargainCut | None:
    """`user`'s cut of the bargain, if any: one query on the unique (task, cutter)."""
    if user is None or not user.is_authenticated:
        return None
    return BargainCut.objects.filter(task=task, cutter=user).first()


def live_bargain_of(campaign: Campaign, member) -> BargainTask | None:
    return BargainTask.objects.filter(
        campaign=campaign,
        starter=member,
        state__in=(BargainState.OPEN, BargainState.FLOOR_REACHED, BargainState.ORDERED),
    ).first()


# --- Starting ------------------------------------------------------------------------------------------


def start_bargain(
    *, campaign: Campaign, member, group=None, now: datetime | None = None, seed: int | None = None
) -> BargainTask:
    """Start a bargain for `member` (an active member of a group the campaign runs in), its cut sequence
    drawn and stored now. Starting again while one is live returns that one."""
    from campaigns.services import campaign_runs_in, member_groups_for

    now = now or timezone.now()
    if campaign.type != CampaignType.BARGAIN:
        raise ValidationError(_("这不是砍价活动。"))
    existing = live_bargain_of(campaign, member)
    if existing is not None:
        return existing
    if campaign.state != CampaignState.RUNNING or campaign.ends_at <= now:
        raise BargainRefused("not_running")
    groups = member_groups_for(campaign, member)
    if group is None or group not in groups or not campaign_runs_in(campaign, group):
        group = groups[0] if groups else None
    if group is None:
        raise BargainRefused("not_member")
    if (
        campaign.per_member_limit is not None
        and BargainTask.objects.filter(campaign=campaign, starter=member).count() >= campaign.per_member_limit
    ):
        raise BargainRefused("task_limit", n=campaign.per_member_limit)
    rules = Rules(campaign)
    seed = new_seed() if seed is None else seed
    plan = cut_sequence(
        total_fen=to_fen(rules.original_price) - to_fen(rules.floor_price),
        min_cuts=rules.min_cuts,
        max_cuts=rules.max_cuts,
        first_share=rules.first_cut_share,
        seed=seed,
    )
    try:
        with transaction.atomic():
            return BargainTask.objects.create(
                campaign=campaign,
                starter=member,
                group=group,
                original_price=rules.original_price,
                floor_price=rules.floor_price,
                current_price=rules.original_price,
                seed=seed,
                plan=plan,
                cuts_planned=len(plan),
                started_at=now,
                expires_at=min(now + rules.time_limit, campaign.ends_at),
            )
    except IntegrityError:  # a double tap started it a moment ago
        existing = live_bargain_of(campaign, member)
        if existing is None:
            raise
        return existing


# --- Cutting -------------------------------------------------------------------------------------------


def cut_problem(task: BargainTask, user, *, now: datetime | None = None) -> str | None:
    """Why `user` cannot cut `task` now (a reason code of BargainRefused), or None. For pages; `cut`
    decides again under the guards."""
    now = now or timezone.now()
    if task.state == BargainState.FLOOR_REACHED or task.cuts_done >= task.cuts_planned:
        return "floor"
    if task.state in (BargainState.ORDERED, BargainState.PURCHASED):
        return "closed"
    if task.state in (BargainState.EXPIRED, BargainState.LAPSED) or task.expires_at <= now:
        return "expired"
    if task.campaign.state != CampaignState.RUNNING:
        return "not_running"
    if user is None or not user.is_authenticated:
        return None
    if user.pk == task.starter_id:
        return "self"
    if BargainCut.objects.filter(task=task, cutter=user).exists():
        return "duplicate"
    return None


def _take_next_cut(task_id: int, *, now: datetime, pay_deadline: datetime) -> tuple[int, Decimal] | None:
    """(the cut's number, the price after it), or None: ONE conditional UPDATE takes the next planned cut
    and lowers the price by exactly that cut, so racing friends get consecutive cuts and never pass the floor;
    the last cut reaches the floor in the same statement (its payment deadline starts: `pay_deadline`).
    (`cuts_done` on the right-hand side is the value before this update: the 0-based index of the cut.)
    It locks the bargain row until commit: the callers take it last."""
    table = BargainTask._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            UPDATE {table}
               SET cuts_done = cuts_done + 1,
                   current_price = current_price - ((plan ->> cuts_done)::numeric / 100),
                   state = CASE WHEN cuts_done + 1 = cuts_planned THEN %s ELSE state END,
                   floor_reached_at = CASE WHEN cuts_done + 1 = cuts_planned THEN %s ELSE floor_reached_at END,
                   pay_deadline = CASE WHEN cuts_done + 1 = cuts_planned THEN %s ELSE pay_deadline END
             WHERE id = %s AND state = %s AND cuts_done < cuts_planned AND expires_at > %s
         RETURNING cuts_done, current_price
            """,
            [BargainState.FLOOR_REACHED, now, pay_deadline, task_id, BargainState.OPEN, now],
        )
        row = cursor.fetchone()
    return (row[0], row[1]) if row else None


def cut(*, task: BargainTask, cutter, request=None, now: datetime | None = None) -> BargainCut:
    """`cutter` cuts `task` once: the next planned cut, exactly; the last one reaches the floor and starts
    the payment deadline. Refuses (BargainRefused) a self-cut, a second cut by the same friend, a bargain at
    its floor, ordered, expired or lapsed.

    One transaction, the bargain's row (every friend's hot spot) locked as late as possible: first the act
    (its fraud signals, the friend's activity, a newcomer's referral binding) — none of which depends on
    the bargain's state — then the conditional UPDATE that takes the cut, and under its lock only what
    carries the cut's amount: the act's referral event and the cut row. A refusal rolls all of it back.
    """
    from campaigns.services import credit_act, record_act, referral_adapter

    now = now or timezone.now()
    # The shop's settings come with the task (one query, before any lock): near_floor reads them under it.
    task = BargainTask.objects.select_related("campaign__shop__settings", "starter", "group").get(pk=task.pk)
    campaign = task.campaign
    if cutter.pk == task.starter_id:
        ip, device = request_fingerprint(request) if request is not None else (None, "")
        referral_adapter.record_self_attempt(shop_id=campaign.shop_id, user=cutter, action="cut", ip=ip, device=device)
        raise BargainRefused("self")
    problem = cut_problem(task, cutter, now=now)
    if problem:
        raise BargainRefused(problem)
    pay_deadline = now + Rules(campaign).pay_within
    try:
        with transaction.atomic():
            act = record_act(
                campaign=campaign,
                actor=cutter,
                inviter=task.starter,
                kind="cut",
                key=f"cut:{task.pk}:{cutter.pk}",
                request=request,
                group=task.group,
                occurred_at=now,
                credit=False,
            )
            if act is None:  # the act is written with its cut: this friend's cut is in (or being made)
                raise BargainRefused("duplicate")
            taken = _take_next_cut(task.pk, now=now, pay_deadline=pay_deadline)  # the row is locked from here
            if taken is None:
                task.refresh_from_db(fields=["state", "cuts_done", "cuts_planned", "expires_at"])
                raise BargainRefused(cut_problem(task, None, now=now) or "expired")
            number, price_after = taken
            amount = to_yuan(task.plan[number - 1])
            credit_act(act, amount=amount, group=task.group)
            made = BargainCut.objects.create(
                task=task,
                campaign=campaign,
                cutter=cutter,
                starter=task.starter,
                number=number,
                amount=amount,
                price_after=price_after,
                act=act,
                flagged=act.flagged,
                created_at=now,
            )
            if near_floor(task, cuts_done=number, price=price_after):
                tell_near_floor(task, price=price_after)
    except IntegrityError as exc:
        if "bargain_cut_not_self" in str(exc):
            raise BargainRefused("self") from None
        raise BargainRefused("duplicate") from None
    return made


# --- Near the floor: the starter is told once --------------------------------------------------------------


def near_floor(task: BargainTask, *, cuts_done: int, price: Decimal) -> bool:
    """After a cut: the bargain has not reached its floor but is close to it: one cut left, or at most the
    shop's `bargain_near_floor_percent` of the way down left to cut (whichever comes first)."""
    if cuts_done >= task.cuts_planned:
        return False
    if task.cuts_planned - cuts_done == 1:
        return True
    share = Decimal(task.campaign.shop.settings.bargain_near_floor_percent) / 100
    return price - task.floor_price <= (task.original_price - task.floor_price) * share


def tell_near_floor(task: BargainTask, *, price: Decimal) -> None:
    """Inside the cut's transaction: the starter hears once per bargain that it is nearly at its floor."""
    from campaigns.messages import tell

    tell(
        campaign=task.campaign,
        member=task.starter_id,
        kind="bargain_near_floor",
        key=f"bargain:{task.pk}:near-floor",
        title=_("就差一点就砍到底价了"),
        body=_("「%(name)s」现价 ¥%(price)s，离底价 ¥%(floor)s 只差一点，再请好友帮砍一刀吧。")
        % {"name": task.campaign.name, "price": price, "floor": task.floor_price},
        url=task.get_absolute_url(),
    )


def bargain_summary(task: BargainTask) -> str:
    if task.state == BargainState.OPEN:
        return _("我的砍价 · 现价 ¥%(price)s · 还差 %(n)d 刀") % {"price": task.current_price, "n": task.cuts_left}
    if task.state == BargainState.FLOOR_REACHED:
        return _("我的砍价 · 已砍到底价 ¥%(price)s，待购买") % {"price": task.current_price}
    return _("我的砍价 · %(state)s · ¥%(price)s") % {"state": task.get_state_display(), "price": task.current_price}


def _bargain_ends_at(task: BargainTask):
    if task.state == BargainState.OPEN:
        return task.expires_at
    return task.pay_deadline if task.state == BargainState.FLOOR_REACHED else None


# --- Buying --------------------------------------------------------------------------------------------


def buy_problem(task: BargainTask, *, now: datetime | None = None) -> str | None:
    """Why the starter cannot buy now (a reason code), or None."""
    now = now or timezone.now()
    if task.state == BargainState.ORDERED or task.state == BargainState.PURCHASED:
        return "closed"
    if task.state == BargainState.LAPSED or (task.state == BargainState.FLOOR_REACHED and task.pay_deadline <= now):
        return "lapsed"
    if task.state == BargainState.EXPIRED or (task.state == BargainState.OPEN and task.expires_at <= now):
        return "expired"
    if task.state == BargainState.OPEN and not Rules(task.campaign).may_buy_before_floor:
        return "not_floor"
    return None


def buy(
    *,
    task: BargainTask,
    member,
    delivery,
    idempotency_key: str,
    now: datetime | None = None,
    choices: dict[str, str] | None = None,
) -> Order:
    """The starter buys at the current price (the floor, or earlier when the campaign allows it) through the
    normal order pipeline. One conditional UPDATE moves the bargain to "ordered": no cut lands after the
    price is taken, and a bargain has one live order; the same key returns the same order."""
    from campaigns.services import place_campaign_order

    now = now or timezone.now()
    task = BargainTask.objects.select_related("campaign", "campaign__sku", "group", "order").get(pk=task.pk)
    if member.pk != task.starter_id:
        raise BargainRefused("not_starter")
    if task.order is not None and task.order.idempotency_key == idempotency_key:
        return task.order  # a retry of the purchase that placed it
    problem = buy_problem(task, now=now)
    if problem:
        raise BargainRefused(problem)
    campaign = task.campaign
    may_buy_early = Rules(campaign).may_buy_before_floor
    buyable = Q(state=BargainState.FLOOR_REACHED, pay_deadline__gt=now)
    if may_buy_early:
        buyable |= Q(state=BargainState.OPEN, expires_at__gt=now)
    with transaction.atomic():
        if BargainTask.objects.filter(buyable, pk=task.pk).update(state=BargainState.ORDERED) != 1:
            task.refresh_from_db()
            raise BargainRefused(buy_problem(task, now=now) or "closed")
        price = BargainTask.objects.filter(pk=task.pk).values_list("current_price", flat=True).get()
        order = place_campaign_order(
            member=member,
            campaign=campaign,
            group=task.group,
            sku=campaign.sku,
            quantity=1,
            price=price,
            delivery=delivery,
            idempotency_key=idempotency_key,
            allow_after_end=True,
            choices=choices,
        )
        BargainTask.objects.filter(pk=task.pk).update(order=order)
    return order


# --- Expiry --------------------------------------------------------------------------------------------


def close_due(*, now: datetime | None = None, limit: int = 1000) -> int:
    """Expire open bargains past their time and lapse those at the floor past their payment deadline. One
    conditional UPDATE per bargain; safe to run twice or concurrently."""
    now = now or timezone.now()
    expiring = list(
        BargainTask.objects.filter(state=BargainState.OPEN, expires_at__lte=now)
        .order_by("expires_at", "pk")
        .values_list("pk", flat=True)[:limit]
    )
    lapsing = list(
        BargainTask.objects.filter(state=BargainState.FLOOR_REACHED, pay_deadline__lte=now)
        .order_by("pay_deadline", "pk")
        .values_list("pk", flat=True)[:limit]
    )
    done = sum(
        BargainTask.objects.filter(pk=pk, state=BargainState.OPEN, expires_at__lte=now).update(
            state=BargainState.EXPIRED, closed_at=now
        )
        for pk in expiring
    )
    done += sum(
        BargainTask.objects.filter(pk=pk, state=BargainState.FLOOR_REACHED, pay_deadline__lte=now).update(
            state=BargainState.LAPSED, closed_at=now
        )
        for pk in lapsing
    )
    return done


# --- The plug-in -----------------------------------------------------------------------------------------


class BargainKind(CampaignKind):
    code = CampaignType.BARGAIN
    label = gettext_lazy("砍价")
    summary = gettext_lazy("请好友各砍一刀，砍到底价后下单购买。")
    essential_settings = ("floor_price", "min_cuts")
    sells = True

    @property
    def settings_form(self):
        from .forms import BargainSettingsForm

        return BargainSettingsForm

    def validate_settings(self, *, campaign_fields: dict, settings: dict) -> dict:
        return clean_bargain_settings(campaign_fields=campaign_fields, settings=settings)

    def on_end(self, campaign) -> None:
        """An ended or cancelled campaign stops the cutting (open bargains expire); one at its floor may still
        be bought until its payment deadline, unless the campaign was cancelled."""
        now = timezone.now()
        BargainTask.objects.filter(campaign=campaign, state=BargainState.OPEN).update(
            state=BargainState.EXPIRED, closed_at=now
        )
        if campaign.state == CampaignState.CANCELLED:
            BargainTask.objects.filter(campaign=campaign, state=BargainState.FLOOR_REACHED).update(
                state=BargainState.LAPSED, closed_at=now
            )

    def expire_due(self, *, now) -> int:
        return close_due(now=now)

    def after_paid(self, order) -> None:
        BargainTask.objects.filter(order_id=order.pk, state=BargainState.ORDERED).update(
            state=BargainState.PURCHASED, closed_at=timezone.now()
        )

    def after_cancel(self, order) -> None:
        """An unpaid order cancelled: the bargain is back where it was, or lapses/expires if its time is over
        (the member may buy again before the deadline)."""
        now = timezone.now()
        # Each statement matches only bargains still "ordered" with this order: the first that applies wins.
        ordered = BargainTask.objects.filter(order_id=order.pk, state=BargainState.ORDERED)
        at_floor = Q(cuts_done__gte=F("cuts_planned"))
        ordered.filter(at_floor, pay_deadline__gt=now).update(state=BargainState.FLOOR_REACHED, order=None)
        ordered.filter(at_floor).update(state=BargainState.LAPSED, closed_at=now)
        ordered.filter(expires_at__gt=now).update(state=BargainState.OPEN, order=None)
        ordered.update(state=BargainState.EXPIRED, closed_at=now)

    def figures(self, campaign) -> dict:
        return bargain_figures(campaign)

    # -- the member's own part --

    participation_label = gettext_lazy("我的砍价")

    def member_price(self, campaign) -> Decimal | None:
        return Decimal(campaign.settings["floor_price"])

    def member_states(self, campaigns: list, member) -> dict[int, dict]:
        """The member's live bargain in each campaign: its price now and the cuts it lacks. One query."""
        live = BargainTask.objects.filter(
            campaign__in=[c.pk for c in campaigns], starter=member, state__in=LIVE_BARGAIN_STATES
        ).order_by("-started_at", "-pk")
        states: dict[int, dict] = {}
        for task in live:
            states.setdefault(
                task.campaign_id,
                {"summary": bargain_summary(task), "url": task.get_absolute_url(), "ends_at": _bargain_ends_at(task)},
            )
        return states

    def participations(self, member, *, limit: int) -> list[dict]:
        tasks = (
            BargainTask.objects.filter(starter=member).select_related("campaign").order_by("-started_at", "-pk")[:limit]
        )
        return [
            {
                "id": task.pk,
                "campaign_id": task.campaign_id,
                "title": task.campaign.hook_title or task.campaign.name,
                "state": task.state,
                "state_label": task.get_state_display(),
                "summary": bargain_summary(task),
                "live": task.state in LIVE_BARGAIN_STATES,
                "ends_at": _bargain_ends_at(task),
                "url": task.get_absolute_url(),
            }
            for task in tasks
        ]

    def poster_offer(self, campaign, target) -> str:
        """最低砍到 ¥x; on a bargain's poster, its price now and the cuts it still lacks."""
        from campaigns.posters import with_original_price

        words = _("最低砍到 ¥%(price)s") % {"price": campaign.settings.get("floor_price")}
        if isinstance(target, BargainTask):
            left = max(target.cuts_planned - target.cuts_done, 0)
            words = _("现价 ¥%(price)s · 还差 %(n)d 刀") % {"price": target.current_price, "n": left}
        was = campaign.settings.get("original_price") or (campaign.sku.price if campaign.sku_id else None)
        return with_original_price(words, was)


def bargain_figures(campaign: Campaign) -> dict:
    """Live figures of one bargain campaign: a fixed number of queries."""
    tasks = BargainTask.objects.filter(campaign=campaign).aggregate(
        started=Count("pk"),
        open=Count("pk", filter=Q(state=BargainState.OPEN)),
        floor=Count("pk", filter=Q(floor_reached_at__isnull=False)),
        purchased=Count("pk", filter=Q(state=BargainState.PURCHASED)),
        lapsed=Count("pk", filter=Q(state__in=(BargainState.EXPIRED, BargainState.LAPSED))),
    )
    cuts = BargainCut.objects.filter(campaign=campaign).aggregate(
        cuts=Count("pk"),
        cutters=Count("cutter", distinct=True),
        amount=Sum("amount"),
        flagged=Count("pk", filter=Q(flagged=True)),
    )
    brought = CampaignAct.objects.filter(campaign=campaign, kind="cut", new_member=True).count()
    return {
        _("发起砍价"): tasks["started"],
        _("砍价中"): tasks["open"],
        _("砍到底价"): tasks["floor"],
        _("已购买"): tasks["purchased"],
        _("过期或失效"): tasks["lapsed"],
        _("砍价刀数"): cuts["cuts"],
        _("砍价人数"): cuts["cutters"],
        _("累计砍掉（元）"): cuts["amount"] or ZERO,
        _("可疑砍价"): cuts["flagged"],
        _("带来新成员"): brought,
    }


registry.register(BargainKind())
