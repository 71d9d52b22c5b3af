"""Reads for groups. Operator reads take the shop; member reads take the member. A miss is a 404."""

from datetime import timedelta

from django.db.models import Count, Exists, F, OuterRef, Prefetch, Q, QuerySet
from django.shortcuts import get_object_or_404
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User
from shequn import hooks
from shops.models import Shop

from .models import (
    Group,
    GroupHealthSnapshot,
    GroupSeries,
    InviteLink,
    Membership,
    MembershipStatus,
    MemberWarning,
    Tag,
    WarningAppeal,
)


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
            pending_count=Count("memberships", filter=Q(memberships__status=MembershipStatus.PENDING), distinct=True),
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
        Membership.objects.filter(user=user, status__in=[MembershipStatus.ACTIVE, MembershipStatus.PENDING])
        .select_related("group", "group__shop")
        .order_by("-joined_at", "-requested_at", "-pk")
    )


def membership_for_member(user: User, pk: int) -> Membership:
    return get_object_or_404(Membership.objects.select_related("group", "group__shop"), user=user, pk=pk)


def my_membership_in_group(user: User, pk: int) -> Membership:
    """The member's live (active or pending) membership of group `pk`, with the group and its shop: the
    group page's one read of both (group_for_member then the membership was two). Any other group is a 404."""
    return get_object_or_404(memberships_for_member(user), group_id=pk)


def group_for_member(user: User, pk: int) -> Group:
    """A group the member is (or is asking to be) in; any other group is a 404 to them."""
    return get_object_or_404(
        Group.objects.select_related("shop"),
        pk=pk,
        memberships__user=user,
        memberships__status__in=[MembershipStatus.ACTIVE, MembershipStatus.PENDING],
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


# --- Stewards' pages and 群规 warnings (groups/steward_views.py) --------------------------------------


def applicants_of_group(group: Group) -> QuerySet[Membership]:
    """Applications waiting in the group, oldest first (one query)."""
    return (
        Membership.objects.filter(group=group, status=MembershipStatus.PENDING)
        .select_related("user")
        .order_by("requested_at", "pk")
    )


def members_with_warnings(group: Group) -> QuerySet[Membership]:
    """The group's active members with their standing warnings counted (groups.enforcement's rule: not
    withdrawn, during the current stay), most warned first; one query."""
    standing = Q(warnings__withdrawn_at__isnull=True, warnings__at__gte=F("joined_at"))
    return (
        Membership.objects.filter(group=group, status=MembershipStatus.ACTIVE)
        .select_related("user")
        .annotate(warning_count=Count("warnings", filter=standing))
        .order_by("-warning_count", "-joined_at", "-pk")
    )


def membership_in_group(group: Group, pk: int, *, status: str) -> Membership:
    """A membership of this group (another group's is a 404), with its group and person."""
    return get_object_or_404(Membership.objects.select_related("group", "user"), group=group, pk=pk, status=status)


def warnings_of_member(user: User) -> QuerySet:
    """The member's own warnings in every group, newest first, with the appeal of each (one query)."""
    return MemberWarning.objects.filter(member=user).select_related("group", "group__shop", "appeal")


def warning_for_member(user: User, pk: int):
    return get_object_or_404(MemberWarning.objects.select_related("group"), member=user, pk=pk)


def appeals_for_shop(shop: Shop, *, state: str | None = None) -> QuerySet:
    """The shop's warning appeals, open ones first then newest (one query)."""
    qs = WarningAppeal.objects.filter(shop=shop).select_related(
        "warning", "warning__group", "warning__member", "warning__by", "decided_by"
    )
    if state:
        qs = qs.filter(state=state)
    return qs.order_by("-submitted_at", "-pk")


def appeal_for_shop(shop: Shop, pk: int):
    return get_object_or_404(WarningAppeal.objects.filter(shop=shop), pk=pk)


def group_figures(group: Group, *, now=None) -> dict:
    """The group's figures for its 群主/管理员: members, applications, joins and leaves in 7 days, warnings
    and removals by warnings in 30 days, and the latest weekly health snapshot (orders, GMV). Four queries."""
    now = now or timezone.now()
    week, month = now - timedelta(days=7), now - timedelta(days=30)
    counts = Membership.objects.filter(group=group).aggregate(
        pending=Count("pk", filter=Q(status=MembershipStatus.PENDING)),
        joins_7d=Count("pk", filter=Q(joined_at__gte=week)),
        leaves_7d=Count("pk", filter=Q(left_at__gte=week)),
        active_7d=Count("pk", filter=Q(status=MembershipStatus.ACTIVE, last_active_at__gte=week)),
    )
    warned = MemberWarning.objects.filter(group=group, at__gte=month).aggregate(
        warnings_30d=Count("pk", filter=Q(withdrawn_at__isnull=True)),
        removals_30d=Count("pk", filter=Q(removed_member=True, withdrawn_at__isnull=True)),
    )
    latest = GroupHealthSnapshot.objects.filter(group=group).order_by("-week_start").first()
    return {"members": group.active_member_count, "capacity": group.capacity, **counts, **warned, "latest_week": latest}


def offers_for_member(group: Group, member) -> list[dict]:
    """What runs for the group's members now (every plug-in's answer to shequn.hooks.group_offers), with the
    member's own part in each: for the group page and the group shop."""
    return [offer for answer in hooks.group_offers.answers(group, member) for offer in answer]
