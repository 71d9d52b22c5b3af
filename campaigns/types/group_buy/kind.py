"""拼 Group buy (拼团), with tiered pricing (阶梯拼团) as an option.

Rules and where each is decided:
- a member opens a team by placing and paying an order at the group price (the leader may pay less);
  others join through the team's share link by paying. The seat is decided when the payment lands
  (the after_paid hook, inside the payment's transaction) by ONE conditional UPDATE of the team row:
  `seats_taken + 1` only while the team is open, unexpired and not full. That UPDATE also closes the
  team as succeeded when it fills, so the N-th payment and the success are one statement;
- a payment that finds the team full, failed or expired is refunded at once, in the same transaction,
  under the order's unique refund key (exactly once);
- an unfilled team fails at expiry (the job): one conditional UPDATE closes it, then each paid order is
  refunded in its own transaction, stamped on its seat, so one failure never rolls back the others and
  a rerun refunds only what is left;
- tiered: the team closes at the largest tier at once, or at expiry at the tier it reached (failing below
  the first); every member is refunded the difference to the reached tier, each under its own key;
- 模拟成团 (off by default): at expiry an unfilled team with at least its leader succeeds as "simulated",
  and the dashboard says so;
- orders of a team that has not succeeded cannot ship (before_ship refuses);
- a member is never twice in one team nor in two open teams of one campaign (partial unique indexes).
"""

import logging
from datetime import datetime, timedelta
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Case, Count, F, Q, Sum, Value, When
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from campaigns import registry
from campaigns.models import (
    LIVE_SEAT_STATES,
    ZERO,
    Campaign,
    CampaignAct,
    CampaignOrder,
    CampaignState,
    CampaignType,
    SeatRole,
    SeatState,
    Team,
    TeamSeat,
    TeamState,
)
from campaigns.types.base import CampaignKind
from orders import services as order_services
from orders.lifecycle import PAID_STATES, TransitionRefused
from orders.models import Order, OrderState, Refund, RefundState
from shequn import kicks, locks
from shequn.client import request_fingerprint

logger = logging.getLogger(__name__)
CENT = Decimal("0.01")
MAX_TEAM_SIZE = 100
MAX_TIME_LIMIT_MINUTES = 7 * 24 * 60
DASHBOARD_PAGE_SIZE = 50


# --- Settings ----------------------------------------------------------------------------------------


def _int(value, name: str, errors: dict, *, minimum: int, maximum: int, message: str) -> int | None:
    try:
        number = int(str(value).strip())
    except (TypeError, ValueError):
        errors[name] = message
        return None
    if not minimum <= number <= maximum:
        errors[name] = message
        return None
    return number


def _clean_tiers(tiers_raw, errors: dict) -> list[dict]:
    """The tiers of a tiered group buy, cleaned: at least two, each a size of 2…MAX_TEAM_SIZE and a
    price, sizes rising and prices falling. The first bad tier stops the cleaning with one message
    under "tiers" (the tiers cleaned before it are still returned)."""
    from campaigns.services import parse_money

    tiers: list[dict] = []
    if not tiers_raw:
        return tiers
    if not isinstance(tiers_raw, list) or len(tiers_raw) < 2:
        errors["tiers"] = _("阶梯拼团至少需要两档。")
        return tiers
    last_size, last_price = 1, None
    for index, tier in enumerate(tiers_raw, start=1):
        tier = tier if isinstance(tier, dict) else {}
        size = _int(
            tier.get("size"),
            "tiers",
            errors,
            minimum=2,
            maximum=MAX_TEAM_SIZE,
            message=_("第 %(i)d 档人数必须是 2–%(max)d 的整数。") % {"i": index, "max": MAX_TEAM_SIZE},
        )
        if size is None:
            break  # _int named the tier
        price_errors: dict[str, str] = {}
        price = parse_money(tier.get("price"), "price", price_errors, required=True)
        if price is None:
            errors["tiers"] = _("第 %(i)d 档价格：%(error)s") % {"i": index, "error": price_errors["price"]}
            break
        if size <= last_size:
            errors["tiers"] = _("各档人数必须逐档增加。")
            break
        if last_price is not None and price >= last_price:
            errors["tiers"] = _("人数越多价格应越低：第 %(i)d 档价格必须低于上一档。") % {"i": index}
            break
        tiers.append({"size": size, "price": str(price)})
        last_size, last_price = size, price
    return tiers


