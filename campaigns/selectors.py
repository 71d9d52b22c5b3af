"""Reads of the campaign engine, scoped: operators through their shop, members through themselves;
public pages (a landing page, a team behind a share link) show only campaigns past their draft."""

from decimal import Decimal

from django.db.models import Count, Prefetch, Q, QuerySet, Sum
from django.shortcuts import get_object_or_404
from django.utils import timezone

from accounts.models import User
from groups.models import Group, MembershipStatus
from orders.models import ProductImage, Sku
from shops.models import Shop

from . import registry
from .models import (
    ZERO,
    BargainTask,
    Campaign,
    CampaignOrder,
    CampaignState,
    HelpTask,
    SeatState,
    Team,
    TeamSeat,
    TeamState,
)

PUBLIC_STATES = (CampaignState.SCHEDULED, CampaignState.RUNNING, CampaignState.ENDED, CampaignState.CANCELLED)
SHOWN_SEAT_STATES = (SeatState.SEATED, SeatState.WON, SeatState.LOST, SeatState.REFUNDED)
MEMBER_OFFERS_LISTED = 10  # running campaigns listed on a member's group page


# --- Operators -------------------------------------------------------------------------------------


def campaigns_for_shop(shop: Shop, *, state: str | None = None, type: str | None = None) -> QuerySet[Campaign]:
    qs = Campaign.objects.filter(shop=shop).select_related("product", "sku")
    if state:
        qs = qs.filter(state=state)
    if type:
        qs = qs.filter(type=type)
    return qs.annotate(order_count=Count("campaign_orders", distinct=True)).order_by("-created_at", "-pk")


def campaign_for_shop(shop: Shop, pk: int) -> Campaign:
    """The shop's campaign, or a 404 (another shop's is a miss too)."""
    return get_object_or_404(Campaign.objects.select_related("product", "sku", "shop"), shop=shop, pk=pk)


def campaign_usage(campaign: Campaign) -> tuple[int, Decimal]:
    """(units, subsidy) the campaign's live orders hold: its counters under a cap, counted from its orders
    without one (the counters are not kept then)."""
    if campaign.stock_cap is not None or campaign.budget is not None:
        return campaign.stock_used, campaign.budget_used
    held = CampaignOrder.objects.filter(campaign=campaign, released_at__isnull=True).aggregate(
        units=Sum("units"), subsidy=Sum("subsidy")
    )
    return held["units"] or 0, held["subsidy"] or ZERO


def skus_to_launch(shop: Shop, *, keep: int | None = None) -> list:
    """The SKUs an operator may launch a campaign on: those of the shop's products on sale (and `keep`, the
    one a draft already has), with each product's pictures in order: three queries, however many."""
    return list(
        Sku.objects.filter(product__shop=shop)
        .filter(Q(is_active=True, product__is_active=True) | Q(pk=keep))
        .select_related("product")
        .prefetch_related(
            Prefetch("product__images", queryset=ProductImage.objects.order_by("position", "pk"), to_attr="pictures")
        )
        .order_by("product__name", "spec", "pk")
    )


def teams_of_campaign(campaign: Campaign, *, state: str | None = None) -> QuerySet[Team]:
    qs = Team.objects.filter(campaign=campaign).select_related("leader", "group")
    if state:
        qs = qs.filter(state=state)
    return qs.order_by("-created_at", "-pk")


def _as_id(value) -> int | None:
    text = str(value)
    return int(text) if text.isascii() and text.isdigit() and len(text) <= 18 else None


def names_in_shop(model, *, shop_id: int, ids) -> dict[int, str]:
    """{id: name} of the shop's `model` rows (products, groups, tags, pickup points…) among `ids`, in one
    query (none without ids): a row of another shop, or one deleted, is absent, so its name never shows on
    this shop's pages."""
    wanted = {_as_id(i) for i in ids or ()} - {None}
    if not wanted:
        return {}
    return dict(model.objects.filter(shop_id=shop_id, pk__in=wanted).values_list("pk", "name"))


