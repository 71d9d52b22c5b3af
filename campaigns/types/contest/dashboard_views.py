"""Operators' acts on a contest: settle an ended contest now, and review a held or failed prize (release,
withhold, retry). Scoped to the operator's shop (another shop's contest or prize is a 404); the rules and the
audit records are in kind.py."""

from django.contrib import messages
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from campaigns import selectors
from campaigns.models import CampaignType, ContestPrize
from shops.models import OperatorRole
from shops.tenancy import operator_required

from . import kind as contest


@require_POST
@operator_required(OperatorRole.OPERATOR)
def settle(request, pk: int):
    campaign = selectors.campaign_for_shop(request.shop, pk)
    if campaign.type != CampaignType.CONTEST:
        raise Http404
    if contest.settle_now(campaign=campaign, by=request.user):
        messages.success(request, _("已结算：最终排名已保存，奖品正在发放。"))
    elif contest.is_settled(campaign):
        messages.info(request, _("这场比赛已经结算过了。"))
    else:
        messages.error(request, _("比赛结束后才能结算。"))
    return redirect("dashboard:campaign_detail", pk=campaign.pk)


@require_POST
@operator_required(OperatorRole.OPERATOR)
def review_prize(request, prize_pk: int):
    prize = get_object_or_404(
        ContestPrize.objects.select_related("campaign", "member"), pk=prize_pk, campaign__shop=request.shop
    )
    action = request.POST.get("action", "")
    try:
        prize = contest.review_prize(prize=prize, by=request.user, action=action, reason=request.POST.get("reason", ""))
    except contest.ContestRefused as refused:
        messages.error(request, str(refused))
    else:
        messages.success(
            request, _("已处理：%(prize)s（%(state)s）") % {"prize": prize.label, "state": prize.get_state_display()}
        )
    return redirect("dashboard:campaign_detail", pk=prize.campaign_id)
