"""Members' 换物 pages (mobile H5), mounted at /m/c/ in the namespace "campaigns" (urls.py): the market of my
groups, listing an item, an item's page (offer, offers received, report, share), a swap's page for its two
members (agree, decline, withdraw, confirm the hand-over, dispute), photos, and the public share page with
the group's invite QR code and the poster.

Thin views: the rules live in kind.py. A listing exists only for those who may see it (404 otherwise); a
swap only for its two members.
"""

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.cache import cache_control
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from campaigns import selectors
from campaigns.models import Campaign, CampaignType
from groups import posters, powers, qr
from groups import services as group_services
from groups.powers import GroupPower
from groups.space_views import serve_image
from shequn.decorators import member_login_required

from . import kind as swapping
from .forms import ListingForm, NoteForm, OfferForm, ReportForm
from .kind import SwapRefused
from .models import ListingState, SwapListing


def _swap_campaign(pk: int) -> Campaign:
    campaign = selectors.public_campaign(pk)
    if campaign.type != CampaignType.SWAP:
        raise Http404
    return campaign


def _form_errors(form, error: ValidationError) -> None:
    if hasattr(error, "error_dict"):
        for field, errors in error.message_dict.items():
            for message in errors:
                form.add_error(field if field in form.fields else None, message)
    else:
        for message in error.messages:
            form.add_error(None, message)


def _flash(request: HttpRequest, error: ValidationError) -> None:
    messages.error(request, "；".join(error.messages))


@require_GET
@member_login_required
def market(request: HttpRequest, pk: int) -> HttpResponse:
    """换物市场: the listed items of my groups (a constant number of queries), my items and my swaps."""
    campaign = _swap_campaign(pk)
    groups = swapping.member_groups(campaign, request.user)
    try:
        group_id = int(request.GET.get("group", "")) if request.GET.get("group") else None
    except ValueError:
        group_id = None
    return render(
        request,
        "campaigns/swap/market.html",
        {
            "campaign": campaign,
            "groups": groups,
            "group_id": group_id,
            "listings": swapping.browse(campaign, request.user, group_id=group_id) if groups else [],
            "mine": swapping.my_listings(campaign, request.user),
            "swaps": swapping.my_swaps(request.user, campaign=campaign),
            "banned": swapping.is_banned(campaign, request.user),
            "lang_next": request.path,
        },
    )


@require_http_methods(["GET", "POST"])
@member_login_required
def new_listing(request: HttpRequest, pk: int) -> HttpResponse:
    """发布: an item with photos, words, what is wanted or a price, and how it changes hands."""
    campaign = _swap_campaign(pk)
    groups = swapping.member_groups(campaign, request.user)
    if not groups:
        raise Http404
    form = ListingForm(request.POST or None, groups=groups)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            listing = swapping.create_listing(
                campaign=campaign,
                member=request.user,
                group=next(g for g in groups if g.pk == data["group"]),
                title=data["title"],
                description=data["description"],
                wanted=data["wanted"],
                price=data["price"],
                handover=data["handover"],
                photos=request.FILES.getlist("photos"),
            )
        except ValidationError as error:
            _form_errors(form, error)
        else:
            messages.success(request, _("已发布，群友可以来出价了。"))
            return redirect("campaigns:swap_listing", listing=listing.pk)
    return render(
        request,
        "campaigns/swap/new.html",
        {"campaign": campaign, "form": form, "max_photos": swapping.MAX_PHOTOS},
        status=400 if form.errors else 200,
    )


def _listing_context(request: HttpRequest, listing: SwapListing, *, offer_form=None, report_form=None) -> dict:
    user = request.user
    is_owner = listing.owner_id == user.pk
    can_offer = (
        not is_owner
        and listing.state == ListingState.LISTED
        and not listing.is_hidden
        and listing.campaign.state == "running"
    )
    items = swapping.offerable_items(listing.campaign, user) if can_offer else []
    return {
        "campaign": listing.campaign,
        "listing": listing,
        "photos": list(listing.photos.all()),
        "is_owner": is_owner,
        "can_offer": can_offer,
        "offer_form": offer_form or OfferForm(items=items),
        "report_form": report_form or ReportForm(),
        "offers": swapping.offers_on(listing) if is_owner else [],
        "my_offers": [] if is_owner else list(listing.swaps.filter(offerer=user).order_by("-created_at")),
        "can_hide": powers.has_power(user, listing.group, GroupPower.HIDE_POSTS),
        "share_url": settings.SITE_URL + _share_path(listing),
        "lang_next": request.path,
    }