def names_shown(ids, names: dict[int, str], *, gone: str) -> str:
    """`ids` as a person reads them: their names joined by 、 (— for none), `gone` for one without a name."""
    return "、".join(names.get(_as_id(i)) or str(gone) for i in ids or ()) or "—"


# --- Members and public pages ----------------------------------------------------------------------


def public_campaign(pk: int) -> Campaign:
    return get_object_or_404(Campaign.objects.select_related("shop", "product", "sku"), pk=pk, state__in=PUBLIC_STATES)


def team_of_campaign(campaign: Campaign, pk: int) -> Team:
    """A team of the campaign with its paid seats and their members, for the team page; 404 otherwise."""
    seats = (
        TeamSeat.objects.filter(state__in=SHOWN_SEAT_STATES)
        .select_related("member")
        .order_by("seat_number", "paid_at", "pk")
    )
    return get_object_or_404(
        Team.objects.select_related("leader", "campaign", "group").prefetch_related(
            Prefetch("seats", queryset=seats, to_attr="shown_seats")
        ),
        campaign=campaign,
        pk=pk,
        state__in=(TeamState.PENDING, TeamState.OPEN, TeamState.SUCCEEDED, TeamState.FAILED),
    )


def joinable_teams(campaign: Campaign, *, exclude_member: User | None = None, limit: int = 5) -> list[Team]:
    """Open teams with seats left, fullest first (the ones closest to succeeding)."""
    qs = (
        Team.objects.filter(campaign=campaign, state=TeamState.OPEN, expires_at__gt=timezone.now())
        .select_related("leader")
        .order_by("-seats_taken", "expires_at", "pk")
    )
    if exclude_member is not None and exclude_member.is_authenticated:
        qs = qs.exclude(
            Q(leader=exclude_member)
            | Q(seats__member=exclude_member, seats__state__in=(SeatState.PENDING, SeatState.SEATED))
        )
    return [team for team in qs[: limit * 2] if team.seats_taken < team.size][:limit]


def seat_of_member(team: Team, member: User) -> TeamSeat | None:
    if not member.is_authenticated:
        return None
    return (
        TeamSeat.objects.filter(team=team, member=member).select_related("order").order_by("-created_at", "-pk").first()
    )


def live_seat_in_campaign(campaign: Campaign, member: User) -> TeamSeat | None:
    """The member's seat in an open (or opening) team of the campaign, if any."""
    if not member.is_authenticated:
        return None
    return (
        TeamSeat.objects.filter(campaign=campaign, member=member, state__in=(SeatState.PENDING, SeatState.SEATED))
        .select_related("team", "order")
        .first()
    )


def seats_for_member(member: User) -> QuerySet[TeamSeat]:
    return (
        TeamSeat.objects.filter(member=member)
        .select_related("team", "campaign", "order")
        .order_by("-created_at", "-pk")
    )


def running_campaigns_for_member(member: User) -> QuerySet[Campaign]:
    """Running campaigns the member may take part in: of a shop where they are in a group, open to all of
    its groups or naming one of theirs (or its series). Soonest to end first."""
    mine = Group.objects.filter(memberships__user=member, memberships__status=MembershipStatus.ACTIVE)
    return (
        Campaign.objects.filter(state=CampaignState.RUNNING, shop__in=mine.values("shop_id"))
        .filter(Q(all_groups=True) | Q(groups__in=mine) | Q(series__in=mine.values("series_id")))
        .select_related("sku")
        .distinct()
        .order_by("ends_at", "pk")
    )


def bargains_for_member(member: User) -> QuerySet[BargainTask]:
    return BargainTask.objects.filter(starter=member).select_related("campaign").order_by("-started_at", "-pk")


def help_tasks_for_member(member: User) -> QuerySet[HelpTask]:
    return HelpTask.objects.filter(starter=member).select_related("campaign").order_by("-started_at", "-pk")


