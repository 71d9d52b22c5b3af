"""Operator dashboard pages for groups, members, invite links and series.

Every view takes its shop from `operator_required` and reads through `groups.selectors`, so an
object of another shop is a 404. Writes parse a form, call a service and redirect with a message.
"""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db import transaction
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from shops.models import OperatorRole
from shops.tenancy import operator_required

from . import posters, qr, selectors, services
from .forms import (
    GroupFilterForm,
    GroupForm,
    LinkForm,
    MemberActionForm,
    MemberFilterForm,
    SeriesForm,
    TransitionForm,
)
from .lifecycle import allowed_next_states
from .models import Channel, GroupState, MemberRole, MembershipStatus, Tag

OWNER_CANDIDATES = 200  # the owner picker lists the first active members (a new group has a few)
PAGE_SIZE = 50
VIEWER, OPERATOR = OperatorRole.VIEWER, OperatorRole.OPERATOR


# --- Helpers --------------------------------------------------------------------------------------


def _add_service_errors(form, error: ValidationError) -> None:
    """Put a service's refusal on the form: dict errors on their fields, the rest on the form."""
    if hasattr(error, "error_dict"):
        for field, errors in error.error_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    else:
        form.add_error(None, error.messages)


def _error_text(error: ValidationError) -> str:
    return "；".join(error.messages)


def _form_error_text(form) -> str:
    parts = []
    for field, errors in form.errors.items():
        label = form.fields[field].label if field in form.fields else ""
        parts.append(f"{label}：{'；'.join(errors)}" if label else "；".join(errors))
    return "；".join(parts)


def _tags_with_new(shop, form) -> list[Tag]:
    """The chosen tags plus the ones typed by name, created for the shop when new.

    Called inside the caller's transaction, so a refused save creates no tags.
    """
    tags = list(form.cleaned_data["tags"])
    for name in form.cleaned_data["new_tags"]:
        tag, _created = Tag.objects.get_or_create(shop=shop, name=name)  # (shop, name) is unique
        if tag not in tags:
            tags.append(tag)
    return tags


def _safe_next(request, fallback: str) -> str:
    target = request.POST.get("next") or ""
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return fallback


def _can_write(request) -> bool:
    return request.operator.can(OPERATOR)


def _link_options(form: LinkForm) -> services.LinkOptions:
    data = form.cleaned_data
    return services.LinkOptions(
        channel=data["channel"], label=data["label"], expires_at=data["expires_at"], max_uses=data["max_uses"]
    )


# Short words for why a link admits nobody right now (codes from services.link_problem).
LINK_STATUS = {
    "revoked": gettext_lazy("已撤销"),
    "expired": gettext_lazy("已过期"),
    "exhausted": gettext_lazy("已用完"),
    "full": gettext_lazy("群已满"),
    "not_open": gettext_lazy("群未开放"),
    "archived": gettext_lazy("群已归档"),
}


def _with_status(links, group=None):
    """Mark each link of a page with its status; the group is shared so no query per link."""
    for link in links:
        if group is not None:
            link.group = group
        problem = services.link_problem(link)
        link.status_text = LINK_STATUS.get(problem, "") if problem else ""
    return links


