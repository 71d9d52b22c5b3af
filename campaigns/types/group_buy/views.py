"""拼团 pages (mobile H5), included by campaigns/member_urls.py at /m/c/ (namespace "campaigns"): the team
page and the team checkout (open a team, join one). Views parse input, call the group-buy service, render."""

import uuid

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from accounts import intents
from campaigns import checkout, selectors, services
from campaigns.member_views import _entry, _inviter_for_act, remember_inviter
from campaigns.models import Campaign, CampaignState, CampaignType, SeatRole, SeatState, Team, TeamState
from orders import selectors as order_selectors
from orders.lifecycle import ALLOWED_TRANSITIONS
from orders.models import Delivery, OrderState, PaymentState

from . import kind as group_buy
from .forms import TeamCheckoutForm

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
    line = checkout.CampaignLine(campaign, campaign.sku, price)
    group = checkout.chosen_group(request.POST if request.method == "POST" else None, groups)
    form = TeamCheckoutForm(
        request.POST or None,
        shop=campaign.shop,
        groups=groups,
        initial=None if request.method == "POST" else _last_delivery(user),
        options=checkout.options(member=user, group=group, line=line),
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
    # "requote": the member changed a discount choice: show the new price, place nothing.
    if request.method == "POST" and form.is_valid() and "requote" not in request.POST:
        call = dict(
            member=user,
            group=form.cleaned_data["group"],
            delivery=form.delivery_request(),
            idempotency_key=key,
            inviter=inviter,
            request=request,
            choices=form.pricing_choices(),
        )
        try:
            seat = group_buy.join_team(team=team, **call) if team else group_buy.open_team(campaign=campaign, **call)
        except ValidationError as error:
            for message in error.messages:
                form.add_error(None, message)
        else:
            messages.success(request, _("已下单，请在付款时限内完成付款。"))
            return redirect(seat.team.get_absolute_url())
    context.update(checkout.page(request, form=form, group=group, line=line))
    return render(request, "campaigns/group_buy/checkout.html", context, status=400 if form.errors else 200)


def _last_delivery(user) -> dict:
    """Last time's shipping details (as the order checkout does), else the member's name and phone."""
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
