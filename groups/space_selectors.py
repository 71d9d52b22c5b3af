"""Reads for the group space. Members read through `space_group_for_member` (joined members only; anyone
else gets a 404), operators through the shop. Every list is a constant number of queries."""

from datetime import datetime, timedelta

from django.db.models import (
    Avg,
    Count,
    DurationField,
    ExpressionWrapper,
    F,
    Max,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
)
from django.http import Http404
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _

from shops.models import Shop

from .models import Group, MemberRole, Membership, MembershipStatus
from .space_models import GroupContact, PostKind, SpaceComment, SpacePhoto, SpacePost

PINNED_ANNOUNCEMENTS = 3
HIGHLIGHTED_ROLES = (MemberRole.CORE,)  # 核心成员: their posts stand out
STAFF_ROLES = (MemberRole.OWNER, MemberRole.ADMIN)


def space_group_for_member(user, pk: int) -> tuple[Group, Membership]:
    """The group and the member's active membership; a pending, former or non-member gets a 404."""
    membership = (
        Membership.objects.select_related("group", "group__shop")
        .filter(user=user, group_id=pk, status=MembershipStatus.ACTIVE)
        .first()
        if user.is_authenticated
        else None
    )
    if membership is None:
        raise Http404
    return membership.group, membership


def _author_role(group_ref) -> Subquery:
    """The author's current role in the post's group (None once they left)."""
    return Subquery(
        Membership.objects.filter(
            group_id=group_ref, user_id=OuterRef("author_id"), status=MembershipStatus.ACTIVE
        ).values("role")[:1]
    )


def _posts(group: Group) -> QuerySet[SpacePost]:
    return (
        SpacePost.objects.filter(group=group)
        .select_related("author", "first_responder")
        .prefetch_related(Prefetch("photos", queryset=SpacePhoto.objects.order_by("position", "pk")))
        .annotate(
            author_role=_author_role(OuterRef("group_id")),
            comment_count=Count("comments", filter=Q(comments__hidden_at__isnull=True), distinct=True),
        )
        .order_by("-created_at", "-pk")
    )


def visible_posts(group: Group, *, kind: str | None = None) -> QuerySet[SpacePost]:
    """What members read: every kind, or one; hidden posts left out."""
    qs = _posts(group).filter(hidden_at__isnull=True)
    if kind:
        qs = qs.filter(kind=kind)
    return qs


def feed_posts(group: Group, *, kind: str | None = None) -> QuerySet[SpacePost]:
    """The member page's list: one kind, or posts and questions (announcements are pinned above it)."""
    if kind:
        return visible_posts(group, kind=kind)
    return visible_posts(group).exclude(kind=PostKind.ANNOUNCEMENT)


def pinned_announcements(group: Group) -> list[SpacePost]:
    return list(visible_posts(group, kind=PostKind.ANNOUNCEMENT)[:PINNED_ANNOUNCEMENTS])


def all_posts(group: Group, *, kind: str | None = None, hidden: bool | None = None) -> QuerySet[SpacePost]:
    """The dashboard's list: hidden posts too (kept), with who hid them."""
    qs = _posts(group).select_related("hidden_by", "answered_by")
    if kind:
        qs = qs.filter(kind=kind)
    if hidden is not None:
        qs = qs.filter(hidden_at__isnull=not hidden)
    return qs


def visible_post(group: Group, pk: int) -> SpacePost:
    return get_object_or_404(visible_posts(group), pk=pk)


def visible_comment(post: SpacePost, pk: int) -> SpaceComment:
    """A reply members can see on a post they can see (a hidden one is a 404 to them)."""
    return get_object_or_404(
        SpaceComment.objects.select_related("post__group"), post=post, hidden_at__isnull=True, pk=pk
    )


def comment_for_shop(shop: Shop, pk: int) -> SpaceComment:
    return get_object_or_404(SpaceComment.objects.select_related("post__group"), post__group__shop=shop, pk=pk)


def post_for_shop(shop: Shop, pk: int) -> SpacePost:
    return get_object_or_404(_posts_for_shop(shop), pk=pk)


def _posts_for_shop(shop: Shop) -> QuerySet[SpacePost]:
    return (
        SpacePost.objects.filter(group__shop=shop)
        .select_related("group", "group__shop", "author", "hidden_by", "answered_by", "first_responder")
        .prefetch_related("photos")
        .annotate(author_role=_author_role(OuterRef("group_id")))
    )


