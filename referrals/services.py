"""Writes for referral tracking: binding invitees to inviters, recording acts, qualifying, rewarding,
commission money and withdrawals.

Guarantees, each decided by the database:
- an act counts once: every event is inserted first under its unique `key`; a duplicate insert is a no-op;
- one current inviter per (shop, invitee) (partial unique index); binding and moving lock the invitee and,
  shared, the inviter's chain (transaction-scoped advisory locks, `_lock_binding`), so no two racing
  joins bind one person twice or close a loop A→B→…→A, while joins under different people never wait;
- nobody refers themself (CHECK constraints on edges, events and rewards, and checks here first);
- a reward once per (shop, invitee, kind) (partial unique index), never above an inviter's cap (one
  conditional UPDATE on the period's quota row), granted once (a conditional UPDATE on its status);
- a commission balance never goes negative (CHECK), and every movement is one ledger entry per key;
  points likewise (referrals.points: a granted POINTS reward credits its points once);
- the shop's staff (owner, operators, viewers) are never credited: no edge binds an invitee to them and
  no event counts for them, so they never rank on member boards nor earn rewards (`is_shop_staff`).
"""

import functools
import uuid
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal

from django.core.exceptions import ValidationError
from django.db import DEFAULT_DB_ALIAS, IntegrityError, connection, connections, transaction
from django.db.models import Exists, F, OuterRef, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User
from groups.models import Membership
from orders.lifecycle import PAID_STATES
from orders.models import OrderState
from orders.services import set_referrer_if_unset
from shequn import hooks, locks
from shequn.prepared import PreparedStatement
from shops import audit
from shops.models import Shop
from shops.staff import is_shop_staff, shop_staff

from . import points
from .fraud.recording import record_self_referral_attempt
from .fraud_models import FlagStatus, FraudFlag
from .models import (
    ZERO,
    BindingRule,
    CampaignReferralRule,
    CapPeriod,
    CommissionAccount,
    CommissionEntry,
    EntryKind,
    EventKind,
    QualifyOn,
    ReferralEdge,
    ReferralEvent,
    ReferralSettings,
    Reward,
    RewardKind,
    RewardQuota,
    RewardRule,
    RewardStatus,
    WithdrawalRequest,
    WithdrawalStatus,
)

CENT = Decimal("0.01")
MAX_MONEY = Decimal("10000000000")  # the money columns hold 12 digits, two after the point
REFUND_VOID_REASON = "订单已退款"  # stored, not shown translated: a record of why, like OrderTransition.reason


# --- Settings ------------------------------------------------------------------------------------


def referral_settings(shop_id: int) -> ReferralSettings:
    """The shop's referral rules, made with the defaults on first use."""
    found = ReferralSettings.objects.filter(shop_id=shop_id).first()
    if found is not None:
        return found
    try:
        with transaction.atomic():
            return ReferralSettings.objects.create(shop_id=shop_id)
    except IntegrityError:  # made by a concurrent request a moment ago
        return ReferralSettings.objects.get(shop_id=shop_id)


SETTINGS_FIELDS = (
    "binding_rule",
    "binding_window_days",
    "qualify_on",
    "qualifying_min_amount",
    "review_days",
    "points_per_yuan",
)


@transaction.atomic
def update_referral_settings(*, shop: Shop, by: User, **fields) -> ReferralSettings:
    """Change the shop's referral rules (validated by the model's field validators)."""
    current = referral_settings(shop.pk)
    before = audit.snapshot(current, SETTINGS_FIELDS)
    for name in SETTINGS_FIELDS:
        if name in fields:
            setattr(current, name, fields[name])
    current.full_clean()
    current.save()
    audit.record(
        shop=shop,
        by=by,
        action="referrals.settings.update",
        target=current,
        before=before,
        after=audit.snapshot(current, SETTINGS_FIELDS),
        label=shop.name,
    )
    return current


@transaction.atomic
def set_campaign_binding_rule(
    *, shop: Shop, by: User, campaign_id: int, binding_rule: str, binding_window_days: int = 7
) -> CampaignReferralRule:
    """A campaign's binding rule, overriding the shop's for the joins it brings."""
    rule = CampaignReferralRule.objects.filter(shop=shop, campaign_id=campaign_id).first() or CampaignReferralRule(
        shop=shop, campaign_id=campaign_id
    )
    fields = ("binding_rule", "binding_window_days")
    before = audit.snapshot(rule, fields) if rule.pk else {}
    rule.binding_rule, rule.binding_window_days = binding_rule, binding_window_days
    rule.full_clean(validate_constraints=False)
    rule.save()
    audit.record(
        shop=shop,
        by=by,
        action="referrals.binding_rule.set",
        target=rule,
        before=before,
        after=audit.snapshot(rule, fields) | {"campaign": campaign_id},
    )
    return rule


def binding_rule_for(shop_id: int, campaign_id: int | None) -> tuple[str, int]:
    """(rule, window days) for a join: the campaign's override when it has one, else the shop's."""
    if campaign_id is not None:
        override = CampaignReferralRule.objects.filter(shop_id=shop_id, campaign_id=campaign_id).first()
        if override is not None:
            return override.binding_rule, override.binding_window_days
    rules = referral_settings(shop_id)
    return rules.binding_rule, rules.binding_window_days


# --- Events ------------------------------------------------------------------------------------------


def _is_unique_violation(exc: IntegrityError) -> bool:
    cause = exc.__cause__
    state = getattr(cause, "sqlstate", None) or getattr(getattr(cause, "diag", None), "sqlstate", None)
    return state == "23505" if state else "unique" in str(exc).lower()