def clean_group_buy_settings(*, campaign_fields: dict, settings: dict) -> dict:
    """team_size (≥ 2), time_limit_minutes, group_price (below the SKU price), leader_discount (optional,
    below the lowest price), new_members_only, simulate_fill (模拟成团, default off), tiers (optional:
    [{"size": 3, "price": "39.00"}, {"size": 5, "price": "35.00"}], sizes rising and prices falling; the
    first tier's price is what members pay, the last tier's size is the team size)."""
    from campaigns.services import parse_money

    errors: dict[str, str] = {}
    sku = campaign_fields.get("sku")
    tiers = _clean_tiers(settings.get("tiers") or [], errors)

    if tiers and "tiers" not in errors:
        team_size, group_price = tiers[-1]["size"], Decimal(tiers[0]["price"])
    else:
        team_size = _int(
            settings.get("team_size"),
            "team_size",
            errors,
            minimum=2,
            maximum=MAX_TEAM_SIZE,
            message=_("成团人数至少 2 人，最多 %(max)d 人。") % {"max": MAX_TEAM_SIZE},
        )
        group_price = parse_money(settings.get("group_price"), "group_price", errors, required=True)
    time_limit = _int(
        settings.get("time_limit_minutes", 24 * 60),
        "time_limit_minutes",
        errors,
        minimum=5,
        maximum=MAX_TIME_LIMIT_MINUTES,
        message=_("成团时限须在 5 分钟到 7 天之间。"),
    )
    leader_discount = parse_money(settings.get("leader_discount"), "leader_discount", errors)

    if group_price is not None and sku is not None and group_price >= sku.price:
        field = "tiers" if tiers else "group_price"
        errors.setdefault(field, _("拼团价必须低于商品原价 ¥%(price)s。") % {"price": sku.price})
    lowest = Decimal(tiers[-1]["price"]) if tiers and "tiers" not in errors else group_price
    if leader_discount is not None and lowest is not None and leader_discount >= lowest:
        errors["leader_discount"] = _("团长优惠必须低于最低成团价 ¥%(price)s。") % {"price": lowest}
    starts_at, ends_at = campaign_fields.get("starts_at"), campaign_fields.get("ends_at")
    if (
        time_limit
        and isinstance(starts_at, datetime)
        and isinstance(ends_at, datetime)
        and timedelta(minutes=time_limit) > ends_at - starts_at
    ):
        errors.setdefault("time_limit_minutes", _("成团时限不能长于活动时长。"))
    if errors:
        raise ValidationError(errors)
    return {
        "team_size": team_size,
        "group_price": str(group_price),
        "time_limit_minutes": time_limit,
        "leader_discount": str(leader_discount) if leader_discount is not None else None,
        "new_members_only": bool(settings.get("new_members_only")),
        "simulate_fill": bool(settings.get("simulate_fill")),
        "tiers": tiers,
    }


