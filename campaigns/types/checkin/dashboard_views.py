"""Operators' moderation of the check-in feed: hide a check-in from its group's feed, or show it again.
Scoped to the operator's shop (another shop's check-in is a 404); recorded in the audit log (kind.py)."""

from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from campaigns.models import CheckIn
from shops.models import OperatorRole
from shops.tenancy import operator_required

from . import kind as checkin


@require_POST
@operator_required(OperatorRole.OPERATOR)
def set_hidden(request, checkin_pk: int, action: str):
    check_in = get_object_or_404(
        CheckIn.objects.select_related("campaign", "member"), pk=checkin_pk, campaign__shop=request.shop
    )
    hidden = action == "hide"
    checkin.set_hidden(check_in=check_in, by=request.user, hidden=hidden)
    messages.success(request, _("已隐藏这条打卡。") if hidden else _("已恢复显示这条打卡。"))
    return redirect("dashboard:campaign_detail", pk=check_in.campaign_id)