def _insert_event(**fields) -> ReferralEvent | None:
    """Insert-first: the new event, or None when its key (or a one-per-invitee rule) already holds one.

    Announces `referral_event_recorded` (shequn.hooks) for a new event only. A CHECK violation (self-referral) raises.
    An event that would credit the shop's staff is not recorded (None): staff are never credited.

    One statement (the hot path of every act): INSERT … SELECT … WHERE the inviter is not the shop's staff
    ON CONFLICT DO NOTHING — no savepoint, no separate staff query. An event that breaks a CHECK goes
    through a savepoint instead, so its error leaves the caller's transaction usable, as before.
    """
    event = ReferralEvent(**fields)
    breaks_a_check = (
        (event.invitee_id is not None and event.invitee_id == event.inviter_id)
        or event.amount < 0
        or (event.kind not in (EventKind.LINK_OPENED, EventKind.CHECK_IN) and event.invitee_id is None)
    )
    if breaks_a_check:
        if is_shop_staff(event.shop_id, event.inviter_id):
            return None
        with transaction.atomic():  # savepoint: the CHECK's error must not break the caller's transaction
            event.save(force_insert=True)
        return event  # not reached: the database refuses the row
    pk = _insert_unless_staff(event)
    if pk is None:
        return None
    event.pk = pk
    event._state.adding, event._state.db = False, connection.alias
    hooks.referral_event_recorded.run(event)
    return event


def _insert_unless_staff(event: ReferralEvent) -> int | None:
    """Insert the event unless its inviter is the shop's staff or a unique rule already holds it: its id, or None."""
    statement, columns, staff_params = _event_insert()
    # Plain attribute values, not get_db_prep_save's: the statement gives each parameter its column's type,
    # which is what that adaptation is for, at a third of the Python time on the hot path of every act.
    values = [f.pre_save(event, add=True) for f in columns]
    who = {"shop": event.shop_id, "user": event.inviter_id}
    # The proxy `connection` costs a thread-local lookup per use: the wrapper once here.
    with connections[DEFAULT_DB_ALIAS].cursor() as cursor:
        statement.execute(cursor, [*values, *(who[p] for p in staff_params)])
        row = cursor.fetchone()
    return row[0] if row else None


@functools.cache
def _event_insert() -> tuple[PreparedStatement, list, list[str]]:
    """The event INSERT of _insert_unless_staff with the staff check, written once per process and prepared
    once per connection: its NOT EXISTS costs PostgreSQL more to plan than the whole INSERT takes to run."""
    meta = ReferralEvent._meta
    columns = [f for f in meta.concrete_fields if not f.primary_key]
    shop_mark, user_mark = -7_000_001, -7_000_002  # stand-ins, to tell the staff query's parameters apart
    staff_sql, params = shop_staff(shop_mark, user_mark).values("pk").query.sql_with_params()
    staff_params = ["shop" if p == shop_mark else "user" for p in params]
    sql = (
        f"INSERT INTO {meta.db_table} ({', '.join(connection.ops.quote_name(f.column) for f in columns)}) "
        f"SELECT {', '.join(['%s'] * len(columns))} "
        f"WHERE NOT EXISTS ({staff_sql}) ON CONFLICT DO NOTHING RETURNING id"
    )
    staff_types = {"shop": meta.get_field("shop"), "user": meta.get_field("inviter")}
    types = [f.cast_db_type(connection) for f in columns] + [
        staff_types[p].cast_db_type(connection) for p in staff_params
    ]
    return PreparedStatement("shequn_referral_event_insert", sql, types), columns, staff_params


def record_link_opened(
    *,
    link,
    user: User | None = None,
    visitor_key: str = "",
    ip: str | None = None,
    device: str = "",
    occurred_at: datetime | None = None,
) -> ReferralEvent | None:
    """A link was opened (no sign-in needed). Once per `visitor_key` per link and day when one is given
    (a session or device id); an opener who is the link's own inviter is not an invite and is not recorded.
    """
    if user is not None and user.is_authenticated and user.pk == link.inviter_id:
        return None
    occurred_at = occurred_at or timezone.now()
    who = visitor_key or (f"u{user.pk}" if user is not None and user.is_authenticated else uuid.uuid4().hex)
    day = timezone.localdate(occurred_at).strftime("%Y%m%d")
    invitee = user if user is not None and user.is_authenticated else None
    key = f"open:{link.pk}:{who[:64]}:{day}"
    return _insert_link_event(
        link, kind=EventKind.LINK_OPENED, key=key, invitee=invitee, ip=ip, device=device, occurred_at=occurred_at
    )


def record_link_signed_in(
    *, link, user: User, ip: str | None = None, device: str = "", occurred_at: datetime | None = None
) -> ReferralEvent | None:
    """Someone who opened the link signed out came back signed in: once per link, person and day (the funnel's
    "signed in" step, next to the opens made signed in); the link's own inviter is not recorded."""
    if user.pk == link.inviter_id:
        return None
    occurred_at = occurred_at or timezone.now()
    day = timezone.localdate(occurred_at).strftime("%Y%m%d")
    key = f"signin:{link.pk}:u{user.pk}:{day}"
    return _insert_link_event(
        link, kind=EventKind.LINK_SIGNED_IN, key=key, invitee=user, ip=ip, device=device, occurred_at=occurred_at
    )


