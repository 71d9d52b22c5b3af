"""Campaign share pages' opens and sign-ins (the funnel's first two steps, per campaign), and the joins
they bring.

- `count_visit(request, campaign, inviter)`: a page reached by a member's share link (a genuine `?by=`
  token) records one open per session and campaign, and one sign-in when someone who opened it signed out
  comes back to it signed in (like groups' invite links; campaigns.models.CampaignVisit), in the sharer's
  group of the campaign (the one a newcomer is sent to join) and the member channel, so the funnel of a
  campaign in one group counts its opens.
- `attribute_join` (a member_joined receiver): a first join into a group the campaign runs in, by someone
  who visited one of its share pages signed in within the shop's window before (ShopSettings.
  campaign_join_window_hours, a day by default), carries the campaign
  (groups.Membership.campaign_id: groups never imports campaigns). The latest such visit wins; a re-join
  keeps what its first join had.
"""

from datetime import timedelta

from django.http import HttpRequest
from django.utils import timezone

from groups.models import Channel, Membership
from shequn import hooks
from shops.models import ShopSettings

from .models import Campaign, CampaignVisit
from .services import campaign_runs_in, member_groups_for

SESSION_VISITS_KEY = "campaign_visits"  # {campaign pk: "anon" once opened signed out, "in" once signed in}
SESSION_VISITS_MAX = 30


def count_visit(request: HttpRequest, campaign: Campaign, inviter) -> None:
    visits = request.session.get(SESSION_VISITS_KEY, {})
    key = str(campaign.pk)
    seen = visits.get(key)
    signed_in = request.user.is_authenticated
    user = request.user if signed_in else None
    if seen is None:
        kind = CampaignVisit.Kind.OPENED
    elif seen == "anon" and signed_in:
        kind = CampaignVisit.Kind.SIGNED_IN
    else:
        return
    group = next(iter(member_groups_for(campaign, inviter)), None)
    CampaignVisit.objects.create(
        campaign=campaign,
        shop_id=campaign.shop_id,
        kind=kind,
        signed_in=signed_in,
        user=user,
        group=group,
        channel=Channel.MEMBER,
    )
    visits.pop(key, None)
    visits[key] = "in" if signed_in else "anon"
    while len(visits) > SESSION_VISITS_MAX:  # oldest first
        visits.pop(next(iter(visits)))
    request.session[SESSION_VISITS_KEY] = visits


def attribute_join(joined: hooks.MemberJoined) -> None:
    """Inside the join's transaction: mark a first join with the campaign whose share page brought it."""
    membership = joined.membership
    if not joined.first_time_in_group or membership.campaign_id is not None:
        return
    at = membership.joined_at or timezone.now()
    group = membership.group
    hours = ShopSettings.objects.filter(shop_id=group.shop_id).values_list("campaign_join_window_hours", flat=True)
    window = timedelta(hours=hours.first() or ShopSettings._meta.get_field("campaign_join_window_hours").default)
    visits = (
        CampaignVisit.objects.filter(user_id=membership.user_id, shop_id=group.shop_id, at__gt=at - window, at__lte=at)
        .select_related("campaign")
        .order_by("-at", "-pk")[:10]
    )
    for visit in visits:
        if campaign_runs_in(visit.campaign, group):
            Membership.objects.filter(pk=membership.pk).update(campaign_id=visit.campaign_id)
            membership.campaign_id = visit.campaign_id
            return