def _download(content: bytes, content_type: str, filename: str) -> HttpResponse:
    response = HttpResponse(content, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


# --- Groups ---------------------------------------------------------------------------------------


@operator_required(VIEWER)
def group_list(request):
    filter_form = GroupFilterForm(request.GET or None, shop=request.shop)
    groups = selectors.groups_for_shop(request.shop, **filter_form.filters())
    page = Paginator(groups, PAGE_SIZE).get_page(request.GET.get("page"))
    for group in page:
        group.net_7d = group.joins_7d - group.leaves_7d
    return render(
        request,
        "groups/dashboard/group_list.html",
        {
            "filter_form": filter_form,
            "page": page,
            "can_write": _can_write(request),
        },
    )


@operator_required(OPERATOR)
def group_create(request):
    form = GroupForm(request.POST or None, request.FILES or None, shop=request.shop)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            with transaction.atomic():
                group = services.create_group(
                    shop=request.shop,
                    name=data["name"],
                    by=request.user,
                    tags=_tags_with_new(request.shop, form),
                    cover=data["cover"],
                    **form.settings_values(),
                )
        except ValidationError as error:
            _add_service_errors(form, error)
        else:
            messages.success(request, _("已创建群「%(name)s」。") % {"name": group.name})
            return redirect("dashboard:group_detail", pk=group.pk)
    return render(request, "groups/dashboard/group_form.html", {"form": form, "group": None})


@operator_required(OPERATOR)
def group_edit(request, pk: int):
    group = selectors.group_for_shop(request.shop, pk)
    initial = {name: getattr(group, name) for name in GroupForm.SETTINGS_FIELDS}
    initial.update(name=group.name, tags=list(group.tags.all()))
    form = GroupForm(
        request.POST or None,
        request.FILES or None,
        shop=request.shop,
        initial=initial,
        active_member_count=group.active_member_count,
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            with transaction.atomic():
                group = services.update_group(
                    group=group,
                    by=request.user,
                    name=data["name"],
                    tags=_tags_with_new(request.shop, form),
                    cover=data["cover"] or None,
                    **form.settings_values(),
                )
        except ValidationError as error:
            _add_service_errors(form, error)
        else:
            messages.success(request, _("已保存群「%(name)s」。") % {"name": group.name})
            return redirect("dashboard:group_detail", pk=group.pk)
    return render(request, "groups/dashboard/group_form.html", {"form": form, "group": group})


def _render_group_detail(request, group, *, link_form: LinkForm | None = None, status: int = 200):
    member_filter = MemberFilterForm(request.GET or None)
    member_status = member_filter.cleaned_data["status"] if member_filter.is_valid() else ""
    members = Paginator(selectors.members_of_group(group, status=member_status or None), PAGE_SIZE)
    pending = Paginator(selectors.members_of_group(group, status=MembershipStatus.PENDING), PAGE_SIZE).get_page(1)
    links = Paginator(selectors.links_of_group(group), PAGE_SIZE).get_page(request.GET.get("links_page"))
    _with_status(links, group)
    return render(
        request,
        "groups/dashboard/group_detail.html",
        {
            "group": group,
            "detail_url": reverse("dashboard:group_detail", args=[group.pk]),
            "next_states": [GroupState(s) for s in allowed_next_states(group.state)],
            "member_filter": member_filter,
            "members": members.get_page(request.GET.get("page")),
            "pending": pending,
            "links": links,
            "link_form": link_form or LinkForm(),
            "preparing_link_message": services.PREPARING_LINK_MESSAGE,
            "owner_candidates": list(
                selectors.members_of_group(group, status=MembershipStatus.ACTIVE)[:OWNER_CANDIDATES]
            )
            if group.owner_id is None
            else [],
            "transitions": group.transitions.select_related("by")[:30],
            "shop_tags": list(selectors.tags_for_shop(request.shop)),
            "roles": MemberRole.choices,
            "can_write": _can_write(request),
            "ST": MembershipStatus,
        },
        status=status,
    )


@operator_required(VIEWER)
def group_detail(request, pk: int):
    return _render_group_detail(request, selectors.group_for_shop(request.shop, pk))


@operator_required(OPERATOR)
@require_POST
def group_transition(request, pk: int):
    group = selectors.group_for_shop(request.shop, pk)
    form = TransitionForm(request.POST)
    if not form.is_valid():
        messages.error(request, _form_error_text(form))
        return redirect("dashboard:group_detail", pk=group.pk)
    to_state = form.cleaned_data["to_state"]
    try:
        services.move_group(group=group, to_state=to_state, by=request.user, reason=form.cleaned_data["reason"])
    except ValidationError as error:
        messages.error(request, _error_text(error))
    else:
        messages.success(request, _("群状态已变为「%(state)s」。") % {"state": GroupState(to_state).label})
    return redirect("dashboard:group_detail", pk=group.pk)


@operator_required(OPERATOR)
@require_POST
def my_link(request, pk: int):
    group = selectors.group_for_shop(request.shop, pk)
    link = services.personal_link(user=request.user, group=group, as_operator=True)
    messages.success(request, _("你的邀请链接：%(url)s") % {"url": link.public_url})
    return redirect("dashboard:group_detail", pk=group.pk)


# --- Members --------------------------------------------------------------------------------------


def _member_action_call(action: str, membership, form: MemberActionForm, by):
    data = form.cleaned_data
    if action == "approve":
        return services.approve(membership=membership, by=by), _("已通过入群申请。")
    if action == "reject":
        return services.reject(membership=membership, by=by, reason=data["reason"]), _("已拒绝入群申请。")
    if action == "remove":
        return services.remove(membership=membership, by=by, reason=data["reason"]), _("已将成员移出群。")
    if action == "ban":
        return services.ban(membership=membership, by=by, reason=data["reason"]), _("已封禁该成员。")
    if action == "unban":
        return services.unban(membership=membership, by=by), _("已解除封禁。")
    if action == "set_role":
        if not data["role"]:
            raise ValidationError(_("请选择角色。"))
        return services.set_role(membership=membership, by=by, role=data["role"]), _("已修改成员角色。")
    services.set_member_tags(membership=membership, by=by, tags=list(data["tags"]))
    return membership, _("已更新成员标签。")


MEMBER_ACTIONS = frozenset({"approve", "reject", "remove", "ban", "unban", "set_role", "set_tags"})


@operator_required(OPERATOR)
@require_POST
def member_action(request, pk: int, action: str):
    if action not in MEMBER_ACTIONS:
        raise Http404
    membership = selectors.membership_for_shop(request.shop, pk)
    back = _safe_next(request, reverse("dashboard:group_detail", args=[membership.group_id]))
    form = MemberActionForm(request.POST, shop=request.shop)
    if not form.is_valid():
        messages.error(request, _form_error_text(form))
        return redirect(back)
    try:
        _membership, done = _member_action_call(action, membership, form, request.user)
    except ValidationError as error:
        messages.error(request, _error_text(error))
    else:
        messages.success(request, f"{membership.user.public_name}：{done}")
    return redirect(back)


# --- Invite links ---------------------------------------------------------------------------------


@operator_required(OPERATOR)
@require_POST
def group_owner(request, pk: int):
    """群主 picked in place on a group that has none: one of its active members becomes the owner."""
    group = selectors.group_for_shop(request.shop, pk)
    back = reverse("dashboard:group_detail", args=[group.pk])
    raw = request.POST.get("membership", "")
    membership = (
        selectors.members_of_group(group, status=MembershipStatus.ACTIVE).filter(pk=raw).first()
        if raw.isdigit()
        else None
    )
    if membership is None:
        messages.error(request, _("请从在群成员中选择群主。"))
        return redirect(back)
    try:
        services.set_role(membership=membership, by=request.user, role=MemberRole.OWNER)
    except ValidationError as error:
        messages.error(request, _error_text(error))
    else:
        messages.success(request, _("已设 %(name)s 为群主。") % {"name": membership.user.public_name})
    return redirect(back)


@operator_required(OPERATOR)
@require_POST
def link_create(request, pk: int):
    group = selectors.group_for_shop(request.shop, pk)
    form = LinkForm(request.POST)
    if group.state == GroupState.PREPARING:
        messages.error(request, services.PREPARING_LINK_MESSAGE)
        return redirect(reverse("dashboard:group_detail", args=[group.pk]) + "#links")
    if form.is_valid():
        try:
            services.create_link(
                shop=request.shop, by=request.user, inviter=request.user, group=group, options=_link_options(form)
            )
        except ValidationError as error:
            _add_service_errors(form, error)
        else:
            messages.success(request, _("已创建邀请链接。"))
            return redirect(reverse("dashboard:group_detail", args=[group.pk]) + "#links")
    return _render_group_detail(request, group, link_form=form)


@operator_required(OPERATOR)
@require_POST
def series_link_create(request, pk: int):
    series = selectors.series_detail_for_shop(request.shop, pk)
    form = LinkForm(request.POST)
    if form.is_valid():
        try:
            services.create_link(
                shop=request.shop, by=request.user, inviter=request.user, series=series, options=_link_options(form)
            )
        except ValidationError as error:
            _add_service_errors(form, error)
        else:
            messages.success(request, _("已创建邀请链接。"))
            return redirect(reverse("dashboard:series_detail", args=[series.pk]) + "#links")
    return _render_series_detail(request, series, link_form=form)


def _link_page(link) -> str:
    if link.group_id:
        return reverse("dashboard:group_detail", args=[link.group_id])
    return reverse("dashboard:series_detail", args=[link.series_id])


@operator_required(OPERATOR)
@require_POST
def link_revoke(request, pk: int):
    link = selectors.link_for_shop(request.shop, pk)
    services.revoke_link(link=link, by=request.user)
    messages.success(request, _("已撤销邀请链接，之后打开它的人将无法加入。"))
    return redirect(_safe_next(request, _link_page(link) + "#links"))


@operator_required(VIEWER)
def link_qr_png(request, pk: int):
    link = selectors.link_for_shop(request.shop, pk)
    return _download(qr.qr_png(link.public_url), "image/png", f"shequn-qr-{link.code}.png")


@operator_required(VIEWER)
def link_qr_svg(request, pk: int):
    link = selectors.link_for_shop(request.shop, pk)
    return _download(qr.qr_svg(link.public_url), "image/svg+xml", f"shequn-qr-{link.code}.svg")


@operator_required(VIEWER)
def link_poster(request, pk: int):
    link = selectors.link_for_shop(request.shop, pk)
    render_args = {
        "group_name": link.target_name,
        "inviter_name": link.inviter.public_name,
        "url": link.public_url,
        "expires_at": link.expires_at,
    }
    try:
        png = posters.poster_png(cover=link.group.cover if link.group_id else None, **render_args)
    except qr.MissingCJKFont:
        messages.error(request, _("服务器缺少中文字体，暂时无法生成海报，请联系管理员安装。"))
        return redirect(_link_page(link))
    return _download(png, "image/png", f"shequn-poster-{link.code}.png")


# --- Series ---------------------------------------------------------------------------------------


@operator_required(VIEWER)
def series_list(request):
    page = Paginator(selectors.series_for_shop(request.shop), PAGE_SIZE).get_page(request.GET.get("page"))
    for series in page:  # groups are prefetched: no query per series
        series.member_total = sum(g.active_member_count for g in series.groups.all())
    return render(request, "groups/dashboard/series_list.html", {"page": page, "can_write": _can_write(request)})


@operator_required(OPERATOR)
def series_create(request):
    form = SeriesForm(request.POST or None, shop=request.shop)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            with transaction.atomic():
                series = services.create_series(
                    shop=request.shop,
                    name=data["name"],
                    rotation_threshold=data["rotation_threshold"],
                    tags=_tags_with_new(request.shop, form),
                    by=request.user,
                    **form.settings_values(),
                )
        except ValidationError as error:
            _add_service_errors(form, error)
        else:
            messages.success(request, _("已创建群活码系列「%(name)s」，第一个群已开放招募。") % {"name": series.name})
            return redirect("dashboard:series_detail", pk=series.pk)
    return render(request, "groups/dashboard/series_form.html", {"form": form})


def _render_series_detail(request, series, *, link_form: LinkForm | None = None):
    links = selectors.links_of_series(series)
    return render(
        request,
        "groups/dashboard/series_detail.html",
        {
            "series": series,
            "detail_url": reverse("dashboard:series_detail", args=[series.pk]),
            "public_link": links.filter(channel=Channel.SERIES_CODE, revoked_at__isnull=True).first(),
            "groups": selectors.groups_for_shop(request.shop, series_id=series.pk).order_by("number_in_series"),
            "links": _with_status(Paginator(links, PAGE_SIZE).get_page(request.GET.get("links_page"))),
            "link_form": link_form or LinkForm(),
            "tags": list(series.tags.all()),
            "can_write": _can_write(request),
        },
    )


@operator_required(VIEWER)
def series_detail(request, pk: int):
    return _render_series_detail(request, selectors.series_detail_for_shop(request.shop, pk))