def _insert_link_event(link, *, kind: str, key: str, invitee, ip, device: str, occurred_at: datetime):
    """An event about an invite link: its inviter, group, channel and series come from the link."""
    return _insert_event(
        shop_id=link.shop_id,
        kind=kind,
        key=key,
        inviter_id=link.inviter_id,
        invitee=invitee,
        link=link,
        group_id=link.group_id,
        channel=link.channel,
        ip_address=ip,
        series_id=link.series_id or (link.group.series_id if link.group_id else None),
        device_id=device[:64],
        occurred_at=occurred_at,
    )


def record_campaign_act(
    *,
    shop_id: int,
    campaign_id: int,
    inviter: User,
    invitee: User,
    key: str,
    amount: Decimal = ZERO,
    group=None,
    occurred_at: datetime | None = None,
    ip: str | None = None,
    device: str = "",
) -> ReferralEvent | None:
    """A campaign act (a help, a cut, a team join…) credited to `inviter`, once per campaign and `key`.

    Returns None for a duplicate, a self-act (nobody helps themself) or a staff inviter. One statement,
    atomic by itself: inside the caller's transaction the boards follow on its commit; called with no
    transaction open it needs no BEGIN/COMMIT of its own, and the boards follow once it has committed.
    """
    if inviter.pk == invitee.pk:
        return None
    return _insert_event(
        shop_id=shop_id,
        kind=EventKind.CAMPAIGN_ACT,
        key=f"campaign:{campaign_id}:{key}"[:120],
        inviter=inviter,
        invitee=invitee,
        group=group,
        series_id=getattr(group, "series_id", None),
        campaign_id=campaign_id,
        amount=amount,
        ip_address=ip,
        device_id=device[:64],
        occurred_at=occurred_at or timezone.now(),
    )


def record_check_in(
    *, shop_id: int, campaign_id: int, member: User, day: date, group=None, occurred_at: datetime | None = None
) -> ReferralEvent | None:
    """A member's check-in day of a campaign, credited to the member (the check-in boards count these), once
    per campaign, member and day. Returns None for a duplicate (or the shop's staff, who never rank)."""
    return _insert_event(
        shop_id=shop_id,
        kind=EventKind.CHECK_IN,
        key=f"checkin:{campaign_id}:{member.pk}:{day:%Y%m%d}",
        inviter=member,
        invitee=None,
        group=group,
        series_id=getattr(group, "series_id", None),
        campaign_id=campaign_id,
        occurred_at=occurred_at or timezone.now(),
    )


# --- Binding -----------------------------------------------------------------------------------------


def _chain_above(*, shop_id: int, inviter_id: int) -> list[int]:
    """`inviter` and everyone up their chain of current inviters in the shop, nearest first."""
    table = ReferralEdge._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            WITH RECURSIVE chain(user_id, depth) AS (
                SELECT %s::bigint, 0
                UNION
                SELECT e.inviter_id, chain.depth + 1 FROM {table} e JOIN chain ON e.invitee_id = chain.user_id
                 WHERE e.shop_id = %s AND e.superseded_at IS NULL AND chain.depth < 10000
            )
            SELECT user_id FROM chain ORDER BY depth
            """,
            [inviter_id, shop_id],
        )
        return list(dict.fromkeys(row[0] for row in cursor.fetchall()))


def would_loop(*, shop_id: int, inviter_id: int, invitee_id: int) -> bool:
    """True if `invitee` is `inviter` or anywhere up `inviter`'s chain of current inviters in the shop."""
    return invitee_id in _chain_above(shop_id=shop_id, inviter_id=inviter_id)


def _member_lock(shop_id: int, member_id: int) -> tuple[locks.Namespace, int]:
    return locks.Namespace.REFERRAL_MEMBER, locks.pair_key(shop_id, member_id)


def _lock_binding(*, shop_id: int, invitee_id: int, inviter_id: int) -> list[int]:
    """Lock what binding `invitee` to `inviter` depends on, until commit; the inviter's chain read under
    those locks (`_chain_above`), on which the loop check is then decided.

    The invitee exclusively (two binds of one person are one after the other), every member up the
    inviter's chain shared (nobody on it is re-bound meanwhile, while binds under the same inviter run
    side by side). Two racing binds can only close a loop if each one's invitee is on the other's chain
    (A→B→…→X1 gets X1→…→A and the other way round), so one of them waits for the other and then sees its
    edge. The chain is read again once locked: a member who joined it meanwhile is locked too, until it
    holds still. (The shop's old lock is taken shared, so a deploy's old code excludes the new.)
    """
    chain = _chain_above(shop_id=shop_id, inviter_id=inviter_id)
    locks.lock_many(
        exclusive=[_member_lock(shop_id, invitee_id)],
        shared=[(locks.Namespace.REFERRAL_BINDING, shop_id), *(_member_lock(shop_id, m) for m in chain)],
    )
    locked = set(chain)
    while True:
        chain = _chain_above(shop_id=shop_id, inviter_id=inviter_id)
        newcomers = set(chain) - locked
        if not newcomers:
            return chain
        locks.lock_many(shared=[_member_lock(shop_id, m) for m in newcomers])
        locked |= newcomers


