"""Members' 帮 助力 pages (mobile H5), mounted at /m/c/ in the namespace "campaigns" (urls.py):
start a task from the landing page, the task page (progress to K, who helped, time left, share), the
"help me" page a friend opens from the share link (the same page: sign in → help), and buying the reward.

Thin views: the rules live in kind.py. A task is visible to its starter and helpers and to
whoever opens the starter's share link; anyone else gets a 404.
"""

import uuid
from decimal import Decimal

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.cache import cache_control
from django.views.decorators.http import require_GET, require_http_methods

from accounts import intents
from campaigns import checkout, selectors, services
from campaigns.models import CampaignType, HelpTask, HelpTaskState
from orders.member_forms import CheckoutForm
from shequn.decorators import member_login_required

from ..assisted import views as assisted
from . import kind as helping
from .kind import HelpRefused


def _visible_task(request: HttpRequest, task_pk: int) -> tuple[HelpTask, object]:
    return assisted.visible_task(request, task_pk, load=helping.task_with_helps, model=HelpTask)


def _task_context(request: HttpRequest, task: HelpTask, inviter, *, refusal: str = "") -> dict:
    user = request.user
    now = timezone.now()
    helps = list(task.helps.all())
    is_starter = user.is_authenticated and user.pk == task.starter_id
    has_helped = task.acted(user, helps)
    problem = None if is_starter or has_helped else helping.help_problem(task, user, now=now)
    share_url = ""
    if (is_starter or has_helped) and task.is_open_at(now):
        share_url = services.share_link(task.campaign, task.starter, task)
    return {
        "task": task,
        "campaign": task.campaign,
        "helps": helps,
        "rules": helping.Rules(task.campaign),
        "is_starter": is_starter,
        "has_helped": has_helped,
        "inviter": inviter if inviter is not None and inviter.pk != user.pk else None,
        "problem_message": helping.refusal(problem, task).message_text if problem else "",
        "can_help": problem is None and not is_starter and not has_helped and task.is_open_at(now),
        "refusal": refusal,
        "seconds_left": max(int((task.expires_at - now).total_seconds()), 0),
        "share_url": share_url,
        "free_claimed": is_starter and helping.free_item_claimed(task),
        "lang_next": task.get_absolute_url(),
    }


@require_http_methods(["GET", "POST"])
def start(request: HttpRequest, pk: int) -> HttpResponse:
    """发起助力 from the landing page (POST; signed out, the tap is finished by the GET after sign-in, see
    accounts.intents); a member with an open task is taken to it."""
    campaign = selectors.public_campaign(pk)
    if campaign.type != CampaignType.HELP:
        raise Http404
    label = _("发起助力「%(name)s」") % {"name": campaign.name}
    back = reverse("campaigns:landing", args=[campaign.pk])
    if (gated := intents.gate(request, action="help_start", target=campaign.pk, label=label, back=back)) is not None:
        return gated
    try:
        task = helping.start_task(campaign=campaign, member=request.user)
    except HelpRefused as refused:
        messages.error(request, refused.message_text)
        return redirect("campaigns:landing", pk=campaign.pk)
    return redirect(task.get_absolute_url())


@require_GET
def task_page(request: HttpRequest, task_pk: int) -> HttpResponse:
    """The task: progress to K, who helped, time left; share for the starter; help for a friend."""
    task, inviter = _visible_task(request, task_pk)
    return render(request, "campaigns/help/task.html", _task_context(request, task, inviter))


@require_http_methods(["GET", "POST"])
def give(request: HttpRequest, task_pk: int) -> HttpResponse:
    """A friend taps 帮TA助力 (signed out: they sign in and the help is given on the way back)."""
    task, inviter = _visible_task(request, task_pk)
    label = _("帮 %(name)s 助力") % {"name": task.starter.public_name}
    back = task.get_absolute_url()
    if (gated := intents.gate(request, action="help", target=task.pk, label=label, back=back)) is not None:
        return gated
    try:
        given = helping.give_help(task=task, helper=request.user, request=request)
    except HelpRefused as refused:
        task, inviter = _visible_task(request, task_pk)
        return render(
            request, "campaigns/help/task.html", _task_context(request, task, inviter, refusal=refused.message_text)
        )
    if given.number >= task.helps_needed:
        messages.success(request, _("助力成功！你是最后一位，TA 的助力已完成。"))
    else:
        messages.success(request, _("助力成功！还差 %(n)d 人。") % {"n": task.helps_needed - given.number})
    return redirect(task.get_absolute_url())