def _share_path(listing: SwapListing) -> str:
    from django.urls import reverse

    return reverse("campaigns:swap_share", args=[listing.share_token])


@require_GET
@member_login_required
def listing_page(request: HttpRequest, listing: int) -> HttpResponse:
    item = swapping.listing_for_member(request.user, listing)
    return render(request, "campaigns/swap/listing.html", _listing_context(request, item))


@require_POST
@member_login_required
def offer(request: HttpRequest, listing: int) -> HttpResponse:
    """出价: an item of mine or a price; a refusal is shown on the item's page with what was typed kept."""
    item = swapping.listing_for_member(request.user, listing)
    items = swapping.offerable_items(item.campaign, request.user)
    form = OfferForm(request.POST, items=items)
    if form.is_valid():
        data = form.cleaned_data
        offered = next((i for i in items if i.pk == data["offered_listing"]), None)
        try:
            swap = swapping.make_offer(
                listing=item, member=request.user, offered_listing=offered, price=data["price"], message=data["message"]
            )
        except ValidationError as error:
            _form_errors(form, error)
        else:
            messages.success(request, _("已出价，等物主回应。"))
            return redirect("campaigns:swap_detail", swap=swap.pk)
    context = _listing_context(request, item, offer_form=form)
    return render(request, "campaigns/swap/listing.html", context, status=400)


@require_POST
@member_login_required
def withdraw_listing(request: HttpRequest, listing: int) -> HttpResponse:
    item = swapping.listing_for_member(request.user, listing)
    try:
        swapping.withdraw_listing(listing=item, member=request.user)
    except ValidationError as error:
        _flash(request, error)
    else:
        messages.success(request, _("已下架。"))
    return redirect("campaigns:swap_listing", listing=item.pk)


@require_POST
@member_login_required
def report_listing(request: HttpRequest, listing: int) -> HttpResponse:
    """举报 the item (and its owner); `?member=1` reports the owner as a member."""
    item = swapping.listing_for_member(request.user, listing)
    form = ReportForm(request.POST)
    if form.is_valid():
        try:
            if request.POST.get("about") == "member":
                swapping.report(
                    campaign=item.campaign, reporter=request.user, member=item.owner, reason=form.cleaned_data["reason"]
                )
            else:
                swapping.report(
                    campaign=item.campaign, reporter=request.user, listing=item, reason=form.cleaned_data["reason"]
                )
        except ValidationError as error:
            _form_errors(form, error)
        else:
            messages.success(request, _("已收到你的举报，运营会尽快处理。"))
            return redirect("campaigns:swap_listing", listing=item.pk)
    return render(request, "campaigns/swap/listing.html", _listing_context(request, item, report_form=form), status=400)


@require_POST
@member_login_required
def hide_listing(request: HttpRequest, listing: int, action: str) -> HttpResponse:
    """A group's 群主/管理员 hides an item of their group (or shows it again); 403 without the power."""
    item = swapping.listing_for_member(request.user, listing)
    swapping.set_hidden(listing=item, by=request.user, hidden=action == "hide")
    messages.success(request, _("已隐藏，群友将看不到这件物品。") if action == "hide" else _("已恢复显示。"))
    return redirect("campaigns:swap_listing", listing=item.pk)


@require_GET
@member_login_required
def swap_page(request: HttpRequest, swap: int) -> HttpResponse:
    """A swap for its two members: the items, the offer, every move, and what each may do now."""
    deal = swapping.swap_for_party(request.user, swap)
    side = deal.party(request.user)
    return render(
        request,
        "campaigns/swap/swap.html",
        {
            "campaign": deal.campaign,
            "swap": deal,
            "side": side,
            "moves": list(deal.moves.filter(of_swap=True).select_related("by").order_by("at", "pk")),
            "my_stamp": deal.owner_handed_at if side == "owner" else deal.offerer_handed_at,
            "note_form": NoteForm(),
            "lang_next": request.path,
        },
    )