def record_join(
    *,
    shop_id: int,
    invitee: User,
    inviter: User | None,
    link=None,
    group=None,
    channel: str,
    new_to_shop: bool,
    campaign_id: int | None = None,
    ip: str | None = None,
    device: str = "",
    paid_order=None,
) -> ReferralEdge | None:
    """Bind `invitee` to `inviter` in the shop by the binding rule (the campaign's, else the shop's).

    A person is bound only by their first join in the shop (`new_to_shop`; re-joins and later groups
    never bind an existing customer), then:
    - first_bind (default): that first inviter wins; later links change nothing;
    - sign_up_only: bound only when the join is the person's sign-up, their first join on the platform
      (a customer of another shop is not bound);
    - latest_in_window: a later inviter's link takes the invitee over while the current binding is
      younger than the window and not yet qualified; the old edge stays on record (superseded) with
      what it earned.
    A bind that would close a loop up the chain, or a self-invite, is refused (None). A new binding
    records the `joined` event (once per shop and invitee). Returns the edge made, or None. The shop's
    staff are never bound as inviters (`is_shop_staff`): the join belongs to its channel.

    `paid_order`: the invitee's paid order whose act is this join (a paid 拼团 seat), bound inside its
    payment's transaction after the order_paid hook's referral receiver found no edge. A new binding counts
    that order as the invitee's paid order here (`record_order_paid`: their first order, the qualification
    and rewards it brings; once per order, so a later replay adds nothing), and names the inviter as that
    order's referrer, which its placing left empty (a referrer already there is kept).
    """
    if inviter is None or is_shop_staff(shop_id, inviter.pk):
        return None
    if inviter.pk == invitee.pk:
        # the fraud review counts refused self-invites
        record_self_referral_attempt(shop_id=shop_id, user=invitee, action="join", link=link, ip=ip, device=device)
        return None
    group_series_id = getattr(group, "series_id", None)
    with transaction.atomic():
        chain = _lock_binding(shop_id=shop_id, invitee_id=invitee.pk, inviter_id=inviter.pk)
        current = (
            ReferralEdge.objects.select_for_update()
            .filter(shop_id=shop_id, invitee=invitee, superseded_at__isnull=True)
            .first()
        )
        rule, window_days = binding_rule_for(shop_id, campaign_id)
        now = timezone.now()
        if current is not None:
            if (
                rule != BindingRule.LATEST_WITHIN_WINDOW
                or current.inviter_id == inviter.pk
                or current.qualified_at is not None
                or current.created_at < now - timedelta(days=window_days)
            ):
                return None
        elif not new_to_shop or (rule == BindingRule.SIGN_UP_ONLY and not _new_to_platform(invitee, shop_id)):
            return None
        if invitee.pk in chain:  # binding would close a loop
            return None
        if current is not None:
            ReferralEdge.objects.filter(pk=current.pk).update(superseded_at=now)
        edge = ReferralEdge.objects.create(
            shop_id=shop_id,
            invitee=invitee,
            inviter=inviter,
            link=link,
            group=group,
            channel=channel,
            campaign_id=campaign_id,
            binding_rule=rule,
            created_at=now,
        )
        if current is not None:
            ReferralEdge.objects.filter(pk=current.pk).update(superseded_by=edge)
            return edge
        joined = _insert_event(
            shop_id=shop_id,
            kind=EventKind.JOINED,
            key=f"joined:{shop_id}:{invitee.pk}",
            inviter=inviter,
            invitee=invitee,
            edge=edge,
            link=link,
            group=group,
            series_id=group_series_id,
            campaign_id=campaign_id,
            channel=channel,
            ip_address=ip,
            device_id=device[:64],
            occurred_at=now,
        )
        if joined is not None and referral_settings(shop_id).qualify_on == QualifyOn.JOINED:
            _qualify(edge=edge, order=None, now=now)
        if paid_order is not None and (paid_order.shop_id, paid_order.member_id) == (shop_id, invitee.pk):
            set_referrer_if_unset(order=paid_order, referrer=inviter)
            if paid_order.state in PAID_STATES:
                record_order_paid(paid_order)
        return edge


def _new_to_platform(invitee: User, shop_id: int) -> bool:
    return (
        not Membership.objects.filter(user=invitee, first_joined_at__isnull=False)
        .exclude(group__shop_id=shop_id)
        .exists()
    )


def record_join_edge(
    *, shop_id: int, invitee: User, inviter: User | None, link=None, group=None, channel: str
) -> ReferralEdge | None:
    """A newcomer's join (kept for callers that only know newcomers): `record_join` with new_to_shop."""
    return record_join(
        shop_id=shop_id, invitee=invitee, inviter=inviter, link=link, group=group, channel=channel, new_to_shop=True
    )


# --- Orders: events, qualification, reversal -----------------------------------------------------


def record_order_paid(order) -> ReferralEvent | None:
    """A paid order of an invitee: one first_order or repeat_order event credited to the current inviter
    (once per order), and the referral qualifies on it when the shop counts paid orders.

    Runs inside the payment's transaction (the order_paid hook). The current edge's row lock
    serialises every order of one invitee, so exactly one order is the first.
    """
    edge = (
        ReferralEdge.objects.select_for_update()
        .filter(shop_id=order.shop_id, invitee_id=order.member_id, superseded_at__isnull=True)
        .first()
    )
    if edge is None:
        return None
    now = timezone.now()
    first = not ReferralEvent.objects.filter(
        shop_id=order.shop_id, invitee_id=order.member_id, kind=EventKind.FIRST_ORDER
    ).exists()
    fields = dict(
        shop_id=order.shop_id,
        key=f"order:{order.pk}",
        inviter_id=edge.inviter_id,
        invitee_id=order.member_id,
        edge=edge,
        group_id=order.group_id,
        series_id=order.group.series_id,
        campaign_id=edge.campaign_id,
        channel=edge.channel,
        order=order,
        amount=order.total,
        occurred_at=order.paid_at or now,
    )
    event = _insert_event(kind=EventKind.FIRST_ORDER if first else EventKind.REPEAT_ORDER, **fields)
    if event is None and first:  # another order was the first after all: this one is a repeat (or a duplicate)
        event = _insert_event(kind=EventKind.REPEAT_ORDER, **fields)
    if event is None:
        return None
    rules = referral_settings(order.shop_id)
    if (
        rules.qualify_on == QualifyOn.PAID_ORDER
        and edge.qualified_at is None
        and order.total >= rules.qualifying_min_amount
    ):
        _qualify(edge=edge, order=order, now=now)
    return event