@require_http_methods(["GET", "POST"])
@member_login_required
def claim(request: HttpRequest, task_pk: int) -> HttpResponse:
    """The starter of a completed task buys the reward at the reward price, or claims its free item (a
    zero-price order, or with no campaign SKU the owed item alone), saying where it goes."""
    task, _inviter = _visible_task(request, task_pk)
    if request.user.pk != task.starter_id:
        raise Http404
    if task.state != HelpTaskState.COMPLETED:
        messages.error(request, HelpRefused("not_completed").message_text)
        return redirect(task.get_absolute_url())
    if task.reward.get("kind") == helping.RewardKind.COUPON:
        return _coupon_reward(request, task)
    free = task.reward.get("kind") == helping.RewardKind.FREE_ITEM
    # A free item costs nothing: nothing to price. The reward price is on the campaign's pricing step.
    line = checkout.CampaignLine(
        task.campaign, None if free else task.campaign.sku, Decimal(task.reward.get("price") or 0)
    )
    form = CheckoutForm(
        request.POST or None,
        shop=task.campaign.shop,
        options=checkout.options(member=request.user, group=task.group, line=line),
    )
    key = (request.POST.get("idempotency_key", "") if request.method == "POST" else "").strip()
    if not 0 < len(key) <= 64:
        key = uuid.uuid4().hex
    # "requote": the member changed a discount choice: show the new price, place nothing.
    if request.method == "POST" and form.is_valid() and "requote" not in request.POST:
        try:
            order = helping.claim_reward(
                task=task,
                member=request.user,
                delivery=form.delivery_request(),
                idempotency_key=key,
                choices=form.pricing_choices(),
            )
        except HelpRefused as refused:
            form.add_error(None, refused.message_text)
        except ValidationError as error:
            for message in error.messages:
                form.add_error(None, message)
        else:
            if free:
                messages.success(request, _("赠品已领取，商家会按你选择的方式交付。"))
                return redirect("orders:member_order", pk=order.pk) if order else redirect(task.get_absolute_url())
            messages.success(request, _("已下单，请在付款时限内完成付款。"))
            return redirect("orders:member_order", pk=order.pk)
    return render(
        request,
        "campaigns/help/claim.html",
        {
            "task": task,
            "campaign": task.campaign,
            "form": form,
            "idempotency_key": key,
            "price": "0.00" if free else task.reward.get("price"),
            "free": free,
            **checkout.page(request, form=form, group=task.group, line=line),
        },
        status=400 if form.errors else 200,
    )


def _coupon_reward(request: HttpRequest, task: HelpTask) -> HttpResponse:
    """A coupon reward was granted at completion; a POST here asks again (once per task: a template sold out
    at that moment may have stock again). Either way the member goes to their coupons."""
    if request.method == "POST" and helping.grant_coupon_reward(task) is None:
        messages.error(request, _("优惠券暂时发放失败（可能已发完），请稍后再试或联系商家。"))
        return redirect(task.get_absolute_url())
    messages.success(request, HelpRefused("coupon").message_text)
    return redirect("campaigns:coupon_centre")


@require_GET
@member_login_required
@cache_control(private=True, max_age=3600)
def share_qr(request: HttpRequest, task_pk: int) -> HttpResponse:
    """The QR code of the task's share link, for the starter and the helpers."""
    task, _inviter = _visible_task(request, task_pk)
    return assisted.share_qr(request, task, filename=f"help-{task.pk}.png")


@require_GET
@member_login_required
@cache_control(private=True, max_age=300)
def share_poster(request: HttpRequest, task_pk: int) -> HttpResponse:
    """The starter's share poster of their help task (assisted.share_poster)."""
    task, _inviter = _visible_task(request, task_pk)
    return assisted.share_poster(request, task, filename=f"help-poster-{task.pk}.png")
