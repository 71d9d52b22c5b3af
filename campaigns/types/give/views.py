"""Members' 送 赠送 pages (mobile H5), mounted at /m/c/ in the namespace "campaigns" (urls.py): buying a gift
and starting a treat from the landing page, the gift card a friend opens from its link (sign in → claim with
a pickup point or an address), the member's gifts, and the gift's QR code and poster.

Thin views: the rules live in kind.py. A gift's link is its secret: while the gift can be claimed anyone
holding the link sees the card; once claimed or closed only its giver and its recipient do (others: 404).
"""

import uuid

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.cache import cache_control
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from campaigns import posters as campaign_posters
from campaigns import selectors, services
from campaigns.member_views import _entry, _login_url
from campaigns.models import CampaignType
from groups import posters, qr
from shequn.decorators import member_login_required

from . import kind as giving
from .forms import ClaimForm
from .kind import GiftRefused
from .models import Gift, GiftMode, GiftState


def _visible_gift(request: HttpRequest, token: str) -> Gift:
    """The gift of the link, if its campaign is public and the visitor may see it; else a 404."""
    try:
        gift = giving.gift_by_token(token)
    except Gift.DoesNotExist:
        raise Http404 from None
    if gift.campaign.state not in selectors.PUBLIC_STATES:
        raise Http404
    if gift.state != GiftState.OPEN and not gift.involves(request.user):
        raise Http404
    return gift


def _give_campaign(pk: int):
    campaign = selectors.public_campaign(pk)
    if campaign.type != CampaignType.GIVE:
        raise Http404
    return campaign


def _gift_url(gift: Gift) -> str:
    return settings.SITE_URL + gift.get_absolute_url()


def _gift_context(request: HttpRequest, gift: Gift, form=None) -> dict:
    user = request.user
    now = timezone.now()
    problem = giving.claim_problem(gift, user, now=now)
    is_giver = user.is_authenticated and user.pk == gift.giver_id
    can_claim = problem is None and (gift.state == GiftState.RETURNED or gift.is_open_at(now))
    entry = {}
    if can_claim and user.is_authenticated and gift.mode == GiftMode.TREAT and not is_giver:
        # A treat's free order is placed in one of the campaign's groups: a friend outside them joins first,
        # through the host's own invite link (so the join is credited to the host too).
        if not services.member_groups_for(gift.campaign, user):
            can_claim, entry = False, {"join_first": True, **_entry(gift.campaign, gift.giver)}
    return {
        **entry,
        "gift": gift,
        "campaign": gift.campaign,
        "is_giver": is_giver,
        "is_recipient": user.is_authenticated and user.pk == gift.recipient_id,
        "can_claim": can_claim,
        "problem_message": str(GiftRefused.MESSAGES[problem]) if problem and not is_giver else "",
        "form": form if form is not None else (ClaimForm(shop=gift.campaign.shop) if can_claim else None),
        "login_url": _login_url(gift.get_absolute_url()),
        "share_url": _gift_url(gift) if is_giver and gift.is_open_at(now) else "",
        "seconds_left": max(int((gift.expires_at - now).total_seconds()), 0),
        "lang_next": gift.get_absolute_url(),
    }


@require_POST
def buy(request: HttpRequest, pk: int) -> HttpResponse:
    """买一份送好友 from the landing page: places the gift order and sends the member to pay it (signed out:
    sign in first, then tap again on the landing page)."""
    campaign = _give_campaign(pk)
    back = reverse("campaigns:landing", args=[campaign.pk])
    if not request.user.is_authenticated:
        return redirect(_login_url(back))
    key = request.POST.get("idempotency_key", "").strip()
    if not 0 < len(key) <= 64:
        key = uuid.uuid4().hex
    try:
        order = giving.buy_gift(
            campaign=campaign, member=request.user, idempotency_key=key, message=request.POST.get("message", "")
        )
    except GiftRefused as refused:
        messages.error(request, refused.message_text)
        return redirect(back)
    except ValidationError as error:
        messages.error(request, "；".join(error.messages))
        return redirect(back)
    messages.success(request, _("已下单，付款后即可把礼物转发给好友。"))
    return redirect("orders:member_order", pk=order.pk)


