"""Random shops for the analytics tests, written straight into the source tables (the facts only read them),
and the direct computation from those tables that the facts must equal."""

import random
import uuid
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from campaigns.models import Campaign, CampaignAct, CampaignOrder, CampaignType, CampaignVisit
from campaigns.types.coupon.models import Coupon, CouponChannel, CouponState
from campaigns.types.help.models import HelpTask, HelpTaskState
from groups.models import (
    ActivityKind,
    Channel,
    LinkVisit,
    MemberActivity,
    Membership,
    MembershipStatus,
    VisitKind,
)
from groups.space_models import SpacePost
from orders.models import (
    AdjustmentKind,
    FulfilmentItem,
    FulfilmentState,
    Order,
    OrderAdjustment,
    OrderLine,
    OrderState,
    Payment,
    Refund,
    RefundState,
    RepurchaseReminder,
)
from referrals.models import (
    CommissionAccount,
    CommissionEntry,
    EntryKind,
    EventKind,
    PointsAccount,
    PointsEntry,
    PointsEntryKind,
    ReferralEdge,
    ReferralEvent,
    Reward,
    RewardKind,
    RewardRule,
    RewardStatus,
)
from tests.factories import GroupFactory, InviteLinkFactory, ProductFactory, ShopFactory, SkuFactory, UserFactory

CHANNELS = [Channel.MEMBER, Channel.POSTER, Channel.PARCEL_CARD, Channel.SERIES_CODE]
ACTIVITY = [ActivityKind.JOIN, ActivityKind.ORDER, ActivityKind.CHECK_IN, ActivityKind.MESSAGE_RECEIVED]


@dataclass
class ShopData:
    shop: object
    rng: random.Random
    start: datetime
    groups: list = field(default_factory=list)
    members: list = field(default_factory=list)
    skus: list = field(default_factory=list)
    campaigns: list = field(default_factory=list)
    coupon_template: object = None  # the shop's coupon campaign (its coupons' discounts are its cost)
    membership_of: dict = field(default_factory=dict)  # member pk -> list of group pks


def _at(data: ShopData, day_offset: float) -> datetime:
    return data.start + timedelta(days=day_offset)


def make_shop(
    rng: random.Random, *, members: int = 12, orders: int = 30, days: int = 40, start: datetime | None = None
) -> ShopData:
    start = start or timezone.now() - timedelta(days=days + 1)
    data = ShopData(shop=ShopFactory(), rng=rng, start=start)
    shop = data.shop
    data.groups = [GroupFactory(shop=shop) for _ in range(rng.randint(1, 3))]
    data.skus = [SkuFactory(product=ProductFactory(shop=shop, usage_cycle_days=rng.choice([7, 30]))) for _ in range(2)]
    data.campaigns = [
        Campaign.objects.create(
            shop=shop,
            type=CampaignType.GROUP_BUY,
            name=f"拼团{i}",
            starts_at=start,
            ends_at=start + timedelta(days=days),
        )
        for i in range(rng.randint(0, 2))
    ]
    data.coupon_template = Campaign.objects.create(
        shop=shop, type=CampaignType.COUPON, name="满减券", starts_at=start, ends_at=start + timedelta(days=days)
    )
    data.members = [UserFactory() for _ in range(members)]
    for person in data.members:
        for group in rng.sample(data.groups, rng.randint(1, len(data.groups))):
            join(data, person, group, _at(data, rng.uniform(0, days)))
    add_referrals(data, days)
    for _ in range(rng.randint(0, 6)):  # anonymous opens of some link
        inviter = rng.choice(data.members)
        event(data, EventKind.LINK_OPENED, inviter, None, None, _at(data, rng.uniform(0, days)))
    add_visits(data, days)
    add_campaign_visits(data, days)
    for _ in range(orders):
        order(data, rng.choice(data.members), _at(data, rng.uniform(0, days)))
    for person in data.members:
        add_activity(data, person, days)
        add_campaign_costs(data, person, days)
    return data


