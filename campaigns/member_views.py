"""Members' campaign pages (mobile H5), mounted at /m/c/ under the namespace "campaigns": the landing page
(hook, proof, the call to act again, the member's share poster), and for 拼团 the team page and the team
checkout. Views parse input, call a service, render; the services decide."""

import logging
import uuid
from urllib.parse import urlencode

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.template.loader import select_template
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.cache import cache_control
from django.views.decorators.http import require_GET, require_http_methods

from accounts import intents
from groups import posters, qr
from groups.member_views import member_login_required
from groups.models import Membership, MembershipStatus
from groups.services import personal_link
from orders.lifecycle import ALLOWED_TRANSITIONS
from orders.models import Delivery, OrderState, PaymentState

from . import posters as campaign_posters
from . import registry, selectors, services
from .forms import TeamCheckoutForm
from .models import Campaign, CampaignState, CampaignType, SeatRole, SeatState, Team, TeamState
from .types import group_buy

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
        stored.pop(str(campaign.pk), None)
        stored[str(campaign.pk)] = inviter.pk
        while len(stored) > SESSION_INVITERS_MAX:
            stored.pop(next(iter(stored)))
        request.session[SESSION_INVITERS_KEY] = stored
        return inviter
    inviter_id = stored.get(str(campaign.pk))
    if inviter_id is None:
        return None
    from accounts.models import User

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


