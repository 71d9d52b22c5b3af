"""The demo shop's campaign share-page visits (seed_demo calls it after the campaigns are seeded).

Each running campaign's sharers (the members who acted in it) had their share links opened over the
campaign's life so far: some openers already signed in, some signed out who came back signed in; and some
of the shop's recent first joins came through a campaign's share page (a signed-in visit shortly before
the join, within the shop's window), credited to it as campaigns.visits.attribute_join would have. So the
campaign funnels and the campaign ROI pages of the demo have every step's figures.
"""

import random
from datetime import datetime, timedelta

from accounts.models import User
from groups.models import Channel, Membership, MembershipStatus
from shops.models import Shop, ShopSettings

from .models import Campaign, CampaignAct, CampaignVisit
from .services import campaign_runs_in, member_groups_for

SHARERS_PER_CAMPAIGN = 8
OPENS_PER_SHARER = (3, 14)
SIGNED_IN_AT_OPEN = 0.45  # WeChat's browser keeps people signed in
SIGNED_IN_AFTER = 0.35  # of those who opened signed out
JOINS_CREDITED = 0.4  # of the first joins made while a campaign ran


def seed_campaign_visits(*, shop: Shop, rng: random.Random, now: datetime) -> int:
    """Write the visits (and credit the joins they brought); returns the number of visits."""
    campaigns = list(Campaign.objects.filter(shop=shop, starts_at__lte=now).order_by("starts_at", "pk"))
    people = list(
        Membership.objects.filter(group__shop=shop, status=MembershipStatus.ACTIVE, user__is_demo=True)
        .exclude(user__operator_seats__shop=shop)
        .values_list("user_id", flat=True)
        .distinct()
    )
    visits = []
    for campaign in campaigns:
        visits += _share_opens(campaign, people, rng, now)
    visits += _joins_brought(shop, campaigns, rng, now)
    CampaignVisit.objects.bulk_create(visits)
    return len(visits)


def _share_opens(campaign: Campaign, people: list[int], rng: random.Random, now: datetime) -> list[CampaignVisit]:
    first_acts: dict[int, datetime] = {}
    for actor_id, at in (
        CampaignAct.objects.filter(campaign=campaign)
        .order_by("occurred_at", "pk")
        .values_list("actor_id", "occurred_at")
    ):
        first_acts.setdefault(actor_id, at)
    sharers = list(first_acts.items())[:SHARERS_PER_CAMPAIGN]
    if not sharers:  # a campaign nobody has acted in yet: members shared it from its start
        sharers = [(pk, campaign.starts_at) for pk in rng.sample(people, min(len(people), 3))]
    found = []
    for sharer_id, since in sharers:
        groups = member_groups_for(campaign, User(pk=sharer_id))
        group = groups[0] if groups else None
        friends = [p for p in people if p != sharer_id]
        span = max((now - since).total_seconds(), 60)
        for _ in range(rng.randint(*OPENS_PER_SHARER)):
            at = since + timedelta(seconds=rng.uniform(0, span))
            signed_in = rng.random() < SIGNED_IN_AT_OPEN
            opener = rng.choice(friends) if signed_in and friends else None
            found.append(_visit(campaign, group, CampaignVisit.Kind.OPENED, signed_in, opener, at))
            if not signed_in and friends and rng.random() < SIGNED_IN_AFTER:
                back = min(at + timedelta(minutes=rng.uniform(1, 20)), now)
                found.append(_visit(campaign, group, CampaignVisit.Kind.SIGNED_IN, True, rng.choice(friends), back))
    return found


def _joins_brought(shop: Shop, campaigns: list[Campaign], rng: random.Random, now: datetime) -> list[CampaignVisit]:
    """Some first joins made while a campaign ran came from its share page: the joiner's signed-in visit a
    little before the join, and the join credited to the campaign."""
    if not campaigns:
        return []
    hours = ShopSettings.objects.get(shop=shop).campaign_join_window_hours
    joins = Membership.objects.filter(
        group__shop=shop, first_joined_at__gte=campaigns[0].starts_at, first_joined_at__lte=now, campaign_id=None
    ).select_related("group")
    found = []
    for membership in joins.order_by("pk"):
        running = [
            c
            for c in campaigns
            if c.starts_at <= membership.first_joined_at <= c.ends_at and campaign_runs_in(c, membership.group)
        ]
        if not running or rng.random() >= JOINS_CREDITED:
            continue
        campaign = rng.choice(running)
        before = timedelta(minutes=rng.uniform(2, min(hours * 60, 6 * 60) - 1))
        at = max(membership.first_joined_at - before, campaign.starts_at)
        found.append(_visit(campaign, membership.group, CampaignVisit.Kind.OPENED, True, membership.user_id, at))
        Membership.objects.filter(pk=membership.pk).update(campaign_id=campaign.pk)
    return found


def _visit(campaign, group, kind, signed_in, user_id, at) -> CampaignVisit:
    return CampaignVisit(
        campaign=campaign,
        shop_id=campaign.shop_id,
        kind=kind,
        signed_in=signed_in,
        user_id=user_id,
        group=group,
        channel=Channel.MEMBER,
        at=at,
    )