def add_campaign_costs(data: ShopData, person, days: int) -> None:
    """Points a campaign (or none) gave the member, items owed with no order (prizes, some void), and posts
    in their groups' spaces."""
    rng = data.rng
    givers = [None, *[c.pk for c in data.campaigns]]
    account = None
    for _ in range(rng.choice([0, 0, 1, 2])):
        account = account or PointsAccount.objects.create(shop=data.shop, member=person)
        PointsEntry.objects.create(
            account=account,
            kind=PointsEntryKind.EARN,
            points=rng.randint(1, 500),
            balance_after=0,
            key=uuid.uuid4().hex,
            campaign_id=rng.choice(givers),
            worth=Decimal(rng.randint(0, 500)) / 100,
            created_at=_at(data, rng.uniform(0, days)),
        )
    if account and rng.random() < 0.5:  # spending is no campaign's cost
        PointsEntry.objects.create(
            account=account,
            kind=PointsEntryKind.SPEND,
            points=-1,
            balance_after=0,
            key=uuid.uuid4().hex,
            created_at=_at(data, rng.uniform(0, days)),
        )
    for _ in range(rng.choice([0, 0, 1])):
        owed = _at(data, rng.uniform(0, days))
        void = rng.random() < 0.25
        FulfilmentItem.objects.create(
            shop=data.shop,
            member=person,
            source="contest",
            key=uuid.uuid4().hex,
            label="奖品",
            quantity=rng.randint(1, 3),
            campaign_id=rng.choice(givers),
            worth=Decimal(rng.randint(0, 9999)) / 100,
            delivery="shipping",
            recipient_name="张三",
            recipient_phone="13800000000",
            address="上海市",
            state=FulfilmentState.VOID if void else FulfilmentState.OWED,
            owed_at=owed,
            voided_at=owed + timedelta(hours=1) if void else None,
        )
    commission = None
    for _ in range(rng.choice([0, 0, 0, 1])):  # cash prizes, and commission no campaign gave (not its cost)
        commission = commission or CommissionAccount.objects.create(shop=data.shop, member=person)
        CommissionEntry.objects.create(
            account=commission,
            kind=EntryKind.REWARD,
            amount=Decimal(rng.randint(1, 20000)) / 100,
            balance_after=0,
            key=uuid.uuid4().hex,
            campaign_id=rng.choice(givers),
            created_at=_at(data, rng.uniform(0, days)),
        )
    for _ in range(rng.choice([0, 0, 1, 3])):
        SpacePost.objects.create(
            group_id=rng.choice(data.membership_of[person.pk]),
            author=person,
            body="今天的分享",
            created_at=_at(data, rng.uniform(0, days)),
            hidden_at=_at(data, days) if rng.random() < 0.2 else None,
        )


def coupon_for(data: ShopData, placed: Order, at: datetime) -> Coupon:
    """A coupon of the shop's template, sometimes given by one of its campaigns' rules."""
    issuer = data.rng.choice([None, *[c.pk for c in data.campaigns]])
    return Coupon.objects.create(
        shop=data.shop,
        campaign=data.coupon_template,
        member=placed.member,
        state=CouponState.USED,
        order=placed,
        channel=CouponChannel.RULE,
        grant_key=uuid.uuid4().hex,
        issuer_campaign_id=issuer,
        valid_from=at - timedelta(days=1),
        valid_until=at + timedelta(days=30),
        used_at=at,
    )


