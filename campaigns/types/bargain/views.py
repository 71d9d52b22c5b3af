"""Members' 砍 砍价 pages (mobile H5), mounted at /m/c/ in the namespace "campaigns" (urls.py):
start a bargain from the landing page, the bargain page (current price, the cuts with friends' names and
amounts, time left, share, buy), the "cut for me" page a friend opens from the share link (the same page:
sign in → cut), and buying at the current price.

Thin views: the rules live in kind.py. A bargain is visible to its starter and the friends
who cut it and to whoever opens the starter's share link; anyone else gets a 404.
"""

import uuid

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
from campaigns.models import BargainState, BargainTask, CampaignType
from orders.member_forms import CheckoutForm
from shequn.decorators import member_login_required

from ..assisted import views as assisted
from . import kind as bargaining
from .kind import BargainRefused


def _visible_bargain(request: HttpRequest, task_pk: int) -> tuple[BargainTask, object]:
    return assisted.visible_task(request, task_pk, load=bargaining.bargain_with_cuts, model=BargainTask)


def _bargain_context(request: HttpRequest, task: BargainTask, inviter, *, refusal: str = "") -> dict:
    user = request.user
    now = timezone.now()
    cuts = bargaining.recent_cuts(task)
    is_starter = user.is_authenticated and user.pk == task.starter_id
    my_cut = None if is_starter else bargaining.cut_of(task, user)
    problem = None if is_starter or my_cut else bargaining.cut_problem(task, user, now=now)
    live = task.state in (BargainState.OPEN, BargainState.FLOOR_REACHED)
    buy_problem = bargaining.buy_problem(task, now=now) if is_starter else None
    deadline = task.pay_deadline if task.state == BargainState.FLOOR_REACHED else task.expires_at
    return {
        "task": task,
        "campaign": task.campaign,
        "cuts": cuts,
        "is_starter": is_starter,
        "my_cut": my_cut,
        "inviter": inviter if inviter is not None and inviter.pk != user.pk else None,
        "problem_message": BargainRefused(problem).message_text if problem else "",
        "can_cut": problem is None and not is_starter and my_cut is None,
        "can_buy": is_starter and buy_problem is None,
        "buy_problem_message": BargainRefused(buy_problem).message_text if buy_problem else "",
        "refusal": refusal,
        "to_floor": task.current_price - task.floor_price,
        "progress": int((task.original_price - task.current_price) * 100 / (task.original_price - task.floor_price)),
        "seconds_left": max(int((deadline - now).total_seconds()), 0) if live and deadline else None,
        "deadline": deadline,
        "share_url": services.share_link(task.campaign, task.starter, task)
        if (is_starter or my_cut) and task.state == BargainState.OPEN
        else "",
        "lang_next": task.get_absolute_url(),
    }


@require_http_methods(["GET", "POST"])
def start(request: HttpRequest, pk: int) -> HttpResponse:
    """发起砍价 from the landing page (signed out: they sign in and it starts on the way back, see
    accounts.intents); a member with a live bargain is taken to it."""
    campaign = selectors.public_campaign(pk)
    if campaign.type != CampaignType.BARGAIN:
        raise Http404
    label = _("发起砍价「%(name)s」") % {"name": campaign.name}
    back = reverse("campaigns:landing", args=[campaign.pk])
    if (gated := intents.gate(request, action="bargain_start", target=campaign.pk, label=label, back=back)) is not None:
        return gated
    try:
        task = bargaining.start_bargain(campaign=campaign, member=request.user)
    except BargainRefused as refused:
        messages.error(request, refused.message_text)
        return redirect("campaigns:landing", pk=campaign.pk)
    return redirect(task.get_absolute_url())


@require_GET
def bargain_page(request: HttpRequest, task_pk: int) -> HttpResponse:
    """The bargain: current price, the cuts with friends' names and amounts, time left; share and buy for
    the starter; cut for a friend."""
    task, inviter = _visible_bargain(request, task_pk)
    return render(request, "campaigns/bargain/bargain.html", _bargain_context(request, task, inviter))


@require_http_methods(["GET", "POST"])
def cut(request: HttpRequest, task_pk: int) -> HttpResponse:
    """A friend taps 帮TA砍一刀 (signed out: they sign in and the cut is made on the way back)."""
    task, inviter = _visible_bargain(request, task_pk)
    label = _("帮 %(name)s 砍一刀") % {"name": task.starter.public_name}
    back = task.get_absolute_url()
    if (gated := intents.gate(request, action="cut", target=task.pk, label=label, back=back)) is not None:
        return gated
    try:
        made = bargaining.cut(task=task, cutter=request.user, request=request)
    except BargainRefused as refused:
        task, inviter = _visible_bargain(request, task_pk)
        return render(
            request,
            "campaigns/bargain/bargain.html",
            _bargain_context(request, task, inviter, refusal=refused.message_text),
        )
    messages.success(
        request, _("你帮 %(name)s 砍掉了 ¥%(amount)s！") % {"name": task.starter.public_name, "amount": made.amount}
    )
    return redirect(task.get_absolute_url())


@require_http_methods(["GET", "POST"])
@member_login_required
def buy(request: HttpRequest, task_pk: int) -> HttpResponse:
    """The starter buys at the current price (delivery as any order); the order is then paid as any order."""
    task, _inviter = _visible_bargain(request, task_pk)
    if request.user.pk != task.starter_id:
        raise Http404
    if task.order_id is not None and task.state in (BargainState.ORDERED, BargainState.PURCHASED):
        return redirect("orders:member_order", pk=task.order_id)
    problem = bargaining.buy_problem(task)
    if problem:
        messages.error(request, BargainRefused(problem).message_text)
        return redirect(task.get_absolute_url())
    line = checkout.CampaignLine(task.campaign, task.campaign.sku, task.current_price)
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
            order = bargaining.buy(
                task=task,
                member=request.user,
                delivery=form.delivery_request(),
                idempotency_key=key,
                choices=form.pricing_choices(),
            )
        except ValidationError as error:
            for message in error.messages:
                form.add_error(None, message)
        else:
            messages.success(request, _("已下单，请在付款时限内完成付款。"))
            return redirect("orders:member_order", pk=order.pk)
    return render(
        request,
        "campaigns/bargain/buy.html",
        {
            "task": task,
            "campaign": task.campaign,
            "form": form,
            "idempotency_key": key,
            **checkout.page(request, form=form, group=task.group, line=line),
        },
        status=400 if form.errors else 200,
    )


@require_GET
@member_login_required
@cache_control(private=True, max_age=3600)
def share_qr(request: HttpRequest, task_pk: int) -> HttpResponse:
    """The QR code of the bargain's share link, for the starter and the friends who cut it."""
    task, _inviter = _visible_bargain(request, task_pk)
    return assisted.share_qr(request, task, filename=f"bargain-{task.pk}.png")


@require_GET
@member_login_required
@cache_control(private=True, max_age=300)
def share_poster(request: HttpRequest, task_pk: int) -> HttpResponse:
    """The starter's share poster of their bargain (assisted.share_poster)."""
    task, _inviter = _visible_bargain(request, task_pk)
    return assisted.share_poster(request, task, filename=f"bargain-poster-{task.pk}.png")