def _running_for_group(group) -> QuerySet[Campaign]:
    """The running campaigns open to `group` (all the shop's groups, the group or its series), soonest to end
    first."""
    open_to = Q(all_groups=True) | Q(groups=group)
    if group.series_id:
        open_to |= Q(series=group.series_id)
    return (
        Campaign.objects.filter(open_to, state=CampaignState.RUNNING, shop_id=group.shop_id)
        .select_related("sku", "product")
        .distinct()
        .order_by("ends_at", "pk")
    )


def member_states(campaigns: list[Campaign], member: User) -> dict[int, dict]:
    """The member's own part in each campaign ({campaign_id: {summary, url, ends_at}}), asked of each type
    once for all its campaigns: one query per type among them, never one per campaign."""
    if member is None or not member.is_authenticated:
        return {}
    by_type: dict[str, list[Campaign]] = {}
    for campaign in campaigns:
        by_type.setdefault(campaign.type, []).append(campaign)
    states: dict[int, dict] = {}
    for code, of_type in by_type.items():
        states.update(registry.get(code).member_states(of_type, member))
    return states


def group_offers(group, member: User | None = None) -> list[dict]:
    """The running campaigns open to `group`, soonest to end first, as the member's group page and the group
    shop list them: title, type, offer line (the kind's poster_offer), price, the landing page, when it ends,
    and `mine`, the member's own part in it (my team and its seats left, my bargain's price, my help task's
    progress, my coupons) or None. One query for the campaigns and one per type among them, however many."""
    running = list(_running_for_group(group)[:MEMBER_OFFERS_LISTED])
    mine = member_states(running, member)
    offers = []
    for campaign in running:
        kind = registry.get(campaign.type)
        offers.append(
            {
                "campaign_id": campaign.pk,
                "type": campaign.type,
                "title": campaign.hook_title or campaign.name,
                "kind": campaign.get_type_display(),
                "offer": kind.poster_offer(campaign, None),
                "price": kind.member_price(campaign),
                "product_id": campaign.product_id,
                "url": campaign.get_absolute_url(),
                "ends_at": campaign.ends_at,
                "mine": mine.get(campaign.pk),
            }
        )
    return offers


def product_offers(*, group, product_ids) -> dict[int, list[dict]]:
    """The running campaigns open to `group` that sell one of these products, by product: {product_id:
    [{title, kind, price, url, ends_at}]}, only those with a price of their own (the kind's member_price).
    One query, however many products and campaigns."""
    found: dict[int, list[dict]] = {}
    for campaign in _running_for_group(group).filter(product_id__in=list(product_ids)):
        price = registry.get(campaign.type).member_price(campaign)
        if price is None:
            continue
        found.setdefault(campaign.product_id, []).append(
            {
                "campaign_id": campaign.pk,
                "title": campaign.hook_title or campaign.name,
                "kind": campaign.get_type_display(),
                "price": price,
                "url": campaign.get_absolute_url(),
                "ends_at": campaign.ends_at,
            }
        )
    return found


def participations(member: User, *, type: str | None = None, limit: int = 30) -> list[dict]:
    """The member's own participations (teams, bargains, help tasks, coupons…), each type's newest first, as
    [{"type", "label" (我的拼团…), "items": the kind's participations}], types with none left out. Only the
    member's own: every kind filters on them. A constant number of queries (at most two per type)."""
    sections = []
    for kind in registry.all():
        if type and kind.code != type:
            continue
        if not kind.participation_label:
            continue
        items = kind.participations(member, limit=limit)
        if items:
            sections.append({"type": kind.code, "label": kind.participation_label, "items": items})
    return sections


def campaign_choices(shop_id: int) -> list[tuple[int, str]]:
    """The shop's campaigns past their draft, newest first, for pickers (a leaderboard's campaign)."""
    return list(
        Campaign.objects.filter(shop_id=shop_id, state__in=PUBLIC_STATES)
        .order_by("-starts_at", "-pk")
        .values_list("pk", "name")[:200]
    )