def add_referrals(data: ShopData, days: int) -> None:
    """About half the members (never the first) were invited: an edge, two of its events (an open, a sign-in
    after opening signed out, a first order, qualifying), sometimes a reward."""
    rng, shop = data.rng, data.shop
    rule = RewardRule.objects.create(shop=shop, kind=RewardKind.COMMISSION, amount=Decimal("5.00"))
    for invitee in data.members[1:]:
        if rng.random() >= 0.5:
            continue
        inviter = rng.choice([m for m in data.members if m != invitee])
        edge = ReferralEdge.objects.create(
            shop=shop,
            invitee=invitee,
            inviter=inviter,
            group=rng.choice(data.groups),
            channel=rng.choice(CHANNELS),
            campaign_id=rng.choice([None, *[c.pk for c in data.campaigns]]),
            created_at=_at(data, rng.uniform(0, days)),
        )
        kinds = [EventKind.LINK_OPENED, EventKind.LINK_SIGNED_IN, EventKind.FIRST_ORDER, EventKind.QUALIFIED]
        for kind in rng.sample(kinds, 2):
            event(data, kind, inviter, invitee, edge, _at(data, rng.uniform(0, days)))
        if rng.random() < 0.5:
            Reward.objects.create(
                shop=shop,
                rule=rule,
                kind=rule.kind,
                inviter=inviter,
                invitee=invitee,
                edge=edge,
                amount=Decimal(rng.randint(1, 900)) / 100,
                status=rng.choice([RewardStatus.PENDING, RewardStatus.GRANTED, RewardStatus.REVERSED]),
                period_start=data.start.date(),
                created_at=_at(data, rng.uniform(0, days)),
                due_at=_at(data, days),
            )


def add_visits(data: ShopData, days: int) -> None:
    """Invite links of a member and of an operator's channel, opened (signed in or not) and signed in after."""
    rng = data.rng
    links = [
        InviteLinkFactory(group=group, inviter=rng.choice(data.members), channel=rng.choice(CHANNELS))
        for group in data.groups
    ]
    for _ in range(rng.randint(0, 12)):
        link = rng.choice(links)
        kind = rng.choice([VisitKind.OPENED, VisitKind.OPENED, VisitKind.SIGNED_IN])
        LinkVisit.objects.create(
            shop=data.shop,
            link=link,
            group=link.group,
            channel=link.channel,
            kind=kind,
            signed_in=kind == VisitKind.SIGNED_IN or rng.random() < 0.4,
            at=_at(data, rng.uniform(0, days)),
        )


def add_campaign_visits(data: ShopData, days: int) -> None:
    """Campaign share pages opened (signed in or not) and signed in after; some first joins they brought."""
    rng = data.rng
    for campaign in data.campaigns:
        for _ in range(rng.randint(0, 8)):
            kind = rng.choice([CampaignVisit.Kind.OPENED, CampaignVisit.Kind.OPENED, CampaignVisit.Kind.SIGNED_IN])
            CampaignVisit.objects.create(
                campaign=campaign,
                shop=data.shop,
                kind=kind,
                signed_in=kind == CampaignVisit.Kind.SIGNED_IN or rng.random() < 0.4,
                user=rng.choice([None, *data.members]),
                group=rng.choice([None, *data.groups]),  # the sharer's group (none on old visits)
                channel=rng.choice(["", Channel.MEMBER]),
                at=_at(data, rng.uniform(0, days)),
            )
    if data.campaigns:
        for m in Membership.objects.filter(group__shop=data.shop):
            if rng.random() < 0.3:
                m.campaign_id = rng.choice(data.campaigns).pk
                m.save(update_fields=["campaign_id"])


