"""Operators' moderation of a swap campaign: hide or show an item, act on a report (warn the member under the
group's 群规, remove them from the campaign's swaps, mark handled or dismissed) and close a disputed swap.
Scoped to the operator's shop (another shop's row is a 404); each act is in the audit log (kind.py)."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from groups.space_views import serve_image
from shops.models import OperatorRole
from shops.tenancy import operator_required

from . import kind as swapping
from .models import ReportState, Swap, SwapListing, SwapPhoto, SwapReport, SwapState


def _back(campaign_id: int):
    return redirect("dashboard:campaign_detail", pk=campaign_id)


@require_POST
@operator_required(OperatorRole.OPERATOR)
def set_hidden(request, listing_pk: int, action: str):
    listing = get_object_or_404(
        SwapListing.objects.select_related("campaign", "group"), pk=listing_pk, campaign__shop=request.shop
    )
    swapping.set_hidden(listing=listing, by=request.user, hidden=action == "hide")
    messages.success(request, _("已隐藏这件物品。") if action == "hide" else _("已恢复显示这件物品。"))
    return _back(listing.campaign_id)


@require_GET
@operator_required(OperatorRole.VIEWER)
def photo(request, photo_pk: int):
    found = get_object_or_404(SwapPhoto, pk=photo_pk, listing__campaign__shop=request.shop)
    return serve_image(found.image)


@require_POST
@operator_required(OperatorRole.OPERATOR)
def report_act(request, report_pk: int, action: str):
    """handle / dismiss a report, or warn / ban its member (then the report is handled)."""
    report = get_object_or_404(
        SwapReport.objects.select_related("campaign", "group", "member"),
        pk=report_pk,
        campaign__shop=request.shop,
        state=ReportState.OPEN,
    )
    if action not in ("handle", "dismiss", "warn", "ban"):
        raise Http404
    try:
        if action == "warn":
            swapping.warn_member(report=report, by=request.user, rule=request.POST.get("rule") or report.reason)
        elif action == "ban":
            reason = request.POST.get("reason") or report.reason
            swapping.ban(campaign=report.campaign, member=report.member, by=request.user, reason=reason)
        swapping.handle_report(report=report, by=request.user, dismiss=action == "dismiss")
    except ValidationError as error:
        messages.error(request, "；".join(error.messages))
    else:
        messages.success(request, _("已处理这条举报。"))
    return _back(report.campaign_id)


@require_POST
@operator_required(OperatorRole.OPERATOR)
def resolve(request, swap_pk: int, outcome: str):
    swap = get_object_or_404(
        Swap.objects.select_related("campaign", "listing"),
        pk=swap_pk,
        campaign__shop=request.shop,
        state=SwapState.DISPUTED,
    )
    if outcome not in ("done", "cancel"):
        raise Http404
    swapping.resolve_dispute(swap=swap, by=request.user, done=outcome == "done", note=request.POST.get("note", ""))
    messages.success(request, _("已处理这笔争议。"))
    return _back(swap.campaign_id)