def _join_voided(edge: ReferralEdge) -> bool:
    """An invitee whose join was voided (fraud review) never qualifies for that inviter."""
    return ReferralEvent.objects.filter(
        shop_id=edge.shop_id,
        invitee_id=edge.invitee_id,
        inviter_id=edge.inviter_id,
        kind=EventKind.JOINED,
        voided_at__isnull=False,
    ).exists()


def _qualify(*, edge: ReferralEdge, order, now: datetime) -> ReferralEvent | None:
    """Mark the (locked) edge qualified, record the `qualified` event and create the pending rewards."""
    if _join_voided(edge):
        return None
    event = _insert_event(
        shop_id=edge.shop_id,
        kind=EventKind.QUALIFIED,
        key=f"qualified:{edge.pk}:{order.pk if order else 'join'}",
        inviter_id=edge.inviter_id,
        invitee_id=edge.invitee_id,
        edge=edge,
        link_id=edge.link_id,
        group_id=order.group_id if order else edge.group_id,
        campaign_id=edge.campaign_id,
        channel=edge.channel,
        order=order,
        amount=order.total if order else ZERO,
        occurred_at=now,
    )
    if event is None:  # this invitee already counts as someone's qualified referral
        return None
    ReferralEdge.objects.filter(pk=edge.pk).update(qualified_at=now, qualifying_order=order)
    edge.qualified_at, edge.qualifying_order = now, order
    _create_rewards(edge=edge, event=event, order=order, now=now)
    return event


def period_start(period: str, moment: datetime) -> date:
    """First day (shop time) of the cap period containing `moment`."""
    day = timezone.localdate(moment)
    if period == CapPeriod.DAY:
        return day
    if period == CapPeriod.WEEK:
        return day - timedelta(days=day.weekday())
    return day.replace(day=1)


def reward_amount(rule: RewardRule, order) -> Decimal:
    amount = rule.amount
    if rule.kind == RewardKind.COMMISSION and rule.commission_rate and order is not None:
        amount += (order.total * rule.commission_rate).quantize(CENT, rounding=ROUND_HALF_UP)
    return amount


def _create_rewards(*, edge: ReferralEdge, event: ReferralEvent, order, now: datetime) -> list[Reward]:
    """One pending reward per active rule, due after the review period; once per (invitee, kind)."""
    review_days = referral_settings(edge.shop_id).review_days
    made = []
    for rule in RewardRule.objects.filter(shop_id=edge.shop_id, is_active=True).order_by("pk"):
        start = period_start(rule.cap_period, now)
        try:
            with transaction.atomic():
                reward = Reward.objects.create(
                    shop_id=edge.shop_id,
                    rule=rule,
                    kind=rule.kind,
                    inviter_id=edge.inviter_id,
                    invitee_id=edge.invitee_id,
                    edge=edge,
                    event=event,
                    order=order,
                    amount=reward_amount(rule, order),
                    label=rule.label,
                    period_start=start,
                    created_at=now,
                    due_at=now + timedelta(days=review_days),
                )
        except IntegrityError as exc:
            if _is_unique_violation(exc):
                continue  # this invitee already brought this kind of reward to someone
            raise
        if rule.cap_count is not None and not _take_quota(rule, edge.inviter_id, start):
            Reward.objects.filter(pk=reward.pk).update(
                status=RewardStatus.CAPPED,
                closed_at=now,
                reason=_("超出每人%(period)s上限 %(cap)d 个")
                % {"period": rule.get_cap_period_display(), "cap": rule.cap_count},
            )
            reward.status = RewardStatus.CAPPED
        made.append(reward)
    return made


def _take_quota(rule: RewardRule, member_id: int, start: date) -> bool:
    """One unit of the inviter's cap for the period: a conditional UPDATE whose row count decides."""
    try:
        with transaction.atomic():
            RewardQuota.objects.get_or_create(rule=rule, member_id=member_id, period_start=start)
    except IntegrityError:
        pass  # a concurrent first reward of the period made the row
    return (
        RewardQuota.objects.filter(rule=rule, member_id=member_id, period_start=start, used__lt=rule.cap_count).update(
            used=F("used") + 1
        )
        == 1
    )


def _release_quota(reward: Reward) -> None:
    if reward.rule.cap_count is not None:
        RewardQuota.objects.filter(
            rule_id=reward.rule_id, member_id=reward.inviter_id, period_start=reward.period_start, used__gt=0
        ).update(used=F("used") - 1)


def _close_pending_rewards(rewards, *, status: str, reason: str, now: datetime) -> int:
    """pending → reversed/withheld, each by a conditional UPDATE; frees the cap unit it held."""
    closed = 0
    for reward in rewards.select_related("rule"):
        if (
            Reward.objects.filter(pk=reward.pk, status=RewardStatus.PENDING).update(
                status=status, closed_at=now, reason=reason[:200]
            )
            == 1
        ):
            _release_quota(reward)
            closed += 1
    return closed