@require_http_methods(["GET", "POST"])
@member_login_required
def treat(request: HttpRequest, pk: int) -> HttpResponse:
    """请好友喝一杯: the member says where their own free item goes, then gets the treat's link to forward."""
    campaign = _give_campaign(pk)
    form = ClaimForm(request.POST or None, shop=campaign.shop)
    if request.method == "POST" and form.is_valid():
        try:
            gift = giving.start_treat(campaign=campaign, member=request.user, delivery=form.delivery_request())
        except GiftRefused as refused:
            form.add_error(None, refused.message_text)
        except ValidationError as error:
            for message in error.messages:
                form.add_error(None, message)
        else:
            messages.success(request, _("请客链接已生成，转发给好友吧。"))
            return redirect(gift.get_absolute_url())
    return render(
        request,
        "campaigns/give/treat.html",
        {"campaign": campaign, "form": form},
        status=400 if form.errors else 200,
    )


@require_GET
def gift_page(request: HttpRequest, token: str) -> HttpResponse:
    """The gift card: for the giver its state and link to forward; for a friend the claim (sign in first)."""
    gift = _visible_gift(request, token)
    return render(request, "campaigns/give/gift.html", _gift_context(request, gift))


@require_POST
@member_login_required
def claim(request: HttpRequest, token: str) -> HttpResponse:
    """A friend (or the giver, for a gift returned to them) claims with a pickup point or an address."""
    gift = _visible_gift(request, token)
    form = ClaimForm(request.POST, shop=gift.campaign.shop)
    if form.is_valid():
        try:
            giving.claim_gift(gift=gift, member=request.user, delivery=form.delivery_request())
        except GiftRefused as refused:
            form.add_error(None, refused.message_text)
        except ValidationError as error:
            for message in error.messages:
                form.add_error(None, message)
        else:
            messages.success(request, _("领取成功！商家会按你选择的方式交付。"))
            return redirect(gift.get_absolute_url())
    gift = _visible_gift(request, token)
    return render(request, "campaigns/give/gift.html", _gift_context(request, gift, form=form), status=400)


@require_GET
@member_login_required
def my_gifts(request: HttpRequest) -> HttpResponse:
    """The member's gifts, given and received (the latest 50)."""
    return render(request, "campaigns/give/my_gifts.html", {"gifts": giving.gifts_of_member(request.user)})


def _giver_gift(request: HttpRequest, token: str) -> Gift:
    gift = _visible_gift(request, token)
    if request.user.pk != gift.giver_id:
        raise Http404
    return gift


@require_GET
@member_login_required
@cache_control(private=True, max_age=3600)
def gift_qr(request: HttpRequest, token: str) -> HttpResponse:
    """The QR code of the gift's link, for its giver."""
    gift = _giver_gift(request, token)
    response = HttpResponse(qr.qr_png(_gift_url(gift)), content_type="image/png")
    response["Content-Disposition"] = f'inline; filename="gift-{gift.pk}.png"'
    return response


@require_GET
@member_login_required
@cache_control(private=True, max_age=300)
def gift_poster(request: HttpRequest, token: str) -> HttpResponse:
    """The giver's gift card as a poster: the product's picture, who it is from, the time to claim and the
    gift's link."""
    gift = _giver_gift(request, token)
    words = campaign_posters.poster_words(gift.campaign, gift)
    words["invite_words"] = _("送你一份礼物")
    words["call"] = _("长按识别二维码领取")
    png = posters.poster_png(
        inviter_name=gift.giver.public_name,
        url=_gift_url(gift),
        expires_at=gift.expires_at,
        cover=campaign_posters.product_picture(gift.campaign),
        **words,
    )
    response = HttpResponse(png, content_type="image/png")
    response["Content-Disposition"] = f'inline; filename="gift-poster-{gift.pk}.png"'
    return response