ACTIONS = {
    "agree": (swapping.agree, _("已同意交换，记得约好交接。")),
    "decline": (swapping.decline, _("已拒绝这个出价。")),
    "withdraw": (swapping.withdraw, _("已撤回。")),
    "confirm": (swapping.confirm_handover, _("已确认交接。")),
}


@require_POST
@member_login_required
def swap_act(request: HttpRequest, swap: int, action: str) -> HttpResponse:
    """One move of a swap by one of its members: agree, decline, withdraw, confirm or dispute."""
    deal = swapping.swap_for_party(request.user, swap)
    try:
        if action == "dispute":
            swapping.dispute(swap=deal, member=request.user, note=request.POST.get("note", ""))
            done = _("已提交争议，运营会介入处理。")
        elif action in ACTIONS:
            act, done = ACTIONS[action]
            act(swap=deal, member=request.user)
        else:
            raise Http404
    except SwapRefused as refused:
        messages.error(request, refused.message_text)
    except ValidationError as error:
        _flash(request, error)
    else:
        messages.success(request, done)
    return redirect("campaigns:swap_detail", swap=deal.pk)


@require_GET
@member_login_required
@cache_control(private=True, max_age=3600)
def photo(request: HttpRequest, photo: int) -> FileResponse:
    return serve_image(swapping.photo_for_member(request.user, photo).image)


# --- Share page, invite QR code and poster ----------------------------------------------------------------


def _shared_listing(token: str) -> SwapListing:
    """The item behind a share link while it is listed and shown in a public campaign; a 404 otherwise."""
    listing = (
        SwapListing.objects.select_related("campaign", "group", "owner")
        .filter(
            share_token=token,
            state=ListingState.LISTED,
            hidden_at__isnull=True,
            campaign__type=CampaignType.SWAP,
            campaign__state__in=selectors.PUBLIC_STATES,
        )
        .first()
    )
    if listing is None:
        raise Http404
    return listing


def _invite_link(listing: SwapListing, user):
    """`user`'s own invite link to the item's group (the owner's for the share page), if they are in it."""
    try:
        return group_services.personal_link(user=user, group=listing.group)
    except ValidationError:
        return None


@require_GET
def share_page(request: HttpRequest, token: str) -> HttpResponse:
    """What a friend sees behind a shared item: the item in words, the group's name and its invite QR code.
    The photos stay with the group's members: joining the group shows them."""
    listing = _shared_listing(token)
    link = _invite_link(listing, listing.owner)
    return render(
        request,
        "campaigns/swap/share.html",
        {"listing": listing, "campaign": listing.campaign, "group": listing.group, "link": link},
    )


@require_GET
@cache_control(public=True, max_age=3600)
def share_qr(request: HttpRequest, token: str) -> HttpResponse:  # noqa: ARG001 - the view signature
    """The QR code of the owner's invite link to the item's group."""
    listing = _shared_listing(token)
    link = _invite_link(listing, listing.owner)
    if link is None:
        raise Http404
    return HttpResponse(qr.qr_png(link.public_url), content_type="image/png")


@require_GET
@member_login_required
@cache_control(private=True, max_age=300)
def poster(request: HttpRequest, listing: int) -> HttpResponse:
    """The item's poster for a member of its group to forward: the group's name, the item, and the member's
    own invite QR code to the group (a swap spreads the group)."""
    item = swapping.listing_for_member(request.user, listing)
    link = _invite_link(item, request.user)
    if link is None or item.state != ListingState.LISTED or item.is_hidden:
        raise Http404
    first = item.photos.first()
    offer_line = (
        _("想换：%(wanted)s") % {"wanted": item.wanted}
        if item.wanted
        else _("转让价 ¥%(price)s") % {"price": item.price}
    )
    png = posters.poster_png(
        group_name=item.group.name,
        inviter_name=request.user.public_name,
        url=link.public_url,
        expires_at=link.expires_at,
        cover=first.image if first else None,
        invite_words=_("在群里换：%(title)s") % {"title": item.title},
        call=_("长按识别二维码入群换物"),
        offer=offer_line,
    )
    response = HttpResponse(png, content_type="image/png")
    response["Content-Disposition"] = f'inline; filename="swap-{item.pk}.png"'
    return response
