"""Members' 券 pages (mobile H5), mounted at /m/c/ in the namespace "campaigns" (urls.py): the coupon centre
(领券中心: the templates a member may claim, and their own coupons), and the claim itself, from the centre
or from a template's landing page (a share link, a QR code, a poster).

Thin views: the rules live in kind.py. A member sees only their own coupons.
"""

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from accounts import intents
from campaigns import selectors
from campaigns.models import CampaignType, CouponChannel
from shequn.decorators import member_login_required

from . import kind as coupons
from .kind import CouponRefused

MINE_LISTED = 50


@require_GET
@member_login_required
def centre(request: HttpRequest) -> HttpResponse:
    """领券中心: the coupon templates the member may claim now, then their own coupons (a constant number of
    queries)."""
    mine = list(coupons.coupons_of_member(request.user)[:MINE_LISTED])
    for coupon in mine:
        coupon.face = coupons.face_words(coupon.terms)
    return render(
        request,
        "campaigns/coupon/centre.html",
        {
            "templates": coupons.centre_templates(request.user),
            "mine": mine,
            "lang_next": reverse("campaigns:coupon_centre"),
        },
    )


@require_http_methods(["GET", "POST"])
def claim(request: HttpRequest, pk: int) -> HttpResponse:
    """领券 (POST; signed out, the tap is finished by the GET after sign-in, see accounts.intents). From the
    centre the member goes back there; from a landing page, back to it."""
    campaign = selectors.public_campaign(pk)
    if campaign.type != CampaignType.COUPON:
        raise Http404
    from_centre = request.POST.get("from") == "centre"
    back = reverse("campaigns:coupon_centre") if from_centre else reverse("campaigns:landing", args=[campaign.pk])
    label = _("领取优惠券「%(name)s」") % {"name": campaign.name}
    landing = reverse("campaigns:landing", args=[campaign.pk])
    if (
        gated := intents.gate(request, action="coupon_claim", target=campaign.pk, label=label, back=landing)
    ) is not None:
        return gated
    channel = CouponChannel.CENTRE if from_centre else CouponChannel.LINK
    try:
        coupons.claim_coupon(campaign=campaign, member=request.user, channel=channel)
    except CouponRefused as refused:
        messages.error(request, refused.message_text)
        return redirect(back)
    messages.success(request, _("领取成功，下单时会自动为你选择最优惠的券。"))
    return redirect(back)
