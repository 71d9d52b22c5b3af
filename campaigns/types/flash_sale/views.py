"""秒杀 pages (mobile H5), included by campaigns/member_urls.py at /m/c/ (namespace "campaigns"): the order
confirmation of a flash sale (GET: the form with a fresh idempotency key and the pricing step's choices; POST:
one unit at the flash price with the member's coupon or points, then the order's page to pay). The sold-out
answer comes first, from the flag alone: no query of the campaign's or the SKU's row. Views parse input, call
the flash-sale service (kind.py), render."""

import uuid

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from accounts import intents
from campaigns import checkout, selectors, services
from campaigns.models import Campaign, CampaignType
from orders import selectors as order_selectors
from orders import soldout
from orders.models import Delivery

from . import kind as flash_sale
from .forms import FlashCheckoutForm


def _key(request: HttpRequest) -> str:
    key = (request.POST.get("idempotency_key", "") if request.method == "POST" else "").strip()
    return key if 0 < len(key) <= 64 else ""


def _sold_out_answer(request: HttpRequest, pk: int) -> HttpResponse | None:
    """The short sold-out page (409) when the campaign is flagged sold out, before the campaign is read. A
    submit whose key already placed its order goes on to find that order."""
    name = flash_sale.is_flagged_sold_out(pk)
    if name is None:
        return None
    key = _key(request)
    if key and request.user.is_authenticated:
        if order_selectors.orders_for_member(request.user).filter(idempotency_key=key).exists():
            return None
    context = {"name": name, "landing": reverse("campaigns:landing", args=[pk])}
    return render(request, "campaigns/flash_sale/sold_out.html", context, status=409)


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
def buy(request: HttpRequest, pk: int) -> HttpResponse:
    """立即抢购: sign in first if need be, then the confirmation; a POST places the order and goes to it."""
    if sold_out := _sold_out_answer(request, pk):
        return sold_out
    campaign = selectors.public_campaign(pk)
    if campaign.type != CampaignType.FLASH_SALE:
        raise Http404
    landing = reverse("campaigns:landing", args=[campaign.pk])
    if not request.user.is_authenticated:
        label = _("抢购「%(name)s」") % {"name": campaign.name}
        return intents.sign_in_first(
            request, action="flash_buy", target=campaign.pk, label=label, next_url=request.path
        )
    intents.take(request, "flash_buy", campaign.pk)
    if not flash_sale.opens_now(campaign):
        messages.error(request, _("秒杀未在进行中。"))
        return redirect(landing)
    groups = services.member_groups_for(campaign, request.user)
    if not groups:
        messages.error(request, _("请先加入活动所在的群，再参加秒杀。"))
        return redirect(landing)
    return _checkout(request, campaign, groups, landing)


def _checkout(request: HttpRequest, campaign: Campaign, groups: list, landing: str) -> HttpResponse:
    """The confirmation on the pricing step (campaigns.checkout): the member's coupons that may stack with a
    campaign price (the best preselected) and points, a requote button, and the money with every adjustment.
    The flash-sale service places the order with the member's choices; the pricing plug-ins check them."""
    user = request.user
    rules = flash_sale.Rules(campaign)
    line = checkout.CampaignLine(campaign, campaign.sku, rules.flash_price)
    group = checkout.chosen_group(request.POST if request.method == "POST" else None, groups)
    form = FlashCheckoutForm(
        request.POST or None,
        shop=campaign.shop,
        groups=groups,
        initial=None if request.method == "POST" else _last_delivery(user),
        options=checkout.options(member=user, group=group, line=line),
    )
    context = {
        "campaign": campaign,
        "form": form,
        "rules": rules,
        "idempotency_key": _key(request) or uuid.uuid4().hex,
        "back": landing,
    }
    # "requote": the member changed a discount choice: show the new price, place nothing.
    if request.method == "POST" and form.is_valid() and "requote" not in request.POST:
        soldout.note_submitted(context["idempotency_key"])  # a resubmit must find its order (orders.early)
        try:
            order = flash_sale.buy(
                campaign=campaign,
                member=user,
                group=form.cleaned_data["group"],
                delivery=form.delivery_request(),
                idempotency_key=context["idempotency_key"],
                note=form.cleaned_data.get("note", ""),
                choices=form.pricing_choices(),
            )
        except ValidationError as error:
            if getattr(error, "code", None) == "sold_out" and (answer := _sold_out_answer(request, campaign.pk)):
                return answer
            return _refused(request, form, context, error, group=group, line=line)
        messages.success(request, _("抢到了！请在付款时限内完成付款。"))
        return redirect("orders:member_order", pk=order.pk)
    context.update(checkout.page(request, form=form, group=group, line=line))
    return render(request, "campaigns/flash_sale/buy.html", context, status=400 if form.errors else 200)


def _refused(request: HttpRequest, form, context: dict, error: ValidationError, *, group, line) -> HttpResponse:
    for message in error.messages:
        form.add_error(None, message)
    context.update(checkout.page(request, form=form, group=group, line=line))
    return render(request, "campaigns/flash_sale/buy.html", context, status=400)
