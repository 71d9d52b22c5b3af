"""Members' campaign pages (mobile H5), mounted at /m/c/ under the namespace "campaigns": the landing page
(hook, proof, the call to act again, the member's share poster; what a type adds comes from its kind's
`landing_context`), the member's 活动 tab and the share QR code and poster. Each type's own pages live in
its kind's URL module. Views parse input, call a service, render; the services decide."""

import logging
from urllib.parse import urlencode

from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.template.loader import select_template
from django.urls import reverse
from django.views.decorators.cache import cache_control
from django.views.decorators.http import require_GET

from accounts.models import User
from groups import posters, qr
from groups.models import Membership, MembershipStatus
from groups.services import personal_link
from shequn.decorators import member_login_required

from . import posters as campaign_posters
from . import registry, selectors, services, visits
from .models import Campaign, SeatState

logger = logging.getLogger(__name__)
SESSION_INVITERS_KEY = "campaign_inviters"
SESSION_INVITERS_MAX = 30
MINE_LISTED = 30


# --- Who shared the link --------------------------------------------------------------------------------


def remember_inviter(request: HttpRequest, campaign: Campaign):
    """The member whose share link brought this visitor: from a genuine `?by=` token (kept in the session
    for the rest of the visit, through sign-in and joining a group), else from the session."""
    stored = request.session.get(SESSION_INVITERS_KEY, {})
    inviter = services.inviter_from_token(campaign, request.GET.get("by"))
    if inviter is not None:
        if request.method == "GET" and inviter != request.user:  # a share link opened (not one's own)
            visits.count_visit(request, campaign, inviter)
        key = str(campaign.pk)
        # Write only a change: saving the session is a transaction of its own on every such request.
        if list(stored.items())[-1:] != [(key, inviter.pk)]:
            stored.pop(key, None)
            stored[key] = inviter.pk
            while len(stored) > SESSION_INVITERS_MAX:
                stored.pop(next(iter(stored)))
            request.session[SESSION_INVITERS_KEY] = stored
        return inviter
    inviter_id = stored.get(str(campaign.pk))
    if inviter_id is None:
        return None
    return User.objects.filter(pk=inviter_id, is_active=True).first()


def _inviter_for_act(request: HttpRequest, campaign: Campaign):
    inviter = remember_inviter(request, campaign)
    return inviter if inviter is not None and inviter.pk != request.user.pk else None


def _login_url(next_url: str) -> str:
    return f"{reverse('account_request_login_code')}?{urlencode({'next': next_url})}"


def _entry(campaign: Campaign, inviter) -> dict:
    """For someone not yet in any of the campaign's groups: where to join first (the inviter's own link to
    a campaign group when they have one, so the join is credited to them too)."""
    group = None
    link = None
    if inviter is not None:
        group = next(iter(services.member_groups_for(campaign, inviter)), None)
        if group is not None:
            try:
                link = personal_link(user=inviter, group=group)
            except ValidationError:
                link = None
    if link is None:
        group = services.entry_group_for(campaign)
    return {"entry_link": link, "entry_group": group}


# --- Landing page -----------------------------------------------------------------------------------


def landing_context(request: HttpRequest, campaign: Campaign, *, user, inviter) -> dict:
    """What campaigns/landing.html shows `user` (maybe anonymous) brought by `inviter` (maybe None); the
    dashboard's preview of a draft renders the same page for a visitor who is not signed in."""
    kind = registry.get(campaign.type)
    context = {
        "campaign": campaign,
        "kind": kind,
        "user": user,
        "inviter": inviter if inviter != user else None,
        "login_url": _login_url(request.get_full_path()),
        "cta_template": select_template(
            [f"campaigns/{campaign.type}/landing_cta.html", "campaigns/_landing_cta_default.html"]
        ).template.name,
        "lang_next": reverse("campaigns:landing", args=[campaign.pk]),
    }
    if user.is_authenticated:
        groups = services.member_groups_for(campaign, user)
        context.update({"my_groups": groups, "share_url": services.share_link(campaign, user) if groups else ""})
        if not groups:
            context.update(_entry(campaign, inviter))
    context.update(kind.landing_context(campaign, user))
    return context


@require_GET
def landing(request: HttpRequest, pk: int) -> HttpResponse:
    """The campaign's landing page: hook and an early call to act, proof, the call to act again, and for a
    signed-in member their own share link and poster. Anyone with the link may read it."""
    campaign = selectors.public_campaign(pk)
    inviter = remember_inviter(request, campaign)
    context = landing_context(request, campaign, user=request.user, inviter=inviter)
    return render(request, "campaigns/landing.html", context)


@require_GET
@member_login_required
def my_teams(request: HttpRequest) -> HttpResponse:
    """活动 (the member's tab): running campaigns they may join, then their own participations — my teams,
    bargains, help tasks and coupons (each type's own, `selectors.participations`), newest first, with
    their state and time left. Only the member's own; a constant number of queries."""
    user = request.user
    sections = selectors.participations(user, limit=MINE_LISTED)
    return render(
        request,
        "campaigns/group_buy/my_teams.html",
        {
            "running": list(selectors.running_campaigns_for_member(user)[:MINE_LISTED]),
            "sections": sections,
            "seats": next((section["items"] for section in sections if section["type"] == "group_buy"), []),
        },
    )


# --- Share QR and poster -----------------------------------------------------------------------------


def _share_target(request: HttpRequest, campaign: Campaign):
    """The team named by ?team= if the member is in it, else the campaign's landing page. Only members of
    the campaign's groups get a share link (a 404 for anyone else)."""
    team_pk = request.GET.get("team")
    if team_pk:
        if not (team_pk.isascii() and team_pk.isdigit() and len(team_pk) <= 18):
            raise Http404
        team = selectors.team_of_campaign(campaign, int(team_pk))
        if not team.seats.filter(
            member=request.user, state__in=(SeatState.PENDING, SeatState.SEATED, SeatState.WON)
        ).exists():
            raise Http404
        return team
    if not Membership.objects.filter(
        user=request.user, status=MembershipStatus.ACTIVE, group__shop_id=campaign.shop_id
    ).exists():
        raise Http404
    return None


def _inline(content: bytes, content_type: str, filename: str) -> HttpResponse:
    response = HttpResponse(content, content_type=content_type)
    response["Content-Disposition"] = f'inline; filename="{filename}"'
    return response


@require_GET
@member_login_required
@cache_control(private=True, max_age=3600)
def share_qr(request: HttpRequest, pk: int) -> HttpResponse:
    campaign = selectors.public_campaign(pk)
    target = _share_target(request, campaign)
    return _inline(
        qr.qr_png(services.share_link(campaign, request.user, target)), "image/png", f"campaign-{campaign.pk}.png"
    )


@require_GET
@member_login_required
@cache_control(private=True, max_age=300)
def share_poster(request: HttpRequest, pk: int) -> HttpResponse:
    """The member's share poster: the product, the prices and the mechanic (campaigns.posters) and their
    own QR code (groups.qr)."""
    campaign = selectors.public_campaign(pk)
    target = _share_target(request, campaign)
    png = posters.poster_png(
        inviter_name=request.user.public_name,
        url=services.share_link(campaign, request.user, target),
        expires_at=getattr(target, "expires_at", None) or campaign.ends_at,
        cover=campaign_posters.product_picture(campaign),
        **campaign_posters.poster_words(campaign, target),
    )
    return _inline(png, "image/png", f"campaign-poster-{campaign.pk}.png")
