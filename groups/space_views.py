"""Members' pages of the group space (群空间): announcements on top, posts and questions, replies, the WeChat
group QR code and the service contact. Joined members only: anyone else (signed in) gets a 404.

Thin views: groups.space decides, groups.space_selectors reads.
"""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.cache import cache_control
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from shequn import images
from shequn.decorators import member_login_required

from . import powers, space
from . import space_selectors as selectors
from .powers import GroupPower
from .space_forms import CommentForm, PostForm
from .space_models import PostKind

PAGE_SIZE = 20


def add_service_errors(form, error: ValidationError) -> None:
    if hasattr(error, "error_dict"):
        for field, errors in error.error_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    else:
        form.add_error(None, error.messages)


def _powers(user, group) -> dict:
    """Which buttons to show; the services ask groups.powers again before each write."""
    held = powers.powers_of(user, group)
    return {
        "can_announce": GroupPower.POST_ANNOUNCEMENTS in held,
        "can_answer": GroupPower.ANSWER_QUESTIONS in held,
        "can_hide": GroupPower.HIDE_POSTS in held,
    }


def serve_image(field) -> FileResponse:
    """A stored space image as an image only (the name is ours: see shequn.images)."""
    extension = field.name.rpartition(".")[2].lower()
    if extension not in images.CONTENT_TYPES:
        raise Http404
    try:
        handle = field.open("rb")
    except FileNotFoundError:
        raise Http404 from None
    response = FileResponse(handle, content_type=images.CONTENT_TYPES[extension])
    response["X-Content-Type-Options"] = "nosniff"
    return response


@require_GET
@member_login_required
def space_home(request: HttpRequest, pk: int) -> HttpResponse:
    """The space: pinned announcements, the WeChat group and contact, then posts and questions, newest first."""
    group, membership = selectors.space_group_for_member(request.user, pk)
    kind = request.GET.get("kind", "")
    kind = kind if kind in PostKind.values else ""
    page = Paginator(selectors.feed_posts(group, kind=kind or None), PAGE_SIZE).get_page(request.GET.get("page"))
    contact = selectors.contact_of(group)
    return render(
        request,
        "groups/space/member_space.html",
        {
            "group": group,
            "membership": membership,
            "pinned": selectors.pinned_announcements(group) if not kind and page.number == 1 else [],
            "page": page,
            "kind": kind,
            "kinds": PostKind.choices,
            "contact": contact,
            "qr_shown": contact is not None and contact.qr_shown(),
            "highlighted_roles": selectors.HIGHLIGHTED_ROLES,
            "staff_roles": selectors.STAFF_ROLES,
            **_powers(request.user, group),
        },
    )


@require_http_methods(["GET", "POST"])
@member_login_required
def space_post_create(request: HttpRequest, pk: int) -> HttpResponse:
    group, _membership = selectors.space_group_for_member(request.user, pk)
    can_announce = powers.has_power(request.user, group, GroupPower.POST_ANNOUNCEMENTS)
    initial = {"kind": request.GET.get("kind", PostKind.POST)}
    form = PostForm(
        *((request.POST, request.FILES) if request.method == "POST" else ()),
        can_announce=can_announce,
        initial=initial,
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            post = space.create_post(
                group=group,
                actor=space.Actor(request.user),
                kind=data["kind"],
                body=data["body"],
                photos=data["photos"],
            )
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(request, _("已发布。"))
            return redirect("member:space_post", pk=group.pk, post=post.pk)
    return render(request, "groups/space/member_post_form.html", {"group": group, "form": form})


def _render_post(request, group, membership, post, form=None, status=200):
    return render(
        request,
        "groups/space/member_post.html",
        {
            "group": group,
            "membership": membership,
            "post": post,
            "comments": list(selectors.comments_of(post)),
            "form": form or CommentForm(),
            "is_asker": post.author_id == request.user.pk,
            "highlighted_roles": selectors.HIGHLIGHTED_ROLES,
            "staff_roles": selectors.STAFF_ROLES,
            **_powers(request.user, group),
        },
        status=status,
    )


@require_GET
@member_login_required
def space_post(request: HttpRequest, pk: int, post: int) -> HttpResponse:
    group, membership = selectors.space_group_for_member(request.user, pk)
    return _render_post(request, group, membership, selectors.visible_post(group, post))


@require_POST
@member_login_required
def space_reply(request: HttpRequest, pk: int, post: int) -> HttpResponse:
    group, membership = selectors.space_group_for_member(request.user, pk)
    the_post = selectors.visible_post(group, post)
    form = CommentForm(request.POST, request.FILES)
    if form.is_valid():
        try:
            space.add_comment(
                post=the_post,
                actor=space.Actor(request.user),
                body=form.cleaned_data["body"],
                photos=form.cleaned_data["photos"],
            )
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(request, _("已回复。"))
            return redirect("member:space_post", pk=group.pk, post=the_post.pk)
    return _render_post(request, group, membership, the_post, form=form, status=400)


@require_POST
@member_login_required
def space_answered(request: HttpRequest, pk: int, post: int) -> HttpResponse:
    group, _membership = selectors.space_group_for_member(request.user, pk)
    the_post = selectors.visible_post(group, post)
    try:
        space.mark_answered(post=the_post, actor=space.Actor(request.user))
    except ValidationError as error:
        messages.error(request, "；".join(error.messages))
    else:
        messages.success(request, _("已标记为已解决。"))
    return redirect("member:space_post", pk=group.pk, post=the_post.pk)


@require_POST
@member_login_required
def space_hide(request: HttpRequest, pk: int, post: int) -> HttpResponse:
    group, _membership = selectors.space_group_for_member(request.user, pk)
    the_post = selectors.visible_post(group, post)
    try:
        space.hide_post(post=the_post, actor=space.Actor(request.user))
    except ValidationError as error:
        messages.error(request, "；".join(error.messages))
        return redirect("member:space_post", pk=group.pk, post=the_post.pk)
    messages.success(request, _("已隐藏，成员将看不到这条内容。"))
    return redirect("member:space", pk=group.pk)


@require_POST
@member_login_required
def space_comment_hide(request: HttpRequest, pk: int, post: int, comment: int) -> HttpResponse:
    """A 群主/群管理 hides one reply (the hide_posts power; 403 without)."""
    group, _membership = selectors.space_group_for_member(request.user, pk)
    the_post = selectors.visible_post(group, post)
    space.hide_comment(comment=selectors.visible_comment(the_post, comment), actor=space.Actor(request.user))
    messages.success(request, _("已隐藏这条回复，成员将看不到它。"))
    return redirect("member:space_post", pk=group.pk, post=the_post.pk)


@require_GET
@member_login_required
@cache_control(private=True, max_age=3600)
def space_photo(request: HttpRequest, pk: int, photo: int) -> FileResponse:
    group, _membership = selectors.space_group_for_member(request.user, pk)
    return serve_image(selectors.photo_for_member(group, photo).image)


@require_GET
@member_login_required
@cache_control(private=True, max_age=300)
def space_wechat_qr(request: HttpRequest, pk: int) -> FileResponse:
    group, _membership = selectors.space_group_for_member(request.user, pk)
    contact = selectors.contact_of(group)
    if contact is None or not contact.qr_shown(timezone.now()):
        raise Http404
    return serve_image(contact.wechat_qr)
