"""Operator dashboard pages of the group space: a group's posts (hidden ones too), announcements, answers,
hiding, the WeChat group QR code and service contact, and first-reply times against the shop's target.

Every view takes its shop from `operator_required` and reads through the shop, so another shop's group or
post is a 404. Viewers read; operators write (each write in the shop's audit log); the owner sets the target.
"""

from datetime import timedelta

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from accounts.models import User
from shops.models import OperatorRole
from shops.tenancy import operator_required

from . import selectors as group_selectors
from . import space
from . import space_selectors as selectors
from .space_forms import AnnouncementForm, CommentForm, ContactForm, ReplyTimesFilterForm, SpaceSettingsForm
from .space_models import PostKind, space_settings_for
from .space_views import add_service_errors, serve_image

PAGE_SIZE = 50
VIEWER, OPERATOR, OWNER = OperatorRole.VIEWER, OperatorRole.OPERATOR, OperatorRole.OWNER


def _actor(request) -> space.Actor:
    return space.Actor(request.user, as_operator=True)


def _contact_initial(contact) -> dict:
    if contact is None:
        return {}
    expires = contact.wechat_qr_expires_at
    return {
        "service_contact": contact.service_contact,
        "wechat_qr_expires_at": timezone.localtime(expires) if expires else None,
    }