class Rules:
    """A campaign's cleaned group-buy settings, typed."""

    def __init__(self, campaign: Campaign):
        s = campaign.settings
        self.team_size: int = s["team_size"]
        self.group_price = Decimal(s["group_price"])
        self.time_limit = timedelta(minutes=s["time_limit_minutes"])
        self.leader_discount = Decimal(s["leader_discount"]) if s.get("leader_discount") else ZERO
        self.new_members_only: bool = s.get("new_members_only", False)
        self.simulate_fill: bool = s.get("simulate_fill", False)
        self.tiers = [(t["size"], Decimal(t["price"])) for t in s.get("tiers") or []]
        self.min_size = self.tiers[0][0] if self.tiers else self.team_size

    @property
    def time_limit_text(self) -> str:
        minutes = int(self.time_limit.total_seconds() // 60)
        if minutes % 60:
            return _("%(n)d 分钟") % {"n": minutes}
        return _("%(n)d 小时") % {"n": minutes // 60}

    def price_for(self, role: str) -> Decimal:
        return self.group_price - (self.leader_discount if role == SeatRole.LEADER else ZERO)

    def tier_price(self, seats: int) -> Decimal | None:
        """The price of the highest tier `seats` people reach (None below the first)."""
        reached = [price for size, price in self.tiers if seats >= size]
        return reached[-1] if reached else None


# --- Opening and joining -----------------------------------------------------------------------------


def _seat_error(exc: IntegrityError) -> ValidationError:
    text = str(exc)
    if "team_member_once_per_team" in text:
        return ValidationError(_("你已在这个团里了。"))
    if "team_member_one_open_team_per_campaign" in text:
        return ValidationError(_("你在本活动已有一个进行中的团，请等它结束后再参加。"))
    return ValidationError(_("参团失败，请重试。"))


def open_team(
    *,
    campaign: Campaign,
    member,
    group,
    delivery,
    idempotency_key: str,
    quantity: int = 1,
    inviter=None,
    request=None,
    choices: dict[str, str] | None = None,
) -> TeamSeat:
    """Open a team: the leader's order at the group price (less the leader discount) and a pending team.
    The team opens when that order is paid. The same key returns the same seat."""
    from campaigns.services import place_campaign_order

    existing = (
        TeamSeat.objects.filter(member=member, order__idempotency_key=idempotency_key, campaign=campaign)
        .select_related("team", "order")
        .first()
    )
    if existing is not None:
        return existing
    if campaign.type != CampaignType.GROUP_BUY:
        raise ValidationError(_("这不是拼团活动。"))
    rules = Rules(campaign)
    ip, device = request_fingerprint(request) if request is not None else (None, "")
    try:
        with transaction.atomic(), locks.hot_rows_last():  # the seat first, the SKU's stock last
            order = place_campaign_order(
                member=member,
                campaign=campaign,
                group=group,
                sku=campaign.sku,
                quantity=quantity,
                price=rules.price_for(SeatRole.LEADER),
                delivery=delivery,
                idempotency_key=idempotency_key,
                choices=choices,
            )
            team = Team.objects.create(
                campaign=campaign,
                group=group,
                leader=member,
                size=rules.team_size,
                min_size=rules.min_size,
                time_limit_minutes=int(rules.time_limit.total_seconds() // 60),
            )
            return TeamSeat.objects.create(
                team=team,
                campaign=campaign,
                member=member,
                inviter=inviter if inviter != member else None,
                role=SeatRole.LEADER,
                order=order,
                unit_price=rules.price_for(SeatRole.LEADER),
                quantity=quantity,
                ip=ip,
                device=device[:64],
            )
    except IntegrityError as exc:
        raise _seat_error(exc) from None


def join_problem(team: Team, member, *, now=None) -> str | None:
    """Why `member` cannot join `team` now (a Chinese sentence), or None. A hint for pages: the seat
    itself is decided when the payment lands."""
    now = now or timezone.now()
    if team.state == TeamState.SUCCEEDED:
        return _("这个团已拼成。")
    if team.state in (TeamState.FAILED, TeamState.VOID):
        return _("这个团已结束。")
    if team.state == TeamState.PENDING:
        return _("团长还未付款，暂不能参团。")
    if team.expires_at is not None and team.expires_at <= now:
        return _("这个团已到期。")
    if team.seats_taken >= team.size:
        return _("这个团已满员。")
    if member is not None and member.is_authenticated:
        if (
            team.leader_id == member.pk
            or team.seats.filter(member=member, state__in=(SeatState.PENDING, SeatState.SEATED, SeatState.WON)).exists()
        ):
            return _("你已在这个团里了。")
        rules = Rules(team.campaign)
        from campaigns.services import is_new_to_shop

        if rules.new_members_only and not is_new_to_shop(member, team.campaign.shop_id):
            return _("这个团仅限新人参加（未在本店下过单）。")
    return None


def join_team(
    *,
    team: Team,
    member,
    group,
    delivery,
    idempotency_key: str,
    quantity: int = 1,
    inviter=None,
    request=None,
    choices: dict[str, str] | None = None,
) -> TeamSeat:
    """Join an open team: an order at the group price and a pending seat; the seat is decided when it is
    paid. Refuses a full, closed or expired team, the member's own team, a second open team in the
    campaign, and (new members only) someone who has bought in the shop before."""
    from campaigns.services import place_campaign_order

    existing = (
        TeamSeat.objects.filter(member=member, order__idempotency_key=idempotency_key, team=team)
        .select_related("team", "order")
        .first()
    )
    if existing is not None:
        return existing
    team = Team.objects.select_related("campaign").get(pk=team.pk)
    problem = join_problem(team, member)
    if problem:
        raise ValidationError(problem)
    campaign = team.campaign
    rules = Rules(campaign)
    if inviter is not None and inviter.pk == member.pk:
        inviter = None
    ip, device = request_fingerprint(request) if request is not None else (None, "")
    try:
        with transaction.atomic(), locks.hot_rows_last():  # the seat first, the SKU's stock last
            order = place_campaign_order(
                member=member,
                campaign=campaign,
                group=group,
                sku=campaign.sku,
                quantity=quantity,
                price=rules.price_for(SeatRole.JOINER),
                delivery=delivery,
                idempotency_key=idempotency_key,
                allow_after_end=True,
                choices=choices,
            )
            return TeamSeat.objects.create(
                team=team,
                campaign=campaign,
                member=member,
                inviter=inviter or team.leader,
                role=SeatRole.JOINER,
                order=order,
                unit_price=rules.price_for(SeatRole.JOINER),
                quantity=quantity,
                ip=ip,
                device=device[:64],
            )
    except IntegrityError as exc:
        raise _seat_error(exc) from None


# --- The order hooks ---------------------------------------------------------------------------------


def _take_seat(team_id: int, *, now) -> Team | None:
    """One conditional UPDATE decides the seat: only an open, unexpired team below its size gains a paid
    member, and the one that makes it full succeeds in the same statement. None: no seat."""
    filled = Q(seats_taken=F("size") - 1)
    updated = Team.objects.filter(
        pk=team_id, state=TeamState.OPEN, expires_at__gt=now, seats_taken__lt=F("size")
    ).update(
        seats_taken=F("seats_taken") + 1,
        state=Case(When(filled, then=Value(TeamState.SUCCEEDED)), default=F("state")),
        closed_at=Case(When(filled, then=Value(now)), default=F("closed_at")),
    )
    return Team.objects.get(pk=team_id) if updated == 1 else None


def _open(team_id: int, *, now, time_limit: timedelta) -> Team | None:
    """The leader paid: the pending team opens with its first seat and its clock starts."""
    updated = Team.objects.filter(pk=team_id, state=TeamState.PENDING).update(
        state=TeamState.OPEN, seats_taken=1, opened_at=now, expires_at=now + time_limit
    )
    return Team.objects.get(pk=team_id) if updated == 1 else None


def _refund_whole(order: Order, *, reason: str) -> None:
    """Refund what is left of a paid order, inside the caller's transaction (the payment's, or the job's one
    per seat); exactly once: the order's state and the unique refund keys decide."""
    order = Order.objects.select_for_update().get(pk=order.pk)
    if order.state == OrderState.PAID:
        order_services.request_refund(order=order, by=None, reason=reason)
        order_services.approve_refund(order=order, by=None, reason=reason)
    elif order.state == OrderState.REFUND_REQUESTED:
        if not order.refunds.filter(state=RefundState.PENDING).exists():
            order_services.approve_refund(order=order, by=None, reason=reason)
    elif order.state in PAID_STATES:
        left = order_services.refundable(order)
        if left > 0:
            order_services.refund_part(order=order, amount=left, key=f"team-refund:{order.pk}", reason=reason)


def _stamp_refund(seat_id: int) -> bool:
    return (
        TeamSeat.objects.filter(pk=seat_id, refund_started_at__isnull=True).update(refund_started_at=timezone.now())
        == 1
    )


class GroupBuy(CampaignKind):
    code = CampaignType.GROUP_BUY
    label = gettext_lazy("拼团")
    summary = gettext_lazy("凑够人数一起买，人人享拼团价；不成团自动退款。")
    essential_settings = ("group_price", "team_size")
    sells = True

    @property
    def settings_form(self):
        from .forms import GroupBuySettingsForm

        return GroupBuySettingsForm

    @property
    def figure_labels(self) -> dict:
        return FIGURE_LABELS

    def validate_settings(self, *, campaign_fields: dict, settings: dict) -> dict:
        return clean_group_buy_settings(campaign_fields=campaign_fields, settings=settings)

    # -- orders.hooks, inside the order's transaction --

    def after_paid(self, order) -> None:
        """Decide the seat. Never raises (the money is taken): a payment that finds no seat is refunded."""
        seat = TeamSeat.objects.select_related("team", "campaign").filter(order_id=order.pk).first()
        if seat is None:
            return
        now = timezone.now()
        team = seat.team
        won = None
        if seat.role == SeatRole.LEADER:
            if seat.campaign.state == CampaignState.RUNNING:
                won = _open(team.pk, now=now, time_limit=timedelta(minutes=team.time_limit_minutes))
        else:
            won = _take_seat(team.pk, now=now)
        if won is None:
            self._bounce(seat, order)
            return
        TeamSeat.objects.filter(pk=seat.pk, state=SeatState.PENDING).update(
            state=SeatState.SEATED, paid_at=now, seat_number=won.seats_taken
        )
        self._record_act(seat, won, now)
        if won.state == TeamState.SUCCEEDED:
            self._succeed(won)
        elif won.seats_left == 1:
            tell_one_seat_short(won)

    def _bounce(self, seat: TeamSeat, order) -> None:
        """Paid into a full, closed or expired team (or a team whose campaign stopped): money back, once."""
        if (
            TeamSeat.objects.filter(pk=seat.pk, state=SeatState.PENDING).update(
                state=SeatState.BOUNCED, paid_at=timezone.now()
            )
            != 1
        ):
            return
        if seat.role == SeatRole.LEADER:
            Team.objects.filter(pk=seat.team_id, state=TeamState.PENDING).update(
                state=TeamState.VOID, closed_at=timezone.now()
            )
        if _stamp_refund(seat.pk):
            _refund_whole(order, reason=_("拼团已满员或已结束，自动退款"))

    def _record_act(self, seat: TeamSeat, team: Team, now) -> None:
        from campaigns.services import record_act

        opening = seat.role == SeatRole.LEADER
        leader = None if opening else team.leader
        try:
            record_act(
                campaign=seat.campaign,
                actor=seat.member,
                inviter=None if opening else seat.inviter,
                kind="team_open" if opening else "team_join",
                key=f"team:{team.pk}:seat:{seat.pk}",
                starter=leader,
                ip=seat.ip,
                device=seat.device,
                group=team.group,
                amount=seat.unit_price * seat.quantity,
                occurred_at=now,
                order=seat.order,
            )
        except ValidationError:
            logger.warning("self act refused for seat %s", seat.pk)

    def _succeed(self, team: Team) -> None:
        """The team closed as succeeded: its seated members won; tiered teams owe each the difference to
        the reached tier (paid by the job, each under its own key); unpaid joiners' orders are cancelled
        after commit (never inside this transaction: no second order lock under the team's)."""
        rules = Rules(team.campaign)
        TeamSeat.objects.filter(team=team, state=SeatState.SEATED).update(state=SeatState.WON)
        final = rules.tier_price(team.seats_taken) if rules.tiers else None
        if rules.tiers and final is None:  # simulated below the first tier: the first tier's price
            final = rules.tiers[0][1]
        if final is not None:
            Team.objects.filter(pk=team.pk).update(final_price=final)
            for seat in TeamSeat.objects.filter(team=team, state=SeatState.WON).select_related("order"):
                # Never more than the member paid for it: a coupon or points may have paid part of the price.
                owed = min(self._difference(rules, seat, final), seat.order.total)
                if owed > 0:
                    TeamSeat.objects.filter(pk=seat.pk).update(price_refund=owed)
        transaction.on_commit(lambda: _cancel_unpaid_seats_later(team.pk), robust=True)
        tell_succeeded(team)

    @staticmethod
    def _difference(rules: Rules, seat: TeamSeat, final: Decimal) -> Decimal:
        """What the seat overpaid against the reached tier (the leader keeps their discount)."""
        due = max(final - (rules.leader_discount if seat.role == SeatRole.LEADER else ZERO), CENT)
        return max(seat.unit_price - due, ZERO) * seat.quantity

    def after_cancel(self, order) -> None:
        seat = TeamSeat.objects.filter(order_id=order.pk, state=SeatState.PENDING).first()
        if seat is None:
            return
        TeamSeat.objects.filter(pk=seat.pk, state=SeatState.PENDING).update(state=SeatState.CANCELLED)
        if seat.role == SeatRole.LEADER:
            Team.objects.filter(pk=seat.team_id, state=TeamState.PENDING).update(
                state=TeamState.VOID, closed_at=timezone.now()
            )

    def before_ship(self, order) -> None:
        seat = TeamSeat.objects.select_related("team").filter(order_id=order.pk).first()
        if seat is not None and not (seat.team.state == TeamState.SUCCEEDED and seat.state == SeatState.WON):
            raise ValidationError(_("拼团尚未成功，订单暂不能发货。"))

    def after_refund(self, order) -> None:
        """A refund after the fact: a seat in a succeeded team is marked refunded (the team keeps its
        success and its count: it did fill); a seat in an open team gives its place back."""
        seat = TeamSeat.objects.filter(order_id=order.pk).first()
        if seat is None:
            return
        if TeamSeat.objects.filter(pk=seat.pk, state=SeatState.WON).update(state=SeatState.REFUNDED):
            return
        if TeamSeat.objects.filter(pk=seat.pk, state=SeatState.SEATED).update(state=SeatState.REFUNDED):
            Team.objects.filter(pk=seat.team_id, state=TeamState.OPEN, seats_taken__gt=0).update(
                seats_taken=F("seats_taken") - 1
            )

    # -- the engine's calls --

    def on_end(self, campaign) -> None:
        """A cancelled campaign fails its open teams (refunded by the job, each on its own). An ended one
        lets open teams run to their own expiry: they were promised their time."""
        if campaign.state != CampaignState.CANCELLED:
            return
        now = timezone.now()
        for team_id in Team.objects.filter(campaign=campaign, state=TeamState.OPEN).values_list("pk", flat=True):
            _fail(team_id, now=now, only_expired=False)
        Team.objects.filter(campaign=campaign, state=TeamState.PENDING).update(state=TeamState.VOID, closed_at=now)

    def expire_due(self, *, now) -> int:
        """Close expired teams (each in its own transaction), then pay every refund still owed (each in its
        own transaction). Safe to run twice or concurrently: conditional UPDATEs and stamps decide."""
        closed = 0
        for team_id in Team.objects.filter(state=TeamState.OPEN, expires_at__lte=now).values_list("pk", flat=True)[
            :500
        ]:
            with transaction.atomic():
                closed += close_expired_team(team_id, now=now)
        refund_owed()
        cancel_unpaid_in_closed_teams()
        return closed

    def page_after_payment(self, order) -> str | None:
        """The member's team: where the payment's outcome (seated, or bounced and refunded) is shown."""
        seat = TeamSeat.objects.select_related("team").filter(order_id=order.pk).first()
        return seat.team.get_absolute_url() if seat is not None else None

    # -- what 拼团 adds to the engine's pages and API --

    def landing_context(self, campaign, user) -> dict:
        """The rules and prices, the open teams to join and the member's own live seat, if any."""
        from campaigns import selectors

        rules = Rules(campaign)
        return {
            "rules": rules,
            "leader_price": rules.price_for(SeatRole.LEADER),
            "joinable_teams": selectors.joinable_teams(campaign, exclude_member=user),
            "my_live_seat": selectors.live_seat_in_campaign(campaign, user),
        }

    def api_fields(self) -> dict:
        from .serializers import GroupBuyRulesSerializer

        return {"group_buy": GroupBuyRulesSerializer(allow_null=True)}

    def api_extras(self, campaign) -> dict:
        rules = Rules(campaign)
        return {
            "group_buy": {
                "team_size": rules.team_size,
                "group_price": rules.group_price,
                "leader_price": rules.price_for(SeatRole.LEADER),
                "time_limit_minutes": campaign.settings["time_limit_minutes"],
                "new_members_only": rules.new_members_only,
                "simulate_fill": rules.simulate_fill,
                "tiers": campaign.settings.get("tiers") or [],
            }
        }

    def figures(self, campaign) -> dict:
        return group_buy_figures(campaign)

    def dashboard_figures(self, campaign) -> dict:
        """The figures, and how many succeeded teams were 模拟成团 (said under them)."""
        figures = self.figures(campaign)
        return {"figures": self.labelled(figures), "simulated_teams": figures.get("teams_simulated", 0)}

    def dashboard_context(self, campaign, request) -> dict:
        """The campaign's teams, a page at a time, filtered by state (?team_state=)."""
        from django.core.paginator import Paginator

        from campaigns import selectors

        team_state = request.GET.get("team_state", "")
        team_state = team_state if team_state in TeamState.values else ""
        teams = selectors.teams_of_campaign(campaign, state=team_state or None)
        return {
            "teams": Paginator(teams, DASHBOARD_PAGE_SIZE).get_page(request.GET.get("page")),
            "team_state": team_state,
            "team_states": TeamState.choices,
        }

    # -- the member's own part --

    participation_label = gettext_lazy("我的拼团")

    def member_price(self, campaign) -> Decimal | None:
        return Rules(campaign).group_price

    def member_states(self, campaigns: list, member) -> dict[int, dict]:
        """The member's latest seat in each campaign that is still in play (unpaid, in an open team, or won):
        my team and the seats it still lacks, or that it succeeded. One query."""
        seats = (
            TeamSeat.objects.filter(
                campaign__in=[c.pk for c in campaigns],
                member=member,
                state__in=(SeatState.PENDING, SeatState.SEATED, SeatState.WON),
            )
            .select_related("team")
            .order_by("-created_at", "-pk")
        )
        states: dict[int, dict] = {}
        for seat in seats:
            if seat.campaign_id not in states:
                states[seat.campaign_id] = {
                    "summary": seat_summary(seat),
                    "url": seat.team.get_absolute_url(),
                    "ends_at": seat.team.expires_at if seat.team.state == TeamState.OPEN else None,
                }
        return states

    def participations(self, member, *, limit: int) -> list[dict]:
        seats = (
            TeamSeat.objects.filter(member=member)
            .exclude(state=SeatState.CANCELLED)
            .select_related("team", "campaign")
            .order_by("-created_at", "-pk")[:limit]
        )
        return [
            {
                "id": seat.team_id,
                "campaign_id": seat.campaign_id,
                "title": seat.campaign.hook_title or seat.campaign.name,
                "state": seat.state,
                "state_label": seat.get_state_display(),
                "summary": seat_summary(seat),
                "live": seat.state in LIVE_SEAT_STATES and seat.team.state in (TeamState.PENDING, TeamState.OPEN),
                "ends_at": seat.team.expires_at if seat.team.state == TeamState.OPEN else None,
                "url": seat.team.get_absolute_url(),
            }
            for seat in seats
        ]

    def poster_offer(self, campaign, target) -> str:
        """拼团价 ¥x · n 人团 (the largest tier's size), and on a team's poster the seats it still lacks."""
        from campaigns.posters import with_original_price

        rules = Rules(campaign)
        size = rules.tiers[-1][0] if rules.tiers else rules.team_size
        words = _("拼团价 ¥%(price)s · %(n)d 人团") % {"price": rules.group_price, "n": size}
        if isinstance(target, Team):
            words += " · " + _("还差 %(n)d 人") % {"n": target.seats_left}
        return with_original_price(words, campaign.sku.price if campaign.sku_id else None)


# --- What the member reads: their seat in words, and the team's messages ---------------------------------


def seat_summary(seat: TeamSeat) -> str:
    """The member's seat in words: 我的团 · 还差 2 人, 待付款, 拼团成功…"""
    team = seat.team
    if seat.state == SeatState.PENDING:
        return _("我的团 · 待付款")
    if seat.state == SeatState.SEATED and team.state == TeamState.OPEN:
        return _("我的团 · 还差 %(n)d 人成团") % {"n": team.seats_left}
    if seat.state == SeatState.WON:
        return _("我的团 · 拼团成功")
    return _("我的团 · %(state)s") % {"state": seat.get_state_display()}


def _team_members(team: Team, state: str) -> list[int]:
    return list(TeamSeat.objects.filter(team=team, state=state).values_list("member_id", flat=True))


def tell_one_seat_short(team: Team) -> None:
    """The team lacks one seat: each of its paid members is told once per team, to share it once more."""
    from campaigns.messages import tell

    campaign = Campaign.objects.only("shop_id", "name").get(pk=team.campaign_id)
    for member_id in _team_members(team, SeatState.SEATED):
        tell(
            campaign=campaign,
            member=member_id,
            kind="team_one_short",
            key=f"team:{team.pk}:one-short:{member_id}",
            title=_("还差 1 人就成团了"),
            body=_("「%(name)s」你的团只差最后 1 人，再分享一次吧。") % {"name": campaign.name},
            url=team.get_absolute_url(),
        )


def tell_succeeded(team: Team) -> None:
    """The team succeeded: each member who won a seat is told once."""
    from campaigns.messages import tell

    campaign = Campaign.objects.only("shop_id", "name").get(pk=team.campaign_id)
    for member_id in _team_members(team, SeatState.WON):
        tell(
            campaign=campaign,
            member=member_id,
            kind="team_succeeded",
            key=f"team:{team.pk}:succeeded:{member_id}",
            title=_("拼团成功"),
            body=_("「%(name)s」拼团成功，我们会尽快为你安排发货。") % {"name": campaign.name},
            url=team.get_absolute_url(),
        )


def tell_failed_and_refunded(seat: TeamSeat) -> None:
    """The seat's team failed and its order's refund has started: the member is told once per seat."""
    from campaigns.messages import tell

    campaign = Campaign.objects.only("shop_id", "name").get(pk=seat.campaign_id)
    paid = Order.objects.filter(pk=seat.order_id).values_list("total", flat=True).first()
    tell(
        campaign=campaign,
        member=seat.member_id,
        kind="team_failed_refunded",
        key=f"team:{seat.team_id}:failed:{seat.pk}",
        title=_("拼团未成功，已为你退款"),
        body=_("「%(name)s」未在时限内成团，¥%(amount)s 已原路退回。") % {"name": campaign.name, "amount": paid},
        url=reverse("campaigns:team", args=[seat.campaign_id, seat.team_id]),
    )


def close_expired_team(team_id: int, *, now) -> int:
    """At expiry: a team that reached its first tier (tiered) succeeds at that tier; an unfilled one with
    模拟成团 succeeds as simulated; otherwise it fails. One conditional UPDATE closes it; 1 if this call did."""
    team = Team.objects.select_related("campaign").filter(pk=team_id).first()
    if team is None or team.state != TeamState.OPEN:
        return 0
    rules = Rules(team.campaign)
    kind = registry.get(CampaignType.GROUP_BUY)
    if team.seats_taken >= team.min_size or (rules.simulate_fill and team.seats_taken >= 1):
        simulated = team.seats_taken < team.min_size
        if (
            Team.objects.filter(pk=team.pk, state=TeamState.OPEN, expires_at__lte=now).update(
                state=TeamState.SUCCEEDED, closed_at=now, simulated=simulated
            )
            != 1
        ):
            return 0
        team.refresh_from_db()
        kind._succeed(team)
        return 1
    return _fail(team.pk, now=now, only_expired=True)


def _fail(team_id: int, *, now, only_expired: bool) -> int:
    qs = Team.objects.filter(pk=team_id, state=TeamState.OPEN)
    if only_expired:
        qs = qs.filter(expires_at__lte=now)
    if qs.update(state=TeamState.FAILED, closed_at=now) != 1:
        return 0
    TeamSeat.objects.filter(team_id=team_id, state=SeatState.SEATED).update(state=SeatState.LOST)
    transaction.on_commit(lambda: _cancel_unpaid_seats_later(team_id), robust=True)
    return 1


def refund_owed(*, limit: int = 500) -> int:
    """Pay what teams owe: the whole order of each seat of a failed team, the tier difference of each seat
    of a succeeded tiered team. Each seat in its own transaction, stamped when its refund is created, so
    a failing refund never rolls back another and a rerun never pays twice."""
    done = 0
    lost = list(
        TeamSeat.objects.filter(state=SeatState.LOST, refund_started_at__isnull=True).values_list("pk", flat=True)[
            :limit
        ]
    )
    for seat_id in lost:
        try:
            with transaction.atomic():
                seat = (
                    TeamSeat.objects.select_for_update(skip_locked=True)
                    .filter(pk=seat_id, refund_started_at__isnull=True)
                    .first()
                )
                if seat is None or not _stamp_refund(seat.pk):
                    continue
                _refund_whole(Order(pk=seat.order_id), reason=_("拼团失败，自动退款"))
                tell_failed_and_refunded(seat)
                done += 1
        except (ValidationError, TransitionRefused):
            logger.exception("refund of failed team seat %s did not start", seat_id)
    owed = list(
        TeamSeat.objects.filter(
            price_refund__gt=0, refund_started_at__isnull=True, state__in=(SeatState.WON,)
        ).values_list("pk", flat=True)[:limit]
    )
    for seat_id in owed:
        try:
            with transaction.atomic():
                seat = (
                    TeamSeat.objects.select_for_update(skip_locked=True)
                    .filter(pk=seat_id, refund_started_at__isnull=True)
                    .first()
                )
                if seat is None or not _stamp_refund(seat.pk):
                    continue
                order_services.refund_part(
                    order=Order(pk=seat.order_id),
                    amount=seat.price_refund,
                    key=f"team:{seat.team_id}:tier:{seat.pk}",
                    reason=_("阶梯拼团成团价差，自动退款"),
                )
                done += 1
        except (ValidationError, TransitionRefused):
            logger.exception("tier refund of seat %s did not start", seat_id)
    return done


def _cancel_unpaid_seats_later(team_id: int) -> None:
    """Queued after commit with robust=True: with the broker down the kick is lost, not the request; the
    unpaid orders then end with the payment timeout (cancel-overdue-orders)."""
    kicks.kick("campaigns.tasks.cancel_unpaid_team_orders", team_id)  # by name: the task calls this module


def cancel_unpaid_team_orders(team_id: int) -> int:
    """A closed team needs no more payments: its members' unpaid orders are cancelled (each on its own; a
    payment racing the cancel is refunded by orders or bounced by after_paid)."""
    cancelled = 0
    for order_id in TeamSeat.objects.filter(team_id=team_id, state=SeatState.PENDING).values_list(
        "order_id", flat=True
    ):
        try:
            order_services.cancel_order(order=Order(pk=order_id), by=None, reason=_("拼团已结束，未付款订单自动取消"))
            cancelled += 1
        except TransitionRefused:
            continue
    return cancelled


def cancel_unpaid_in_closed_teams(*, limit: int = 200) -> int:
    """The job's safety net for the after-commit cancel (a lost task): unpaid orders of closed teams."""
    closed = (TeamState.SUCCEEDED, TeamState.FAILED, TeamState.VOID)
    team_ids = set(
        TeamSeat.objects.filter(
            state=SeatState.PENDING, team__state__in=closed, order__state=OrderState.PENDING_PAYMENT
        ).values_list("team_id", flat=True)[:limit]
    )
    return sum(cancel_unpaid_team_orders(team_id) for team_id in team_ids)


# --- Figures -----------------------------------------------------------------------------------------


def group_buy_figures(campaign: Campaign) -> dict:
    teams = Team.objects.filter(campaign=campaign).aggregate(
        open=Count("pk", filter=Q(state=TeamState.OPEN)),
        succeeded=Count("pk", filter=Q(state=TeamState.SUCCEEDED)),
        simulated=Count("pk", filter=Q(state=TeamState.SUCCEEDED, simulated=True)),
        failed=Count("pk", filter=Q(state=TeamState.FAILED)),
    )
    seats = TeamSeat.objects.filter(campaign=campaign, paid_at__isnull=False)
    participants = seats.exclude(state=SeatState.BOUNCED).values("member").distinct().count()
    new_members = CampaignAct.objects.filter(campaign=campaign, new_member=True).values("actor").distinct().count()
    flagged = CampaignAct.objects.filter(campaign=campaign, flagged=True).count()
    orders = Order.objects.filter(campaign_order__campaign=campaign)
    money = orders.filter(paid_at__isnull=False).aggregate(
        gmv=Sum("total"), refunded=Sum("refunded_amount"), n=Count("pk")
    )
    refunds = Refund.objects.filter(order__campaign_order__campaign=campaign).exclude(key__startswith="late-payment:")
    refund_figures = refunds.aggregate(
        n=Count("pk"),
        pending=Sum("amount", filter=Q(state=RefundState.PENDING)),
        done=Sum("amount", filter=Q(state=RefundState.SUCCEEDED)),
    )
    return {
        "teams_open": teams["open"],
        "teams_succeeded": teams["succeeded"],
        "teams_simulated": teams["simulated"],
        "teams_failed": teams["failed"],
        "participants": participants,
        "new_members": new_members,
        "flagged_acts": flagged,
        "paid_orders": money["n"] or 0,
        "gmv": money["gmv"] or ZERO,
        "refunds": refund_figures["n"] or 0,
        "refunded_amount": refund_figures["done"] or ZERO,
        "refunding_amount": refund_figures["pending"] or ZERO,
        # Sold means paid: an order still awaiting payment holds stock but has not sold it.
        "units_sold": CampaignOrder.objects.filter(
            campaign=campaign, released_at__isnull=True, order__paid_at__isnull=False
        ).aggregate(n=Sum("units"))["n"]
        or 0,
    }


FIGURE_LABELS = {
    "teams_open": gettext_lazy("拼团中"),
    "teams_succeeded": gettext_lazy("已成团"),
    "teams_simulated": gettext_lazy("其中模拟成团"),
    "teams_failed": gettext_lazy("未成团"),
    "participants": gettext_lazy("参与人数"),
    "new_members": gettext_lazy("带来新成员"),
    "flagged_acts": gettext_lazy("可疑参与"),
    "paid_orders": gettext_lazy("付款订单"),
    "gmv": gettext_lazy("成交额（元）"),
    "refunds": gettext_lazy("退款笔数"),
    "refunded_amount": gettext_lazy("已退款（元）"),
    "refunding_amount": gettext_lazy("退款中（元）"),
    "units_sold": gettext_lazy("活动售出件数"),
}

registry.register(GroupBuy())

__all__ = ["GroupBuy", "LIVE_SEAT_STATES", "Rules", "close_expired_team", "join_team", "open_team", "refund_owed"]
