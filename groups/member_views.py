"""Members' mobile (H5) pages: invite landing, joining, my groups, my invite link, its QR code and poster.

Thin views: the rules live in groups.services, reads go through groups.selectors. A member only
ever sees their own memberships, groups and links; anything else is a 404.
"""

import logging

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.cache import cache_control
from django.views.decorators.http import require_GET, require_http_methods

from accounts import intents
from shequn.client import request_fingerprint
from shequn.decorators import member_login_required

from . import entry, posters, qr, selectors, services
from .models import InviteLink, Membership, MembershipStatus, Threshold
from .powers import powers_of
from .services import JoinRefused

logger = logging.getLogger(__name__)

# Per session, per link code: "anon" once opened signed out, "in" once seen signed in.
SESSION_VISITS_KEY = "shequn_link_visits"
SESSION_VISITS_MAX = 50
ANSWER_MAX_LENGTH = 2000


# --- Invite landing and joining -------------------------------------------------------------------


def _count_visit(request: HttpRequest, link: InviteLink) -> None:
    """One open per session per link; one sign-in when someone who opened it signed out returns signed in."""
    visits = request.session.get(SESSION_VISITS_KEY, {})
    seen = visits.get(link.code)
    signed_in = request.user.is_authenticated
    if seen is None:
        services.record_link_open(
            link,
            user=request.user,
            visitor_key=request.session.session_key or "",
            client=services.Client(*request_fingerprint(request)),
        )
    elif seen == "anon" and signed_in:
        services.record_link_sign_in(link, user=request.user, client=services.Client(*request_fingerprint(request)))
    else:
        return
    visits.pop(link.code, None)
    visits[link.code] = "in" if signed_in else "anon"
    while len(visits) > SESSION_VISITS_MAX:  # oldest first: dicts keep insertion order
        visits.pop(next(iter(visits)))
    request.session[SESSION_VISITS_KEY] = visits


def _membership_for_link(user, link: InviteLink) -> Membership | None:
    """The member's current or pending membership in the link's group (or any group of its series)."""
    qs = selectors.memberships_for_member(user)
    qs = qs.filter(group=link.group_id) if link.group_id else qs.filter(group__series=link.series_id)
    return qs.first()


def _landing_context(request: HttpRequest, link: InviteLink, *, refusal: str = "", answer: str = "") -> dict:
    target = link.target
    membership = _membership_for_link(request.user, link) if request.user.is_authenticated else None
    problem = services.link_problem(link)
    return {
        "link": link,
        "target": target,
        "group": link.group,
        "series": link.series,
        "shop": link.shop,
        "inviter_name": link.inviter.public_name,
        "membership": membership,
        "problem": problem,
        "problem_message": JoinRefused.MESSAGES[problem] if problem else "",
        "refusal": refusal,
        "answer": answer,
        "asks_answer": target.threshold in (Threshold.APPROVAL, Threshold.SUBMISSION),
        "answer_required": target.threshold == Threshold.SUBMISSION,
        "answer_max_length": ANSWER_MAX_LENGTH,
        "lang_next": link.get_absolute_url(),
    }


def _invalid_link(request: HttpRequest, refused: JoinRefused) -> HttpResponse:
    return render(request, "groups/member/link_invalid.html", {"message": refused.message}, status=404)


@require_GET
def landing(request: HttpRequest, code: str) -> HttpResponse:
    """What a person sees behind an invite link or QR code, signed in or not."""
    try:
        link = services.find_link(code)
    except JoinRefused as refused:
        return _invalid_link(request, refused)
    _count_visit(request, link)
    return render(request, "groups/member/landing.html", _landing_context(request, link))


def _join_label(link: InviteLink) -> str:
    target = link.target
    if target.threshold == Threshold.PAID:
        return _("支付入群费并加入「%(name)s」") % {"name": target.name}
    if target.threshold in (Threshold.APPROVAL, Threshold.SUBMISSION):
        return _("申请加入「%(name)s」") % {"name": target.name}
    return _("加入「%(name)s」") % {"name": target.name}


@require_http_methods(["GET", "POST"])
def join(request: HttpRequest, code: str) -> HttpResponse:
    """立即加入 (POST). Signed out, the tap (with any answer) is remembered and the member signs in, then
    comes back here by GET, which finishes the join once (accounts.intents); any other GET goes back to
    the landing page."""
    answer = request.POST.get("answer", "")[:ANSWER_MAX_LENGTH]
    if not request.user.is_authenticated:
        if request.method != "POST":
            return redirect("member:landing", code=code)
        try:
            label = _join_label(services.find_link(code))
        except JoinRefused:
            return redirect("member:landing", code=code)
        return intents.sign_in_first(
            request,
            action="join",
            target=code,
            label=label,
            next_url=reverse("member:join", args=[code]),
            answer=answer,
        )
    if request.method == "GET":
        intent = intents.take(request, "join", code)
        if intent is None:
            return redirect("member:landing", code=code)
        answer = intent.get("answer", "")
    try:
        link = services.find_link(code)
    except JoinRefused:
        link = None  # join_via_link answers it
    if link is not None and request.method == "GET":
        _count_visit(request, link)  # back from signing in: the link's sign-in is counted here
    if link is not None and link.target.threshold == Threshold.PAID:
        return _pay_to_join(request, link)
    try:
        membership = services.join_via_link(
            user=request.user, code=code, answer=answer, client=services.Client(*request_fingerprint(request))
        )
    except JoinRefused as refused:
        if refused.reason == "invalid":
            return _invalid_link(request, refused)
        link = services.find_link(code)
        context = _landing_context(request, link, refusal=refused.message, answer=answer)
        return render(request, "groups/member/landing.html", context)
    if membership.status == MembershipStatus.ACTIVE:
        messages.success(request, _("欢迎加入「%(name)s」！") % {"name": membership.group.name})
        return redirect("member:group", pk=membership.group_id)
    return render(
        request,
        "groups/member/pending.html",
        {
            "membership": membership,
            "group": membership.group,
            "lang_next": reverse("member:my_groups"),
        },
    )