def add_activity(data: ShopData, person, days: int) -> None:
    """A member's activity in their groups, campaign acts, and sometimes a repurchase reminder sent."""
    rng = data.rng
    for _ in range(rng.randint(0, 4)):
        group_pk = rng.choice(data.membership_of[person.pk])
        MemberActivity.objects.create(
            group_id=group_pk, user=person, kind=rng.choice(ACTIVITY), at=_at(data, rng.uniform(0, days))
        )
    for campaign in data.campaigns:
        for _ in range(rng.choice([0, 0, 1, 2])):
            CampaignAct.objects.create(
                campaign=campaign,
                actor=person,
                kind="join",
                key=uuid.uuid4().hex,
                new_member=rng.random() < 0.5,
                occurred_at=_at(data, rng.uniform(0, days)),
            )
    for campaign in data.campaigns:  # a help task of theirs, its reward sometimes a free item handed over
        if rng.random() < 0.3:
            granted = _at(data, rng.uniform(0, days))
            kind = rng.choice(["free_item", "price"])
            HelpTask.objects.create(
                campaign=campaign,
                starter=person,
                group_id=rng.choice(data.membership_of[person.pk]),
                state=HelpTaskState.COMPLETED,
                helps_needed=1,
                help_count=1,
                started_at=granted,
                expires_at=granted + timedelta(days=1),
                completed_at=granted,
                reward_granted_at=granted,
                reward={"kind": kind, "price": None, "label": "赠品"},
                # a free item's worth when granted (none when its campaign had no SKU)
                reward_value=rng.choice([None, Decimal(rng.randint(1, 9999)) / 100]) if kind == "free_item" else None,
            )
    if rng.random() < 0.3:
        RepurchaseReminder.objects.create(
            shop=data.shop,
            member=person,
            product=rng.choice(data.skus).product,
            cycle=rng.randint(1, 10**9),
            due_at=_at(data, days),
            sent_at=_at(data, rng.uniform(0, days)),
        )


def join(data: ShopData, person, group, at: datetime) -> Membership:
    data.membership_of.setdefault(person.pk, []).append(group.pk)
    return Membership.objects.create(
        group=group,
        user=person,
        status=MembershipStatus.ACTIVE,
        channel=data.rng.choice(CHANNELS),
        requested_at=at,
        joined_at=at,
        first_joined_at=at,
    )


def event(data: ShopData, kind, inviter, invitee, edge, at: datetime) -> ReferralEvent:
    return ReferralEvent.objects.create(
        shop=data.shop,
        kind=kind,
        key=uuid.uuid4().hex,
        inviter=inviter,
        invitee=invitee,
        edge=edge,
        group=edge.group if edge else data.rng.choice(data.groups),
        campaign_id=edge.campaign_id if edge else None,
        channel=edge.channel if edge else data.rng.choice(CHANNELS),
        occurred_at=at,
        voided_at=at if data.rng.random() < 0.15 else None,
    )


def order(data: ShopData, person, created: datetime, *, paid: bool | None = None) -> Order:
    # One transaction, as the order core writes an order: its adjustments must add up at COMMIT, also
    # where the caller runs in autocommit (a browser test's live server).
    with transaction.atomic():
        return _order(data, person, created, paid=paid)