def _render_space(request, group, *, announcement_form=None, contact_form=None, status=200):
    kind = request.GET.get("kind", "")
    kind = kind if kind in PostKind.values else ""
    hidden = {"yes": True, "no": False}.get(request.GET.get("hidden", ""))
    page = Paginator(selectors.all_posts(group, kind=kind or None, hidden=hidden), PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    for post in page:
        post.wait_text = selectors.wait_text(post.first_reply_at - post.created_at) if post.first_reply_at else ""
    contact = selectors.contact_of(group)
    conf = space_settings_for(group.shop_id)
    now = timezone.now()
    target = timedelta(minutes=conf.reply_target_minutes)
    figures = selectors.reply_times_of_group(group, since=now - timedelta(days=30), target=target)
    return render(
        request,
        "groups/space/dashboard_space.html",
        {
            "group": group,
            "page": page,
            "kind": kind,
            "hidden": request.GET.get("hidden", ""),
            "kinds": PostKind.choices,
            "contact": contact,
            "qr_shown": contact is not None and contact.qr_shown(now),
            "qr_expiring": contact is not None
            and contact.qr_shown(now)
            and contact.wechat_qr_expires_at <= now + timedelta(days=conf.qr_reminder_days),
            "conf": conf,
            "figures": figures,
            "figures_average": selectors.wait_text(figures["average"]),
            "can_write": request.operator.can(OPERATOR),
            "announcement_form": announcement_form or AnnouncementForm(),
            "contact_form": contact_form or ContactForm(initial=_contact_initial(contact)),
            "highlighted_roles": selectors.HIGHLIGHTED_ROLES,
        },
        status=status,
    )


@operator_required(VIEWER)
@require_GET
def group_space(request, pk: int):
    return _render_space(request, group_selectors.group_for_shop(request.shop, pk))


@operator_required(OPERATOR)
@require_POST
def group_space_announce(request, pk: int):
    group = group_selectors.group_for_shop(request.shop, pk)
    form = AnnouncementForm(request.POST, request.FILES)
    if form.is_valid():
        try:
            space.create_post(
                group=group,
                actor=_actor(request),
                kind=PostKind.ANNOUNCEMENT,
                body=form.cleaned_data["body"],
                photos=form.cleaned_data["photos"],
            )
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(request, _("公告已发布。"))
            return redirect("dashboard:group_space", pk=group.pk)
    return _render_space(request, group, announcement_form=form, status=400)


@operator_required(OPERATOR)
@require_POST
def group_space_contact(request, pk: int):
    group = group_selectors.group_for_shop(request.shop, pk)
    form = ContactForm(request.POST, request.FILES)
    if form.is_valid():
        data = form.cleaned_data
        try:
            space.set_contact(
                group=group,
                by=request.user,
                service_contact=data["service_contact"],
                wechat_qr=data["wechat_qr"] or None,
                wechat_qr_expires_at=data["wechat_qr_expires_at"],
                remove_qr=data["remove_qr"],
            )
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(request, _("已保存微信群二维码与客服联系方式。"))
            return redirect("dashboard:group_space", pk=group.pk)
    return _render_space(request, group, contact_form=form, status=400)


@operator_required(VIEWER)
@require_GET
def group_space_qr(request, pk: int):
    group = group_selectors.group_for_shop(request.shop, pk)
    contact = selectors.contact_of(group)
    if contact is None or not contact.wechat_qr:
        return redirect("dashboard:group_space", pk=group.pk)
    return serve_image(contact.wechat_qr)


def _render_post(request, post, *, form=None, status=200):
    return render(
        request,
        "groups/space/dashboard_post.html",
        {
            "group": post.group,
            "post": post,
            "comments": list(selectors.comments_of(post, include_hidden=True)),
            "form": form or CommentForm(),
            "wait_text": selectors.wait_text(post.first_reply_at - post.created_at) if post.first_reply_at else "",
            "can_write": request.operator.can(OPERATOR),
            "highlighted_roles": selectors.HIGHLIGHTED_ROLES,
        },
        status=status,
    )


@operator_required(VIEWER)
@require_GET
def space_post(request, pk: int):
    return _render_post(request, selectors.post_for_shop(request.shop, pk))


@operator_required(OPERATOR)
@require_POST
def space_post_reply(request, pk: int):
    post = selectors.post_for_shop(request.shop, pk)
    form = CommentForm(request.POST, request.FILES)
    if form.is_valid():
        try:
            space.add_comment(
                post=post, actor=_actor(request), body=form.cleaned_data["body"], photos=form.cleaned_data["photos"]
            )
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(request, _("已回复。"))
            return redirect("dashboard:space_post", pk=post.pk)
    return _render_post(request, post, form=form, status=400)


def _post_action(request, pk: int, action, done: str):
    post = selectors.post_for_shop(request.shop, pk)
    try:
        action(post=post, actor=_actor(request))
    except ValidationError as error:
        messages.error(request, "；".join(error.messages))
    else:
        messages.success(request, done)
    return redirect("dashboard:space_post", pk=post.pk)


@operator_required(OPERATOR)
@require_POST
def space_post_answered(request, pk: int):
    return _post_action(request, pk, space.mark_answered, _("已标记为已解决。"))


@operator_required(OPERATOR)
@require_POST
def space_post_hide(request, pk: int):
    return _post_action(request, pk, space.hide_post, _("已隐藏，成员将看不到这条内容。"))


@operator_required(OPERATOR)
@require_POST
def space_post_restore(request, pk: int):
    return _post_action(request, pk, space.restore_post, _("已恢复，成员可以再次看到这条内容。"))


def _comment_action(request, pk: int, action, done: str):
    comment = selectors.comment_for_shop(request.shop, pk)
    action(comment=comment, actor=_actor(request))
    messages.success(request, done)
    return redirect("dashboard:space_post", pk=comment.post_id)


@operator_required(OPERATOR)
@require_POST
def space_comment_hide(request, pk: int):
    return _comment_action(request, pk, space.hide_comment, _("已隐藏这条回复，成员将看不到它。"))


@operator_required(OPERATOR)
@require_POST
def space_comment_restore(request, pk: int):
    return _comment_action(request, pk, space.restore_comment, _("已恢复这条回复。"))


@operator_required(VIEWER)
@require_GET
def space_photo(request, pk: int):
    return serve_image(selectors.photo_for_shop(request.shop, pk).image)


# --- First-reply times -----------------------------------------------------------------------------


def _render_reply_times(request, *, settings_form=None, status=200):
    filters = ReplyTimesFilterForm(request.GET or {"days": 30})
    days = filters.cleaned_data["days"] if filters.is_valid() else 30
    conf = space_settings_for(request.shop.pk)
    target = timedelta(minutes=conf.reply_target_minutes)
    since = timezone.now() - timedelta(days=days)
    groups = Paginator(selectors.reply_times_by_group(request.shop, since=since, target=target), PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    responders = Paginator(
        selectors.reply_times_by_responder(request.shop, since=since, target=target), PAGE_SIZE
    ).get_page(request.GET.get("responders_page"))
    for row in groups:
        row.update(
            within_percent=selectors.percent(row["within"], row["asked"]),
            average_text=selectors.wait_text(row["average"]),
            slowest_text=selectors.wait_text(row["slowest"]),
        )
    people = User.objects.in_bulk([row["first_responder_id"] for row in responders])
    for row in responders:
        row.update(
            name=people[row["first_responder_id"]].public_name,
            within_percent=selectors.percent(row["within"], row["replies"]),
            average_text=selectors.wait_text(row["average"]),
        )
    can_set = request.operator.can(OWNER)
    return render(
        request,
        "groups/space/reply_times.html",
        {
            "filters": filters,
            "days": days,
            "conf": conf,
            "groups": groups,
            "responders": responders,
            "can_set": can_set,
            "settings_form": settings_form
            or SpaceSettingsForm(
                initial={"reply_target_minutes": conf.reply_target_minutes, "qr_reminder_days": conf.qr_reminder_days}
            ),
        },
        status=status,
    )


@operator_required(VIEWER)
@require_GET
def reply_times(request):
    return _render_reply_times(request)


@operator_required(OWNER)
@require_POST
def space_settings(request):
    form = SpaceSettingsForm(request.POST)
    if form.is_valid():
        try:
            space.update_space_settings(shop_id=request.shop.pk, by=request.user, **form.cleaned_data)
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(request, _("群空间设置已保存。"))
            return redirect("dashboard:space_reply_times")
    return _render_reply_times(request, settings_form=form, status=400)