def _pay_to_join(request: HttpRequest, link: InviteLink) -> HttpResponse:
    """Paid entry: the entry fee is charged through the shop's payment providers (groups.entry, answered
    by orders); the member is in once the payment lands, or refunded if the group filled meanwhile."""
    try:
        group, link = services.paid_entry_target(user=request.user, code=link.code)
        return redirect(entry.checkout_url(user=request.user, group=group, link=link))
    except JoinRefused as refused:
        if refused.reason == "already_in":
            return redirect("member:landing", code=link.code)
        context = _landing_context(request, link, refusal=refused.message)
    except ValidationError as error:
        context = _landing_context(request, link, refusal="；".join(error.messages))
    return render(request, "groups/member/landing.html", context)


# --- My groups ----------------------------------------------------------------------------------


@require_GET
@member_login_required
def my_groups(request: HttpRequest) -> HttpResponse:
    memberships = list(selectors.memberships_for_member(request.user))
    return render(
        request,
        "groups/member/my_groups.html",
        {
            "active": [m for m in memberships if m.status == MembershipStatus.ACTIVE],
            "pending": [m for m in memberships if m.status == MembershipStatus.PENDING],
        },
    )


@require_GET
@member_login_required
def group_page(request: HttpRequest, pk: int) -> HttpResponse:
    membership = selectors.my_membership_in_group(request.user, pk)
    group = membership.group
    active = membership.status == MembershipStatus.ACTIVE
    return render(
        request,
        "groups/member/group.html",
        {
            "group": group,
            "membership": membership,
            # Running campaigns (shequn.hooks.group_offers): one tap from the group to the offer.
            "offers": selectors.offers_for_member(group, request.user) if active else [],
            # The 群主/管理员's powers here (groups.powers): their management pages are linked from the group.
            "powers": powers_of(request.user, group, membership=membership),
        },
    )


@require_http_methods(["GET", "POST"])
@member_login_required
def leave(request: HttpRequest, pk: int) -> HttpResponse:
    """GET asks for confirmation; POST leaves (or withdraws a pending request)."""
    membership = selectors.my_membership_in_group(request.user, pk)
    group = membership.group
    if request.method == "GET":
        return render(request, "groups/member/leave_confirm.html", {"group": group, "membership": membership})
    try:
        services.leave(membership=membership)
    except ValidationError as error:
        for message in error.messages:
            messages.error(request, message)
        return redirect("member:group", pk=group.pk)
    messages.success(request, _("你已退出「%(name)s」。") % {"name": group.name})
    return redirect("member:my_groups")


@require_GET
@member_login_required
def my_invite(request: HttpRequest, pk: int) -> HttpResponse:
    """我的邀请链接: the member's own link for this group, its QR code, poster and what it brought."""
    membership = selectors.my_membership_in_group(request.user, pk)
    group = membership.group
    link = None
    try:
        link = services.personal_link(user=request.user, group=group)
    except ValidationError as error:
        for message in error.messages:
            messages.error(request, message)
    problem = services.link_problem(link) if link else None
    return render(
        request,
        "groups/member/invite.html",
        {
            "group": group,
            "membership": membership,
            "link": link,
            "problem_message": JoinRefused.MESSAGES[problem] if problem else "",
        },
    )


# --- QR code and poster of one's own link -------------------------------------------------------


def _own_link(request: HttpRequest, code: str) -> InviteLink:
    """The link behind `code` if the signed-in user is its inviter; a 404 for anyone else."""
    try:
        link = services.find_link(code)
    except JoinRefused:
        raise Http404 from None
    if link.inviter_id != request.user.pk:
        raise Http404
    return link


def _inline(content: bytes, content_type: str, filename: str) -> HttpResponse:
    response = HttpResponse(content, content_type=content_type)
    response["Content-Disposition"] = f'inline; filename="{filename}"'
    return response


@require_GET
@member_login_required
@cache_control(private=True, max_age=3600)
def invite_qr(request: HttpRequest, code: str) -> HttpResponse:
    link = _own_link(request, code)
    return _inline(qr.qr_png(link.public_url), "image/png", f"shequn-{link.code}.png")


@require_GET
@member_login_required
@cache_control(private=True, max_age=3600)
def invite_qr_svg(request: HttpRequest, code: str) -> HttpResponse:
    link = _own_link(request, code)
    return _inline(qr.qr_svg(link.public_url), "image/svg+xml", f"shequn-{link.code}.svg")


@require_GET
@member_login_required
@cache_control(private=True, max_age=300)
def invite_poster(request: HttpRequest, code: str) -> HttpResponse:
    link = _own_link(request, code)
    return _inline(_poster(link), "image/png", f"shequn-poster-{link.code}.png")


def _poster(link: InviteLink) -> bytes:
    text = {
        "group_name": link.target_name,
        "inviter_name": link.inviter.public_name,
        "url": link.public_url,
        "expires_at": link.expires_at,
    }
    return posters.poster_png(cover=link.group.cover if link.group_id else None, **text)