def record_order_refunded(order) -> None:
    """A fully refunded order no longer counts: its events are voided, a qualification it gave is
    withdrawn (or moves to another paid order of the invitee), and its pending rewards are reversed.
    Rewards already granted (review period over) stay granted.
    """
    now = timezone.now()
    events = ReferralEvent.objects.filter(order=order, voided_at__isnull=True)
    _void(events, by=None, reason=REFUND_VOID_REASON, reward_status=RewardStatus.REVERSED, now=now)
    _close_pending_rewards(
        Reward.objects.filter(order=order, status=RewardStatus.PENDING),
        status=RewardStatus.REVERSED,
        reason=REFUND_VOID_REASON,
        now=now,
    )
    for edge in ReferralEdge.objects.select_for_update().filter(qualifying_order=order):
        ReferralEdge.objects.filter(pk=edge.pk).update(qualified_at=None, qualifying_order=None)
        edge.qualified_at = edge.qualifying_order = None
        if edge.superseded_at is not None:
            continue
        minimum = referral_settings(edge.shop_id).qualifying_min_amount
        other = (
            order.__class__.objects.filter(
                shop_id=edge.shop_id,
                member_id=edge.invitee_id,
                state__in=PAID_STATES,
                total__gte=minimum,
                referral_events__edge=edge,
                referral_events__voided_at__isnull=True,
            )
            .exclude(pk=order.pk)
            .order_by("paid_at", "pk")
            .first()
        )
        if other is not None:
            _qualify(edge=edge, order=other, now=now)


# --- Voiding (fraud review) --------------------------------------------------------------------------


def void_events(events, by: User | None = None, reason: str = "") -> list[ReferralEvent]:
    """Void events (confirmed fraud): they leave every board for good, and any reward not yet granted
    that they earned is withheld. Returns the events this call voided (already-voided ones are skipped,
    so a repeated call changes nothing). Granted rewards stay granted.
    """
    with transaction.atomic():
        ids = list(events.values_list("pk", flat=True)) if hasattr(events, "values_list") else [e.pk for e in events]
        return _void(
            ReferralEvent.objects.filter(pk__in=ids),
            by=by,
            reason=reason or _("风控作废"),
            reward_status=RewardStatus.WITHHELD,
            now=timezone.now(),
        )


def _void(events, *, by: User | None, reason: str, reward_status: str, now: datetime) -> list[ReferralEvent]:
    voided = list(events.filter(voided_at__isnull=True).select_for_update().order_by("pk"))
    if not voided:
        return []
    ids = [e.pk for e in voided]
    ReferralEvent.objects.filter(pk__in=ids, voided_at__isnull=True).update(
        voided_at=now, voided_by=by, void_reason=reason[:200]
    )
    for event in voided:
        event.voided_at, event.voided_by, event.void_reason = now, by, reason[:200]
    # Rewards tied to these events, and to a voided join or qualification of the same inviter → invitee.
    pairs = Q(pk__in=[])
    for event in voided:
        if event.kind in (EventKind.JOINED, EventKind.QUALIFIED) and event.invitee_id:
            pairs |= Q(shop_id=event.shop_id, inviter_id=event.inviter_id, invitee_id=event.invitee_id)
    rewards = Reward.objects.filter(Q(event_id__in=ids) | pairs, status=RewardStatus.PENDING)
    _close_pending_rewards(rewards, status=reward_status, reason=reason, now=now)
    hooks.referral_events_voided.run(voided)
    return voided


# --- Granting rewards and commission -------------------------------------------------------------


def due_rewards(now: datetime | None = None):
    """Pending rewards whose review period is over, whose qualifying order is not in a refund, and that
    no open fraud flag holds (a flag on the reward's event, or on its inviter or invitee in the shop):
    they wait for the review's decision."""
    now = now or timezone.now()
    open_flags = FraudFlag.objects.filter(shop_id=OuterRef("shop_id"), status=FlagStatus.OPEN)
    return (
        Reward.objects.filter(status=RewardStatus.PENDING, due_at__lte=now)
        .exclude(order__state__in=[OrderState.REFUND_REQUESTED, OrderState.REFUNDED, OrderState.CANCELLED])
        .exclude(Exists(open_flags.filter(events=OuterRef("event_id"))))
        .exclude(Exists(open_flags.filter(Q(member_id=OuterRef("inviter_id")) | Q(member_id=OuterRef("invitee_id")))))
    )


def grant_due_rewards(*, now: datetime | None = None, limit: int = 500) -> int:
    """Grant what is due: each reward in its own transaction, pending → granted exactly once (a
    conditional UPDATE); commission is credited to the inviter's account once (ledger key). Safe to run
    any number of times, concurrently too.
    """
    now = now or timezone.now()
    granted = 0
    for reward_id in list(due_rewards(now).order_by("due_at", "pk").values_list("pk", flat=True)[:limit]):
        with transaction.atomic():
            if (
                Reward.objects.filter(pk=reward_id, status=RewardStatus.PENDING).update(
                    status=RewardStatus.GRANTED, granted_at=now
                )
                != 1
            ):
                continue
            reward = Reward.objects.select_related("inviter", "invitee").get(pk=reward_id)
            if reward.kind == RewardKind.COMMISSION and reward.amount > 0:
                _post_entry(
                    shop_id=reward.shop_id,
                    member_id=reward.inviter_id,
                    amount=reward.amount,
                    kind=EntryKind.REWARD,
                    key=f"reward:{reward.pk}",
                    reward=reward,
                    now=now,
                )
            elif reward.kind == RewardKind.POINTS:
                points.credit_reward(reward)
            hooks.referral_reward_granted.run(reward)  # a coupon reward: the coupon type gives the coupons
            granted += 1
    return granted


