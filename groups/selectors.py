"""Reads for groups. Operator reads take the shop; member reads take the member. A miss is a 404."""

from datetime import timedelta

from django.db.models import Count, Exists, OuterRef, Prefetch, Q, QuerySet
from django.shortcuts import get_object_or_404
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User
from shops.models import Shop

from .models import Group, GroupSeries, InviteLink, Membership, MembershipStatus, Tag

ST = MembershipStatus


def groups_for_shop(
    shop: Shop,
    *,
    state: str | None = None,
    tag_id: int | None = None,
    series_id: int | None = None,
    q: str | None = None,
) -> QuerySet[Group]:
    """The dashboard's group list: a constant number of queries whatever the number of groups."""
    since = timezone.now() - timedelta(days=7)
    qs = (
        Group.objects.filter(shop=shop)
        .select_related("series", "owner")
        .prefetch_related("tags")
        .annotate(
            joins_7d=Count("memberships", filter=Q(memberships__joined_at__gte=since), distinct=True),
            leaves_7d=Count("memberships", filter=Q(memberships__left_at__gte=since), distinct=True),
            pending_count=Count("memberships", filter=Q(memberships__status=ST.PENDING), distinct=True),
        )
        .order_by("-created_at", "-pk")
    )
    if state:
        qs = qs.filter(state=state)
    if tag_id:
        qs = qs.filter(tags__id=tag_id)
    if series_id:
        qs = qs.filter(series_id=series_id)
    if q:
        qs = qs.filter(name__icontains=q)
    return qs


def group_for_shop(shop: Shop, pk: int) -> Group:
    return get_object_or_404(Group.objects.select_related("series", "owner", "shop__settings"), shop=shop, pk=pk)


def members_of_group(group: Group, *, status: str | None = None) -> QuerySet[Membership]:
    qs = (
        Membership.objects.filter(group=group)
        .select_related("user", "inviter", "invite_link", "decided_by")
        .prefetch_related("tags")
        .order_by("-joined_at", "-requested_at", "-pk")
    )
    return qs.filter(status=status) if status else qs


def membership_for_shop(shop: Shop, pk: int) -> Membership:
    return get_object_or_404(Membership.objects.select_related("group", "user"), group__shop=shop, pk=pk)


def links_of_group(group: Group) -> QuerySet[InviteLink]:
    return InviteLink.objects.filter(group=group).select_related("inviter").order_by("-created_at", "-pk")


def link_for_shop(shop: Shop, pk: int) -> InviteLink:
    return get_object_or_404(InviteLink.objects.select_related("group", "series", "inviter"), shop=shop, pk=pk)


def series_for_shop(shop: Shop) -> QuerySet[GroupSeries]:
    return (
        GroupSeries.objects.filter(shop=shop)
        .prefetch_related("tags", Prefetch("groups", queryset=Group.objects.order_by("number_in_series")))
        .annotate(group_count=Count("groups", distinct=True))
        .order_by("-created_at", "-pk")
    )


def series_detail_for_shop(shop: Shop, pk: int) -> GroupSeries:
    return get_object_or_404(GroupSeries.objects.filter(shop=shop), pk=pk)


def links_of_series(series: GroupSeries) -> QuerySet[InviteLink]:
    return InviteLink.objects.filter(series=series).select_related("inviter").order_by("-created_at", "-pk")


def tags_for_shop(shop: Shop) -> QuerySet[Tag]:
    return Tag.objects.filter(shop=shop).order_by("name")


# --- Members' own reads -----------------------------------------------------------------------------


def memberships_for_member(user: User) -> QuerySet[Membership]:
    """ "My groups": the member's current and pending groups, across every shop."""
    return (
        Membership.objects.filter(user=user, status__in=[ST.ACTIVE, ST.PENDING])
        .select_related("group", "group__shop")
        .order_by("-joined_at", "-requested_at", "-pk")
    )


def membership_for_member(user: User, pk: int) -> Membership:
    return get_object_or_404(Membership.objects.select_related("group", "group__shop"), user=user, pk=pk)


def group_for_member(user: User, pk: int) -> Group:
    """A group the member is (or is asking to be) in; any other group is a 404 to them."""
    return get_object_or_404(
        Group.objects.select_related("shop"),
        pk=pk,
        memberships__user=user,
        memberships__status__in=[ST.ACTIVE, ST.PENDING],
    )


# --- Lurkers and health (groups/health_views.py) -------------------------------------------------------


def lurkers_of_group(group: Group, *, now, lurker_days: int) -> QuerySet[Membership]:
    """The group's lurkers, longest silent first, with their follow-ups (newest first): constant queries."""
    from .jobs import lurkers
    from .models import LurkerFollowUp

    return (
        lurkers(group_ids=[group.pk], now=now, lurker_days=lurker_days)
        .select_related("user")
        .prefetch_related(Prefetch("lurker_follow_ups", queryset=LurkerFollowUp.objects.order_by("-sent_at", "-pk")))
    )


def health_history(group: Group) -> QuerySet:
    from .models import GroupHealthSnapshot

    return GroupHealthSnapshot.objects.filter(group=group).order_by("-week_start")


def hard_cap_refusal(shop: Shop, hard_cap: int) -> str | None:
    """No group may sit above the shop's hard cap: a cap below some group's capacity is refused until those
    groups are made smaller (the hard_cap_refusal hook, connected in GroupsConfig.ready)."""
    too_big = Group.objects.filter(shop=shop, capacity__gt=hard_cap).count()
    if not too_big:
        return None
    return _("有 %(n)d 个群的容量高于 %(cap)d，请先调低这些群的容量。") % {"n": too_big, "cap": hard_cap}


def member_shop_ties(user) -> Exists:
    """The shops a member belongs to, as a condition on a shop (OuterRef("pk")): they are, or ask to be, in
    one of its groups (the member_shop_ties hook: notifications lists these shops' message preferences)."""
    return Exists(
        Membership.objects.filter(
            group__shop=OuterRef("pk"), user=user, status__in=[MembershipStatus.ACTIVE, MembershipStatus.PENDING]
        )
    )