def _order(data: ShopData, person, created: datetime, *, paid: bool | None) -> Order:
    rng = data.rng
    paid = rng.random() < 0.85 if paid is None else paid
    lines = [(sku, rng.randint(1, 3)) for sku in rng.sample(data.skus, rng.randint(1, len(data.skus)))]
    subtotal = sum((sku.price * quantity for sku, quantity in lines), Decimal("0.00"))
    discount = Decimal(rng.randint(0, 500)) / 100
    placed = Order.objects.create(
        shop=data.shop,
        group_id=rng.choice(data.membership_of[person.pk]),
        member=person,
        number=uuid.uuid4().hex[:20],
        state=OrderState.PAID if paid else OrderState.CANCELLED,
        subtotal=subtotal,
        discount=discount,
        total=subtotal - discount,
        delivery="none",
        idempotency_key=uuid.uuid4().hex,
        request_fingerprint="x",
        pay_deadline=created + timedelta(minutes=30),
        created_at=created,
        paid_at=created + timedelta(minutes=rng.randint(1, 20)) if paid else None,
    )
    for index, (sku, quantity) in enumerate(lines):
        OrderLine.objects.create(
            order=placed,
            sku=sku,
            product=sku.product,
            product_name=sku.product.name,
            spec=sku.spec,
            unit_price=sku.price,
            quantity=quantity,
            line_total=sku.price * quantity,
            # The discount is one adjustment on the first line, as the pricing step would record it.
            adjustment_amount=-discount if index == 0 else Decimal("0.00"),
        )
    if discount:
        first_sku = lines[0][0]
        # A real coupon's discount (its campaign's cost), or an adjustment naming no coupon (no one's).
        source = f"coupon:{coupon_for(data, placed, created).pk}" if rng.random() < 0.7 else "shopdata"
        OrderAdjustment.objects.create(
            order=placed,
            kind=AdjustmentKind.COUPON,
            source=source,
            amount=-discount,
            sku=first_sku,
            shares={str(first_sku.pk): str(-discount)},
            position=0,
        )
    if data.campaigns and rng.random() < 0.4:
        free = rng.random() < 0.3  # a free item (a gift, a help reward): all of its price is subsidy
        CampaignOrder.objects.create(
            campaign=rng.choice(data.campaigns),
            order=placed,
            member=person,
            units=rng.randint(1, 2),
            unit_price=Decimal("0.00") if free else Decimal("9.90"),
            subsidy=Decimal(rng.randint(0, 1000)) / 100,
            released_at=created if rng.random() < 0.2 else None,
        )
    if paid and rng.random() < 0.25:
        refund(data, placed, min(placed.paid_at + timedelta(days=rng.uniform(0, 3)), timezone.now()))
    return placed


def refund(data: ShopData, placed: Order, at: datetime) -> Refund:
    payment = Payment.objects.create(
        order=placed, provider="simulated", provider_ref=uuid.uuid4().hex, amount=placed.total or Decimal("1.00")
    )
    tier = data.rng.random() < 0.5
    return Refund.objects.create(
        order=placed,
        payment=payment,
        key=f"team:1:tier:{uuid.uuid4().hex[:8]}" if tier else f"order:{uuid.uuid4().hex}",
        amount=max(min(placed.total, Decimal(data.rng.randint(1, 3000)) / 100), Decimal("0.01")),
        state=data.rng.choice([RefundState.SUCCEEDED, RefundState.SUCCEEDED, RefundState.PENDING]),
        created_at=at,
        succeeded_at=at,
    )


# --- The direct computation ---------------------------------------------------------------------------------


def local_day(at: datetime):
    return timezone.localtime(at).date()


def fen(amount: Decimal) -> int:
    return int(amount * 100)


def direct_daily(shop) -> dict:
    """{(day, group, channel, campaign): Counter of measures} straight from the source tables."""
    cells: dict = defaultdict(Counter)
    channel_of = {(m.group_id, m.user_id): m.channel for m in Membership.objects.filter(group__shop=shop).order_by()}
    campaign_order = {co.order_id: co for co in CampaignOrder.objects.filter(order__shop=shop)}
    _count_visits(shop, cells)
    _count_events(shop, cells)
    for m in Membership.objects.filter(group__shop=shop, first_joined_at__isnull=False):
        cells[(local_day(m.first_joined_at), m.group_id, m.channel, m.campaign_id)]["joins"] += 1
    _count_orders(shop, cells, channel_of, campaign_order)
    _count_refunds(shop, cells, channel_of, campaign_order)
    for e in ReferralEdge.objects.filter(shop=shop):
        cells[(local_day(e.created_at), e.group_id, e.channel, e.campaign_id)]["invites"] += 1
    for w in Reward.objects.filter(shop=shop, status__in=["pending", "granted"]).select_related("edge"):
        if w.kind not in (RewardKind.POINTS, RewardKind.COUPON):  # costed by what they give
            cells[(local_day(w.created_at), w.edge.group_id, w.edge.channel, w.edge.campaign_id)][
                "reward_cost_fen"
            ] += fen(w.amount)
    _count_activity(shop, cells, channel_of)
    for t in HelpTask.objects.filter(campaign__shop=shop, reward_granted_at__isnull=False):
        if t.reward.get("kind") == "free_item":
            key = (
                local_day(t.reward_granted_at),
                t.group_id,
                channel_of.get((t.group_id, t.starter_id), ""),
                t.campaign_id,
            )
            cells[key]["gifts"] += 1
            cells[key]["gift_cost_fen"] += fen(t.reward_value) if t.reward_value is not None else 0
    _count_campaign_acts(shop, cells)
    _count_campaign_costs(shop, cells, channel_of)
    return {key: +counts for key, counts in cells.items() if +counts}