def _account(shop_id: int, member_id: int) -> CommissionAccount:
    try:
        with transaction.atomic():
            account, _created = CommissionAccount.objects.get_or_create(shop_id=shop_id, member_id=member_id)
            return account
    except IntegrityError:
        return CommissionAccount.objects.get(shop_id=shop_id, member_id=member_id)


def _post_entry(
    *,
    shop_id: int,
    member_id: int,
    amount: Decimal,
    kind: str,
    key: str,
    now: datetime,
    reward: Reward | None = None,
    withdrawal: WithdrawalRequest | None = None,
    campaign_id: int | None = None,
) -> CommissionEntry | None:
    """Move money in (amount > 0) or out (< 0) of the balance, once per key; an overdraft raises.

    The entry's key is inserted first (a duplicate changes nothing), then one conditional UPDATE moves
    the balance; the CHECK balance >= 0 stands behind it.
    """
    account = _account(shop_id, member_id)
    try:
        with transaction.atomic():
            entry = CommissionEntry.objects.create(
                account=account,
                kind=kind,
                amount=amount,
                balance_after=ZERO,
                key=key,
                reward=reward,
                withdrawal=withdrawal,
                created_at=now,
                campaign_id=campaign_id,
            )
    except IntegrityError as exc:
        if _is_unique_violation(exc):
            return None
        raise
    moved = CommissionAccount.objects.filter(pk=account.pk, balance__gte=-amount if amount < 0 else ZERO).update(
        balance=F("balance") + amount
    )
    if moved != 1:
        raise ValidationError({"amount": _("可提现余额不足。")})
    entry.balance_after = CommissionAccount.objects.values_list("balance", flat=True).get(pk=account.pk)
    CommissionEntry.objects.filter(pk=entry.pk).update(balance_after=entry.balance_after)
    return entry


def credit_commission(
    *,
    shop_id: int,
    member_id: int,
    amount: Decimal,
    key: str,
    campaign_id: int | None = None,
    now: datetime | None = None,
):
    """Commission money a campaign's rule gives a member (a contest's cash prize), into the member's commission
    balance once per key (a repeat returns None), in the caller's transaction. The entry keeps the campaign:
    campaign ROI counts the cash as its cost."""
    if amount <= 0:
        raise ValueError("a commission credit is positive")
    return _post_entry(
        shop_id=shop_id,
        member_id=member_id,
        amount=amount,
        kind=EntryKind.REWARD,
        key=key,
        now=now or timezone.now(),
        campaign_id=campaign_id,
    )


# --- Withdrawals -------------------------------------------------------------------------------------


def _clean_money(value) -> Decimal | None:
    try:
        amount = Decimal(str(value)).quantize(CENT) if value not in (None, "") else None
    except (ArithmeticError, ValueError):
        return None
    if amount is not None and (amount != Decimal(str(value)) or abs(amount) >= MAX_MONEY):
        return None
    return amount


def request_withdrawal(*, member: User, shop_id: int, amount, account_note: str) -> WithdrawalRequest:
    """A member asks for commission money. The amount leaves the balance now (so it cannot be asked for
    twice), one open request per member and shop; refused when the balance is short.
    """
    errors = {}
    cleaned = _clean_money(amount)
    if cleaned is None or cleaned <= 0:
        errors["amount"] = _("请输入大于 0 的金额（最多两位小数）。")
    account_note = (account_note or "").strip()
    if not account_note:
        errors["account_note"] = _("请填写收款方式，如微信号或支付宝账号。")
    elif len(account_note) > 120:
        errors["account_note"] = _("收款方式最多 120 个字。")
    if errors:
        raise ValidationError(errors)
    now = timezone.now()
    with transaction.atomic():
        try:
            with transaction.atomic():
                withdrawal = WithdrawalRequest.objects.create(
                    shop_id=shop_id, member=member, amount=cleaned, account_note=account_note, requested_at=now
                )
        except IntegrityError as exc:
            raise ValidationError(_("你已有一笔提现在处理中，请等待处理完成。")) from exc
        _post_entry(
            shop_id=shop_id,
            member_id=member.pk,
            amount=-cleaned,
            kind=EntryKind.WITHDRAWAL,
            key=f"withdrawal:{withdrawal.pk}",
            withdrawal=withdrawal,
            now=now,
        )
    return withdrawal


WITHDRAWAL_MOVES = {
    "approve": ((WithdrawalStatus.REQUESTED,), WithdrawalStatus.APPROVED),
    "reject": ((WithdrawalStatus.REQUESTED, WithdrawalStatus.APPROVED), WithdrawalStatus.REJECTED),
    "mark_paid": ((WithdrawalStatus.APPROVED,), WithdrawalStatus.PAID),
}


WITHDRAWAL_AUDIT = {
    "approve": ("referrals.withdrawal.approve", "decision_note"),
    "reject": ("referrals.withdrawal.reject", "decision_note"),
    "mark_paid": ("referrals.withdrawal.paid", "payout_reference"),
}


@transaction.atomic
def _move_withdrawal(withdrawal: WithdrawalRequest, action: str, *, by: User, **fields) -> WithdrawalRequest:
    allowed, to_status = WITHDRAWAL_MOVES[action]
    # The row's status before the move is one of `allowed` (the UPDATE's condition decided it); the
    # caller's copy names which unless it is stale.
    was = withdrawal.status if withdrawal.status in allowed else "|".join(allowed)
    if WithdrawalRequest.objects.filter(pk=withdrawal.pk, status__in=allowed).update(status=to_status, **fields) != 1:
        withdrawal.refresh_from_db()
        raise ValidationError(
            _("该提现申请当前为「%(status)s」，不能执行此操作。") % {"status": withdrawal.get_status_display()}
        )
    withdrawal.refresh_from_db()
    code, note_field = WITHDRAWAL_AUDIT[action]
    audit.record(
        shop=withdrawal.shop_id,
        by=by,
        action=code,
        target=withdrawal,
        before={"status": was},
        after={"status": to_status, "amount": withdrawal.amount, note_field: fields[note_field]},
        label=f"#{withdrawal.pk} ¥{withdrawal.amount}",
    )
    return withdrawal