def comments_of(post: SpacePost, *, include_hidden: bool = False) -> QuerySet[SpaceComment]:
    """A post's replies, oldest first: members read the visible ones, the dashboard every one (hidden ones
    with who hid them)."""
    qs = SpaceComment.objects.filter(post=post)
    if not include_hidden:
        qs = qs.filter(hidden_at__isnull=True)
    return (
        qs.select_related("author", "hidden_by")
        .prefetch_related(Prefetch("photos", queryset=SpacePhoto.objects.order_by("position", "pk")))
        .annotate(
            author_role=Subquery(
                Membership.objects.filter(
                    group_id=post.group_id, user_id=OuterRef("author_id"), status=MembershipStatus.ACTIVE
                ).values("role")[:1]
            )
        )
        .order_by("created_at", "pk")
    )


def photo_for_member(group: Group, pk: int) -> SpacePhoto:
    """A photo of a visible post, or of a comment on one, in the member's group."""
    return get_object_or_404(
        SpacePhoto.objects.filter(
            Q(post__group=group, post__hidden_at__isnull=True)
            | Q(comment__post__group=group, comment__post__hidden_at__isnull=True, comment__hidden_at__isnull=True)
        ),
        pk=pk,
    )


def photo_for_shop(shop: Shop, pk: int) -> SpacePhoto:
    return get_object_or_404(
        SpacePhoto.objects.filter(Q(post__group__shop=shop) | Q(comment__post__group__shop=shop)), pk=pk
    )


def contact_of(group: Group) -> GroupContact | None:
    return GroupContact.objects.filter(group=group).first()


# --- First-reply times (the dashboard) ---------------------------------------------------------------


def wait_text(wait: timedelta | None) -> str:
    """A first-reply time in words: 45 秒, 3 分 12 秒, 2 小时 5 分."""
    if wait is None:
        return ""
    seconds = max(int(wait.total_seconds()), 0)
    hours, rest = divmod(seconds, 3600)
    minutes, seconds = divmod(rest, 60)
    if hours:
        return _("%(h)d 小时 %(m)d 分") % {"h": hours, "m": minutes}
    if minutes:
        return _("%(m)d 分 %(s)d 秒") % {"m": minutes, "s": seconds}
    return _("%(s)d 秒") % {"s": seconds}


def percent(part: int, whole: int) -> int:
    return round(100 * part / whole) if whole else 0


REPLY_WAIT = ExpressionWrapper(F("first_reply_at") - F("created_at"), output_field=DurationField())


def _questions(shop: Shop, since: datetime) -> QuerySet[SpacePost]:
    return SpacePost.objects.filter(
        group__shop=shop, kind=PostKind.QUESTION, hidden_at__isnull=True, created_at__gte=since
    )


def reply_times_by_group(shop: Shop, *, since: datetime, target: timedelta) -> QuerySet:
    """Per group with questions since `since`: asked, replied, replied within target, waiting, average and
    slowest first-reply time (one query per page)."""
    return (
        _questions(shop, since)
        .values("group_id", "group__name")
        .annotate(
            asked=Count("pk"),
            replied=Count("pk", filter=Q(first_reply_at__isnull=False)),
            within=Count("pk", filter=Q(first_reply_at__isnull=False, first_reply_at__lte=F("created_at") + target)),
            average=Avg(REPLY_WAIT),
            slowest=Max(REPLY_WAIT),
        )
        .order_by("group__name", "group_id")
    )


def reply_times_by_responder(shop: Shop, *, since: datetime, target: timedelta) -> QuerySet:
    """Per person who gave first replies since `since`: how many, how many within target, average wait."""
    return (
        _questions(shop, since)
        .filter(first_responder__isnull=False)
        .values("first_responder_id")
        .annotate(
            replies=Count("pk"),
            within=Count("pk", filter=Q(first_reply_at__lte=F("created_at") + target)),
            average=Avg(REPLY_WAIT),
        )
        .order_by("-replies", "first_responder_id")
    )


def reply_times_of_group(group: Group, *, since: datetime, target: timedelta) -> dict:
    """The same figures for one group (its space page)."""
    return (
        _questions(group.shop, since)
        .filter(group=group)
        .aggregate(
            asked=Count("pk"),
            replied=Count("pk", filter=Q(first_reply_at__isnull=False)),
            within=Count("pk", filter=Q(first_reply_at__isnull=False, first_reply_at__lte=F("created_at") + target)),
            average=Avg(REPLY_WAIT),
        )
    )