def _count_campaign_costs(shop, cells: dict, channel_of: dict) -> None:
    """Coupon discounts of paid orders (the coupon's issuing campaign, else its template), points campaigns
    gave at their worth, items owed with no order and not void, and space posts."""
    coupons = {c.pk: c for c in Coupon.objects.filter(shop=shop)}
    for a in OrderAdjustment.objects.filter(order__shop=shop, kind=AdjustmentKind.COUPON).select_related("order"):
        o = a.order
        prefix, _sep, number = a.source.partition(":")
        coupon = coupons.get(int(number)) if prefix == "coupon" and number.isdigit() else None
        if o.paid_at is None or coupon is None:
            continue
        campaign = coupon.issuer_campaign_id or coupon.campaign_id
        key = (local_day(o.paid_at), o.group_id, channel_of.get((o.group_id, o.member_id), ""), campaign)
        cells[key]["coupon_discount_fen"] += fen(-a.amount)
    for p in PointsEntry.objects.filter(account__shop=shop, kind=PointsEntryKind.EARN, campaign_id__isnull=False):
        cells[(local_day(p.created_at), None, "", p.campaign_id)]["points_cost_fen"] += fen(p.worth)
    for i in FulfilmentItem.objects.filter(shop=shop, order__isnull=True).exclude(state=FulfilmentState.VOID):
        cell = cells[(local_day(i.owed_at), None, "", i.campaign_id)]
        cell["prizes"] += i.quantity
        cell["prize_cost_fen"] += fen(i.worth)
    for ce in CommissionEntry.objects.filter(account__shop=shop, kind=EntryKind.REWARD, campaign_id__isnull=False):
        cells[(local_day(ce.created_at), None, "", ce.campaign_id)]["cash_prize_cost_fen"] += fen(ce.amount)
    for p in SpacePost.objects.filter(group__shop=shop):
        cells[(local_day(p.created_at), p.group_id, channel_of.get((p.group_id, p.author_id), ""), None)]["posts"] += 1


def _count_visits(shop, cells: dict) -> None:
    """Every link's and campaign share page's opens, and its openers signed in (when opening, or after)."""
    for v in LinkVisit.objects.filter(shop=shop):
        cell = cells[(local_day(v.at), v.group_id, v.channel, None)]
        cell["link_opens"] += v.kind == VisitKind.OPENED
        cell["signed_in_opens"] += v.kind == VisitKind.SIGNED_IN or v.signed_in
    for v in CampaignVisit.objects.filter(shop=shop):
        cell = cells[(local_day(v.at), v.group_id, v.channel, v.campaign_id)]
        cell["link_opens"] += v.kind == CampaignVisit.Kind.OPENED
        cell["signed_in_opens"] += v.kind == CampaignVisit.Kind.SIGNED_IN or v.signed_in


def _count_events(shop, cells: dict) -> None:
    """Qualified referrals and invitees' first orders: unvoided events (opens are counted from link visits)."""
    for e in ReferralEvent.objects.filter(shop=shop, voided_at__isnull=True):
        cell = cells[(local_day(e.occurred_at), e.group_id, e.channel, e.campaign_id)]
        if e.kind == EventKind.QUALIFIED:
            cell["qualified_referrals"] += 1
        elif e.kind == EventKind.FIRST_ORDER:
            cell["invitee_first_orders"] += 1


