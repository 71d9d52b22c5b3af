"""Who may do what in a group: the powers of 群主 and 管理员, in one table and one decision.

The rule (issue 15, "roles with powers"):
- the shop's operators with a write role (operator, owner) may use every power in every group of their
  shop; a viewer may use none (they read the dashboard, they do not act in groups);
- the group's 群主 (owner) and 管理员 (admin), with an *active* membership in *that* group, may use the
  powers their role has in ROLE_POWERS; a role in another group counts for nothing here;
- everyone else (core, active and ordinary members, applicants, people who left or were removed, other
  shops' staff, platform admins) may use none.

Pages and APIs answer a person for whom the group does not exist (neither in it nor asking to be, nor
staff of its shop) with 404, and one who can see the group but lacks the power with 403:
`group_for_power` does both. `powers_of` costs one query whatever the person is.
"""

from django.core.exceptions import PermissionDenied
from django.db import models
from django.db.models import Exists, OuterRef, QuerySet, Subquery
from django.http import Http404
from django.utils.translation import gettext_lazy as _

from accounts.models import User
from shops.models import ROLE_RANK, Operator, OperatorRole

from .models import Group, MemberRole, Membership, MembershipStatus


class GroupPower(models.TextChoices):
    APPROVE_APPLICANTS = "approve_applicants", _("审核入群申请")
    POST_ANNOUNCEMENTS = "post_announcements", _("发布群公告")
    ANSWER_QUESTIONS = "answer_questions", _("回答和关闭问题")
    HIDE_POSTS = "hide_posts", _("隐藏帖子")
    WARN_MEMBERS = "warn_members", _("警告成员")
    # A 群主/管理员 removes only a member whose warnings reached the shop's count (groups.warnings); the
    # shop's operators remove anyone.
    REMOVE_MEMBERS = "remove_members", _("移出成员")
    SEE_FIGURES = "see_figures", _("查看群数据")


ALL_POWERS = frozenset(GroupPower)
NO_POWERS: frozenset[GroupPower] = frozenset()

# The one table of which group role has which power. Roles not listed have none.
ROLE_POWERS: dict[str, frozenset[GroupPower]] = {
    MemberRole.OWNER: ALL_POWERS,
    MemberRole.ADMIN: ALL_POWERS,
    MemberRole.CORE: NO_POWERS,
    MemberRole.ACTIVE: NO_POWERS,
    MemberRole.MEMBER: NO_POWERS,
}

# Operators of the group's shop at this role or above use every power; below it, none.
OPERATOR_ROLE_FOR_POWERS = OperatorRole.OPERATOR


def _operator_powers(seat_role: str | None) -> frozenset[GroupPower]:
    if seat_role is None or ROLE_RANK[seat_role] < ROLE_RANK[OPERATOR_ROLE_FOR_POWERS]:
        return NO_POWERS
    return ALL_POWERS


def powers_of(user, group: Group, *, membership: Membership | None = None) -> frozenset[GroupPower]:
    """Every power `user` may use in `group` (one query; none for a signed-out or deactivated person).

    `membership`, when the page has just read it, is the user's own membership of this group: the query then
    asks only for the seat, a plain read the ORM compiles in a fraction of the two-subquery one (issue 19)."""
    if user is None or not user.is_authenticated or not user.is_active:
        return NO_POWERS
    if membership is None:
        seat_role, member_role = _roles(user.pk, group)
    else:
        if membership.user_id != user.pk or membership.group_id != group.pk:
            raise ValueError("powers_of: the membership is not this user's in this group")
        seat_role = Operator.objects.filter(shop_id=group.shop_id, user_id=user.pk).values_list("role", flat=True)
        seat_role = seat_role.first()
        member_role = membership.role if membership.status == MembershipStatus.ACTIVE else None
    return _operator_powers(seat_role) | ROLE_POWERS.get(member_role, NO_POWERS)


def _roles(user_id: int, group: Group) -> tuple[str | None, str | None]:
    """(the user's seat role on the group's shop, their role in the group while active there), each or None."""
    seat = Operator.objects.filter(shop_id=group.shop_id, user_id=OuterRef("pk")).values("role")[:1]
    membership = Membership.objects.filter(
        group_id=group.pk, user_id=OuterRef("pk"), status=MembershipStatus.ACTIVE
    ).values("role")[:1]
    row = (
        User.objects.filter(pk=user_id)
        .annotate(seat_role=Subquery(seat), member_role=Subquery(membership))
        .values_list("seat_role", "member_role")
        .first()
    )
    return row or (None, None)


def has_power(user, group: Group, power: GroupPower | str) -> bool:
    """Whether `user` may use `power` in `group`: the one decision every page, API and service asks."""
    return GroupPower(power) in powers_of(user, group)


def check_power(user, group: Group, power: GroupPower | str) -> None:
    """PermissionDenied (403) unless `user` may use `power` in `group`; services call it before a write."""
    if not has_power(user, group, power):
        raise PermissionDenied(_("你在这个群里没有此权限。"))


def group_for_power(user, pk: int, power: GroupPower | str) -> Group:
    """The group `pk` for a page or API that uses `power`: 404 when the group does not exist for the person
    (neither a member nor an applicant of it, nor staff of its shop), 403 when it does but they lack the power."""
    group = visible_groups(user).select_related("shop").filter(pk=pk).first()
    if group is None:
        raise Http404
    check_power(user, group, power)
    return group


def visible_groups(user) -> QuerySet[Group]:
    """Groups that exist for `user`: the ones they are in or ask to be in, and every group of the shops
    they staff."""
    if user is None or not user.is_authenticated:
        return Group.objects.none()
    live = Membership.objects.filter(
        group=OuterRef("pk"), user=user, status__in=[MembershipStatus.ACTIVE, MembershipStatus.PENDING]
    )
    return Group.objects.filter(Exists(live) | Exists(Operator.objects.filter(shop=OuterRef("shop_id"), user=user)))


def groups_with_power(user, power: GroupPower | str) -> QuerySet[Group]:
    """Every group where `user` may use `power` (one query when evaluated): the same rule as `has_power`."""
    power = GroupPower(power)
    if user is None or not user.is_authenticated or not user.is_active:
        return Group.objects.none()
    roles = [role for role, powers in ROLE_POWERS.items() if power in powers]
    stewarded = Membership.objects.filter(
        group=OuterRef("pk"), user=user, status=MembershipStatus.ACTIVE, role__in=roles
    )
    write_roles = [role for role, rank in ROLE_RANK.items() if rank >= ROLE_RANK[OPERATOR_ROLE_FOR_POWERS]]
    seated = Operator.objects.filter(shop=OuterRef("shop_id"), user=user, role__in=write_roles)
    return Group.objects.filter(Exists(stewarded) | Exists(seated))