@require_GET
def landing(request: HttpRequest, pk: int) -> HttpResponse:
    """The campaign's landing page: hook and an early call to act, proof, the call to act again, and for a
    signed-in member their own share link and poster. Anyone with the link may read it."""
    campaign = selectors.public_campaign(pk)
    inviter = remember_inviter(request, campaign)
    kind = registry.get(campaign.type)
    user = request.user
    context = {
        "campaign": campaign,
        "kind": kind,
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
    if campaign.type == CampaignType.GROUP_BUY:
        context.update(_group_buy_landing(campaign, user))
    return render(request, "campaigns/landing.html", context)


def _group_buy_landing(campaign: Campaign, user) -> dict:
    rules = group_buy.Rules(campaign)
    return {
        "rules": rules,
        "leader_price": rules.price_for(SeatRole.LEADER),
        "joinable_teams": selectors.joinable_teams(campaign, exclude_member=user),
        "my_live_seat": selectors.live_seat_in_campaign(campaign, user),
    }


# --- Team page and checkout ------------------------------------------------------------------------


def _team_context(request: HttpRequest, campaign: Campaign, team: Team) -> dict:
    user = request.user
    my_seat = selectors.seat_of_member(team, user)
    in_team = my_seat is not None and my_seat.state in (SeatState.PENDING, SeatState.SEATED, SeatState.WON)
    rules = group_buy.Rules(campaign)
    can_pay = bool(
        my_seat
        and my_seat.state == SeatState.PENDING
        and my_seat.order.state == OrderState.PENDING_PAYMENT
        and my_seat.order.pay_deadline > timezone.now()
    )
    shown = [seat for seat in team.shown_seats if seat.state != SeatState.REFUNDED]
    now = timezone.now()
    return {
        "campaign": campaign,
        "team": team,
        "rules": rules,
        "seats": shown,
        "empty_seats": range(max(team.size - len(shown), 0)) if team.state == TeamState.OPEN else range(0),
        "my_seat": my_seat,
        "in_team": in_team,
        "can_pay": can_pay,
        # Back from the cashier, the payment's result may still be on its way (the provider's notification).
        "awaiting_result": can_pay and my_seat.order.payments.filter(state=PaymentState.CREATED).exists(),
        "can_cancel": bool(
            my_seat
            and my_seat.state == SeatState.PENDING
            and OrderState.CANCELLED in ALLOWED_TRANSITIONS[my_seat.order.state]
        ),
        "join_problem": group_buy.join_problem(team, user) if not in_team else None,
        "share_url": services.share_link(campaign, user, team) if in_team and team.state == TeamState.OPEN else "",
        "qr_url": f"{reverse('campaigns:share_qr', args=[campaign.pk])}?team={team.pk}",
        "poster_url": f"{reverse('campaigns:share_poster', args=[campaign.pk])}?team={team.pk}",
        "seconds_left": max(int((team.expires_at - now).total_seconds()), 0) if team.expires_at else None,
        "joiner_price": rules.price_for(SeatRole.JOINER),
        "lang_next": team.get_absolute_url(),
    }


@require_GET
def team_page(request: HttpRequest, pk: int, team_pk: int) -> HttpResponse:
    """A team: who is in it (avatars), seats left, the countdown, share (for members of the team) or join."""
    campaign = selectors.public_campaign(pk)
    if campaign.type != CampaignType.GROUP_BUY:
        raise Http404
    team = selectors.team_of_campaign(campaign, team_pk)
    inviter = remember_inviter(request, campaign)
    context = _team_context(request, campaign, team)
    context["inviter"] = inviter if inviter != request.user else None
    if request.user.is_authenticated and not context["in_team"]:
        groups = services.member_groups_for(campaign, request.user)
        context["my_groups"] = groups
        if not groups:
            context.update(_entry(campaign, inviter))
    return render(request, "campaigns/group_buy/team.html", context)


def _checkout(request: HttpRequest, campaign: Campaign, *, team: Team | None) -> HttpResponse:
    """Open a team (team=None) or join one: GET renders the confirmation with a fresh idempotency key,
    POST places the order through the group-buy service (the same key never makes two orders)."""
    user = request.user
    groups = services.member_groups_for(campaign, user)
    inviter = _inviter_for_act(request, campaign)
    back = team.get_absolute_url() if team else reverse("campaigns:landing", args=[campaign.pk])
    if not groups:
        messages.error(request, _("请先加入活动所在的群，再参加拼团。"))
        return redirect(back)
    rules = group_buy.Rules(campaign)
    price = rules.price_for(SeatRole.JOINER if team else SeatRole.LEADER)
    form = TeamCheckoutForm(
        request.POST or None,
        shop=campaign.shop,
        groups=groups,
        initial=None if request.method == "POST" else _last_delivery(user),
    )
    key = (request.POST.get("idempotency_key", "") if request.method == "POST" else "").strip()
    if not 0 < len(key) <= 64:
        key = uuid.uuid4().hex
    context = {
        "campaign": campaign,
        "team": team,
        "form": form,
        "price": price,
        "rules": rules,
        "idempotency_key": key,
        "back": back,
    }
    if request.method == "POST" and form.is_valid():
        call = dict(
            member=user,
            group=form.cleaned_data["group"],
            delivery=form.delivery_request(),
            idempotency_key=key,
            inviter=inviter,
            request=request,
        )
        try:
            seat = group_buy.join_team(team=team, **call) if team else group_buy.open_team(campaign=campaign, **call)
        except ValidationError as error:
            for message in error.messages:
                form.add_error(None, message)
        else:
            messages.success(request, _("已下单，请在付款时限内完成付款。"))
            return redirect(seat.team.get_absolute_url())
    return render(request, "campaigns/group_buy/checkout.html", context, status=400 if form.errors else 200)


def _last_delivery(user) -> dict:
    """Last time's shipping details (as the order checkout does), else the member's name and phone."""
    from orders import selectors as order_selectors

    last = (
        order_selectors.orders_for_member(user)
        .prefetch_related(None)
        .filter(delivery=Delivery.SHIPPING)
        .values("recipient_name", "recipient_phone", "address")
        .first()
    )
    if last:
        return {"delivery": Delivery.SHIPPING, **last}
    return {
        "delivery": Delivery.SHIPPING,
        "recipient_name": user.display_name,
        "recipient_phone": (user.phone or "").removeprefix("+86"),
    }


@require_http_methods(["GET", "POST"])
def open_team(request: HttpRequest, pk: int) -> HttpResponse:
    campaign = selectors.public_campaign(pk)
    if campaign.type != CampaignType.GROUP_BUY:
        raise Http404
    if not request.user.is_authenticated:
        label = _("在「%(name)s」开团") % {"name": campaign.name}
        return intents.sign_in_first(
            request, action="open_team", target=campaign.pk, label=label, next_url=request.path
        )
    intents.take(request, "open_team", campaign.pk)
    if campaign.state != CampaignState.RUNNING:
        messages.error(request, _("活动未在进行中。"))
        return redirect("campaigns:landing", pk=campaign.pk)
    live = selectors.live_seat_in_campaign(campaign, request.user)
    if live is not None:
        messages.info(request, _("你在本活动已有一个进行中的团。"))
        return redirect(live.team.get_absolute_url())
    return _checkout(request, campaign, team=None)


@require_http_methods(["GET", "POST"])
def join_team(request: HttpRequest, pk: int, team_pk: int) -> HttpResponse:
    campaign = selectors.public_campaign(pk)
    if campaign.type != CampaignType.GROUP_BUY:
        raise Http404
    team = selectors.team_of_campaign(campaign, team_pk)
    if not request.user.is_authenticated:
        label = _("参加 %(name)s 的团") % {"name": team.leader.public_name}
        return intents.sign_in_first(request, action="join_team", target=team.pk, label=label, next_url=request.path)
    intents.take(request, "join_team", team.pk)
    problem = group_buy.join_problem(team, request.user)
    if problem:
        messages.error(request, problem)
        return redirect(team.get_absolute_url())
    return _checkout(request, campaign, team=team)


@require_GET
@member_login_required
def my_teams(request: HttpRequest) -> HttpResponse:
    """活动 (the member's tab): running campaigns they may join, then their own teams, bargains and help
    tasks, newest first (a constant number of queries)."""
    user = request.user
    return render(
        request,
        "campaigns/group_buy/my_teams.html",
        {
            "running": list(selectors.running_campaigns_for_member(user)[:MINE_LISTED]),
            "seats": list(selectors.seats_for_member(user)[:MINE_LISTED]),
            "bargains": list(selectors.bargains_for_member(user)[:MINE_LISTED]),
            "help_tasks": list(selectors.help_tasks_for_member(user)[:MINE_LISTED]),
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