def _count_orders(shop, cells: dict, channel_of: dict, campaign_order: dict) -> None:
    """Paid orders on their payment day: first and second of each member, revenue, unreleased subsidy."""
    seen: Counter = Counter()
    for o in Order.objects.filter(shop=shop, paid_at__isnull=False).order_by("paid_at", "pk"):
        seen[o.member_id] += 1
        co = campaign_order.get(o.pk)
        cell = cells[
            (local_day(o.paid_at), o.group_id, channel_of.get((o.group_id, o.member_id), ""), co and co.campaign_id)
        ]
        cell["paid_orders"] += 1
        cell["first_orders"] += seen[o.member_id] == 1
        cell["second_orders"] += seen[o.member_id] == 2
        cell["revenue_fen"] += fen(o.total)
        cell["subsidy_fen"] += fen(co.subsidy) if co and co.released_at is None else 0
        if co and co.released_at is None and co.unit_price == 0:
            cell["free_items"] += co.units
            cell["free_item_cost_fen"] += fen(co.subsidy)


def _count_refunds(shop, cells: dict, channel_of: dict, campaign_order: dict) -> None:
    """Succeeded refunds on their day, the group-buy tier refunds apart."""
    for f in Refund.objects.filter(order__shop=shop, state=RefundState.SUCCEEDED).select_related("order"):
        o = f.order
        co = campaign_order.get(o.pk)
        cell = cells[
            (
                local_day(f.succeeded_at),
                o.group_id,
                channel_of.get((o.group_id, o.member_id), ""),
                co and co.campaign_id,
            )
        ]
        cell["refunds_fen"] += fen(f.amount)
        cell["refund_count"] += 1
        cell["tier_refunds_fen"] += fen(f.amount) if ":tier:" in f.key else 0


def _count_activity(shop, cells: dict, channel_of: dict) -> None:
    """Active members (any activity but a message received) and check-ins per day and group."""
    active = defaultdict(set)
    for a in MemberActivity.objects.filter(group__shop=shop).exclude(kind=ActivityKind.MESSAGE_RECEIVED):
        key = (local_day(a.at), a.group_id, channel_of.get((a.group_id, a.user_id), ""), None)
        active[key].add(a.user_id)
        cells[key]["check_ins"] += a.kind == ActivityKind.CHECK_IN
    for key, people in active.items():
        cells[key]["active_members"] += len(people)


def _count_campaign_acts(shop, cells: dict) -> None:
    """Campaign acts, and new members counted once per campaign at their first act."""
    counted = set()
    for a in CampaignAct.objects.filter(campaign__shop=shop).order_by("occurred_at", "pk"):
        key = (local_day(a.occurred_at), None, "", a.campaign_id)
        cells[key]["campaign_acts"] += 1
        if a.new_member and (a.campaign_id, a.actor_id) not in counted:
            counted.add((a.campaign_id, a.actor_id))
            cells[key]["new_members"] += 1


def fact_cells(shop) -> dict:
    from analytics.facts import MEASURES
    from analytics.models import DailyFact

    cells = {}
    for row in DailyFact.objects.filter(shop=shop).values():
        key = (row["day"], row["group_id"], row["channel"], row["campaign_id"])
        counts = +Counter({m: row[m] for m in MEASURES})
        if counts:
            cells[key] = counts
    return cells


def snapshot(shop) -> tuple:
    """Every fact row of the shop, without ids, sorted: what two builds must agree on."""
    from analytics.models import (
        CohortFact,
        DailyFact,
        MemberWeekFact,
        OrderProductFact,
        RepeatFact,
        RepeatIntervalFact,
    )

    def rows(model):
        found = model.objects.filter(shop=shop).values()
        return sorted((tuple(sorted((k, v) for k, v in row.items() if k != "id")) for row in found), key=repr)

    models = [DailyFact, OrderProductFact, MemberWeekFact, RepeatFact, RepeatIntervalFact, CohortFact]
    return tuple(rows(model) for model in models)