def approve_withdrawal(*, withdrawal: WithdrawalRequest, by: User, note: str = "") -> WithdrawalRequest:
    """requested → approved (the operator will pay it outside the platform)."""
    return _move_withdrawal(
        withdrawal, "approve", by=by, decided_by=by, decided_at=timezone.now(), decision_note=(note or "").strip()[:200]
    )


def reject_withdrawal(*, withdrawal: WithdrawalRequest, by: User, note: str) -> WithdrawalRequest:
    """requested/approved → rejected; the amount goes back to the balance, once."""
    note = (note or "").strip()
    if not note:
        raise ValidationError({"note": _("请填写拒绝原因。")})
    now = timezone.now()
    with transaction.atomic():
        withdrawal = _move_withdrawal(
            withdrawal, "reject", by=by, decided_by=by, decided_at=now, decision_note=note[:200]
        )
        _post_entry(
            shop_id=withdrawal.shop_id,
            member_id=withdrawal.member_id,
            amount=withdrawal.amount,
            kind=EntryKind.WITHDRAWAL_RETURNED,
            key=f"withdrawal-returned:{withdrawal.pk}",
            withdrawal=withdrawal,
            now=now,
        )
    return withdrawal


def mark_withdrawal_paid(*, withdrawal: WithdrawalRequest, by: User, payout_reference: str) -> WithdrawalRequest:
    """approved → paid, recording the operator's transfer reference (no payout gateway)."""
    payout_reference = (payout_reference or "").strip()
    if not payout_reference:
        raise ValidationError({"payout_reference": _("请填写打款凭证号（如转账流水号）。")})
    if len(payout_reference) > 80:
        raise ValidationError({"payout_reference": _("打款凭证号最多 80 个字。")})
    return _move_withdrawal(
        withdrawal, "mark_paid", by=by, paid_by=by, paid_at=timezone.now(), payout_reference=payout_reference
    )


# --- Reward rules ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RewardRuleInput:
    kind: str
    amount: Decimal = ZERO
    commission_rate: Decimal | None = None
    label: str = ""
    cap_count: int | None = None
    cap_period: str = CapPeriod.MONTH


REWARD_RULE_FIELDS = ("kind", "amount", "commission_rate", "label", "cap_count", "cap_period")


def save_reward_rule(*, shop: Shop, by: User, data: RewardRuleInput) -> RewardRule:
    """Make `data` the shop's active rule of its kind; the previous one stops (rewards keep their rule)."""
    errors = {}
    if data.kind not in RewardKind.values:
        errors["kind"] = _("请选择奖励类型。")
    if data.amount is None or data.amount < 0:
        errors["amount"] = _("数额不能为负数。")
    if data.commission_rate is not None and data.kind != RewardKind.COMMISSION:
        errors["commission_rate"] = _("只有佣金可以按订单比例计算。")
    elif data.commission_rate is not None and not (0 <= data.commission_rate <= 1):
        errors["commission_rate"] = _("佣金比例在 0 到 1 之间，如 0.05 表示 5%。")
    if not errors and data.amount == 0 and not data.commission_rate:
        errors["amount"] = _("请设置奖励数额。")
    if data.kind in (RewardKind.COUPON, RewardKind.FREE_ITEM) and not data.label.strip():
        errors["label"] = _("请填写优惠券或赠品的名称。")
    if data.cap_count is not None and data.cap_count < 1:
        errors["cap_count"] = _("上限至少为 1，不限请留空。")
    if data.cap_period not in CapPeriod.values:
        errors["cap_period"] = _("请选择上限周期。")
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        previous = list(RewardRule.objects.select_for_update().filter(shop=shop, kind=data.kind, is_active=True))
        RewardRule.objects.filter(pk__in=[r.pk for r in previous]).update(is_active=False)
        rule = RewardRule.objects.create(
            shop=shop,
            kind=data.kind,
            amount=data.amount,
            commission_rate=data.commission_rate,
            label=data.label.strip()[:60],
            cap_count=data.cap_count,
            cap_period=data.cap_period,
        )
        # The new rule replaces the active one of its kind: the entry shows what it was.
        before = audit.snapshot(previous[0], REWARD_RULE_FIELDS) | {"rule": previous[0].pk} if previous else {}
        audit.record(
            shop=shop,
            by=by,
            action="referrals.reward_rule.update" if previous else "referrals.reward_rule.create",
            target=rule,
            before=before,
            after=audit.snapshot(rule, REWARD_RULE_FIELDS) | ({"rule": rule.pk} if previous else {}),
        )
        return rule


@transaction.atomic
def deactivate_reward_rule(*, rule: RewardRule, by: User) -> RewardRule:
    RewardRule.objects.filter(pk=rule.pk).update(is_active=False)
    was_active, rule.is_active = rule.is_active, False
    audit.record(
        shop=rule.shop_id,
        by=by,
        action="referrals.reward_rule.deactivate",
        target=rule,
        before={"is_active": was_active},
        after={"is_active": False},
    )
    return rule
