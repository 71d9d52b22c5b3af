"""Writes for groups, series, memberships and invite links.

Scarce things are decided by the database: a seat in a group and a use of a link are each taken
by one conditional UPDATE whose row count decides, backed by CHECK constraints. Locks are taken
in one order everywhere: invite link → membership → group → series.
"""

from dataclasses import dataclass
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F, Max, Q
from django.db.models.functions import Least
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.models import User
from shequn import hooks
from shops import audit
from shops.models import Shop
from shops.staff import is_shop_staff

from . import messages
from .activity import record_activity
from .lifecycle import JOINABLE_STATES, transition_group
from .models import (
    Channel,
    Group,
    GroupSeries,
    GroupState,
    InviteLink,
    LinkVisit,
    MemberRole,
    Membership,
    MembershipStatus,
    Tag,
    Threshold,
    VisitKind,
)

# --- Why a join is refused ----------------------------------------------------------------------


class JoinRefused(Exception):
    """A join that cannot happen, with a reason code the pages and API show in words."""

    MESSAGES = {
        "invalid": gettext_lazy("这个邀请链接不存在，请向邀请你的人重新索取。"),
        "revoked": gettext_lazy("这个邀请链接已被撤销。"),
        "expired": gettext_lazy("这个邀请链接已过期。"),
        "exhausted": gettext_lazy("这个邀请链接的使用次数已满。"),
        "full": gettext_lazy("群已满员，暂时无法加入。"),
        "not_open": gettext_lazy("这个群还在筹备中，尚未开放加入。"),
        "archived": gettext_lazy("这个群已归档，不再接受新成员。"),
        "banned": gettext_lazy("你已被移出并禁止再次加入这个群。"),
        "answer_required": gettext_lazy("请先填写入群申请内容。"),
        "payment_required": gettext_lazy("这个群需要先支付入群费，请在入群页面付款。"),
        "payment_unavailable": gettext_lazy("这个群暂时无法在线支付入群费，请联系群运营。"),
        "already_in": gettext_lazy("你已经在这个群里了。"),
    }

    def __init__(self, reason: str):
        self.reason = reason
        super().__init__(str(self.MESSAGES[reason]))

    @property
    def message(self) -> str:
        return str(self.MESSAGES[self.reason])


def link_problem(link: InviteLink, now=None) -> str | None:
    """Why this link cannot admit anyone right now (a reason code), or None if it can."""
    now = now or timezone.now()
    expired = link.expires_at is not None and link.expires_at <= now
    # The expiry job revokes links as of their expiry time: those still read "expired", as they did before.
    if link.revoked_at is not None and not (expired and link.revoked_at >= link.expires_at):
        return "revoked"
    if expired:
        return "expired"
    if link.max_uses is not None and link.use_count >= link.max_uses:
        return "exhausted"
    if link.group_id:
        return group_problem(link.group)
    return None  # a series always has (or opens) a group with room


def group_problem(group: Group) -> str | None:
    if group.state == GroupState.ARCHIVED:
        return "archived"
    if group.state not in JOINABLE_STATES:
        return "not_open"
    if group.threshold == Threshold.OPEN and group.active_member_count >= group.capacity:
        return "full"
    return None


def find_link(code: str) -> InviteLink:
    link = InviteLink.objects.select_related("group", "series", "shop", "inviter").filter(code=code).first()
    if link is None:
        raise JoinRefused("invalid")
    return link


# --- Link counters (funnel: opens → sign-ins → joins) -------------------------------------------


@dataclass(frozen=True)
class Client:
    """Where a request came from (shequn.client.request_fingerprint): kept on referral events so the
    fraud review can see many invitees arriving from one device or address."""

    ip: str | None = None
    device: str = ""


NO_CLIENT = Client()


def _visit(link: InviteLink, kind: str, *, signed_in: bool) -> None:
    LinkVisit.objects.create(
        shop_id=link.shop_id, link=link, group_id=link.group_id, channel=link.channel, kind=kind, signed_in=signed_in
    )


def record_link_open(
    link: InviteLink, *, user: User | None = None, visitor_key: str = "", client: Client = NO_CLIENT
) -> None:
    InviteLink.objects.filter(pk=link.pk).update(open_count=F("open_count") + 1)
    _visit(link, VisitKind.OPENED, signed_in=user is not None and user.is_authenticated)
    hooks.link_opened.run(
        hooks.LinkOpened(link=link, user=user, visitor_key=visitor_key, ip=client.ip, device=client.device)
    )


def record_link_sign_in(link: InviteLink, *, user: User | None = None, client: Client = NO_CLIENT) -> None:
    """An opener of the link, signed out then, is back signed in: counted on the link and, with the person
    known, announced (referrals date it for the funnel)."""
    InviteLink.objects.filter(pk=link.pk).update(sign_in_count=F("sign_in_count") + 1)
    _visit(link, VisitKind.SIGNED_IN, signed_in=True)
    if user is not None and user.is_authenticated:
        hooks.link_signed_in.run(hooks.LinkSignedIn(link=link, user=user, ip=client.ip, device=client.device))


# --- Joining --------------------------------------------------------------------------------------


class _AlreadyIn(Exception):
    def __init__(self, membership: Membership):
        self.membership = membership


def join_via_link(*, user: User, code: str, answer: str = "", client: Client = NO_CLIENT) -> Membership:
    """Join (or ask to join) the link's group, or the series' current group.

    Guarantees: a link with max N uses admits at most N people; a group never has more active
    members than its capacity; a banned user never gets back in; a second click returns the
    membership the first one made. Nothing is written when the join is refused.
    """
    link = find_link(code)
    problem = link_problem(link)
    if problem:
        raise JoinRefused(problem)
    target = link.target
    answer = (answer or "").strip()
    if target.threshold == Threshold.SUBMISSION and not answer:
        raise JoinRefused("answer_required")
    if target.threshold == Threshold.PAID and _current_membership(user, link) is None:
        raise JoinRefused("payment_required")  # the seat comes with the payment: admit_paid_member
    existing = _current_membership(user, link)
    if existing is not None:
        return existing
    try:
        with transaction.atomic():
            if not _consume_link_use(link.pk):
                link.refresh_from_db()
                raise JoinRefused(link_problem(link) or "exhausted")
            if link.group_id:
                return _join_group(group=link.group, user=user, link=link, answer=answer, client=client)
            return _join_series(series=link.series, user=user, link=link, answer=answer, client=client)
    except _AlreadyIn as already:
        return already.membership


def _current_membership(user: User, link: InviteLink) -> Membership | None:
    """The user's live membership in the link's target (so a second click changes nothing)."""
    qs = Membership.objects.filter(
        user=user, status__in=[MembershipStatus.ACTIVE, MembershipStatus.PENDING, MembershipStatus.BANNED]
    )
    qs = qs.filter(group=link.group_id) if link.group_id else qs.filter(group__series=link.series_id)
    membership = qs.select_related("group").order_by("-status").first()  # pending/banned before active
    if membership and membership.status == MembershipStatus.BANNED:
        raise JoinRefused("banned")
    return membership


def _consume_link_use(link_id: int) -> bool:
    now = timezone.now()
    return (
        InviteLink.objects.filter(pk=link_id, revoked_at__isnull=True)
        .filter(Q(expires_at__isnull=True) | Q(expires_at__gt=now))
        .filter(Q(max_uses__isnull=True) | Q(use_count__lt=F("max_uses")))
        .update(use_count=F("use_count") + 1)
        == 1
    )


def _take_seat(group_id: int, *, below: int | None = None) -> bool:
    """One seat in a joinable group, decided by a single conditional UPDATE (never check-then-act)."""
    qs = Group.objects.filter(pk=group_id, state__in=JOINABLE_STATES, active_member_count__lt=F("capacity"))
    if below is not None:
        qs = qs.filter(active_member_count__lt=below)
    return qs.update(active_member_count=F("active_member_count") + 1) == 1


def _release_seat(group_id: int) -> None:
    Group.objects.filter(pk=group_id, active_member_count__gt=0).update(
        active_member_count=F("active_member_count") - 1
    )


def _join_group(
    *,
    group: Group,
    user: User,
    link: InviteLink | None,
    answer: str,
    channel: str | None = None,
    client: Client = NO_CLIENT,
) -> Membership:
    row = _lock_membership_row(group, user)
    if group.threshold == Threshold.OPEN:
        if not _take_seat(group.pk):
            group.refresh_from_db()
            raise JoinRefused(group_problem(group) or "full")
        status = MembershipStatus.ACTIVE
    else:
        if group.state not in JOINABLE_STATES:
            raise JoinRefused("archived" if group.state == GroupState.ARCHIVED else "not_open")
        status = MembershipStatus.PENDING
    return _write_membership(
        row=row, group=group, user=user, link=link, status=status, answer=answer, channel=channel, client=client
    )


def _join_series(
    *, series: GroupSeries, user: User, link: InviteLink, answer: str, client: Client = NO_CLIENT
) -> Membership:
    if series.threshold != Threshold.OPEN:
        group = _series_group_with_room(series)
        return _join_group(group=group, user=user, link=link, answer=answer, client=client)
    # Open series: the seat is taken while choosing the group, so the choice and the seat are one act.
    for _attempt in range(5):
        group = _series_group_with_room(series)
        row = _lock_membership_row(group, user)
        if _take_seat(group.pk, below=series.rotation_threshold):
            return _write_membership(
                row=row, group=group, user=user, link=link, status=MembershipStatus.ACTIVE, answer=answer, client=client
            )
    raise JoinRefused("full")  # five lost races in a row: the caller may simply retry


def _series_group_with_room(series: GroupSeries, *, for_user_id: int | None = None) -> Group:
    """The first group of the series below its rotation threshold; opens the next one when none is.

    `for_user_id`: skip groups where that person already has a row (an application moving there).
    """

    def candidate():
        groups = Group.objects.filter(series=series, state__in=JOINABLE_STATES)
        if for_user_id is not None:
            groups = groups.exclude(memberships__user_id=for_user_id)
        return (
            groups.filter(active_member_count__lt=Least(F("capacity"), series.rotation_threshold))
            .order_by("number_in_series")
            .first()
        )

    group = candidate()
    if group is not None:
        return group
    GroupSeries.objects.select_for_update().get(pk=series.pk)  # one opener at a time; re-check under it
    return candidate() or open_next_group_in_series(series=series)


def _lock_membership_row(group: Group, user: User) -> Membership | None:
    row = Membership.objects.select_for_update().filter(group=group, user=user).first()
    if row is not None and row.status in (MembershipStatus.ACTIVE, MembershipStatus.PENDING):
        raise _AlreadyIn(row)
    if row is not None and row.status == MembershipStatus.BANNED:
        raise JoinRefused("banned")
    return row


def _write_membership(
    *,
    row: Membership | None,
    group: Group,
    user: User,
    link: InviteLink | None,
    status: str,
    answer: str,
    channel: str | None = None,
    client: Client = NO_CLIENT,
) -> Membership:
    now = timezone.now()
    first_joined_at = row.first_joined_at if row is not None else None
    fields = {
        "status": status,
        "role": MemberRole.MEMBER,
        "channel": channel or (link.channel if link else Channel.DIRECT),
        "invite_link": link,
        # A link the shop's staff made (series code, poster…) credits its channel, not the operator.
        "inviter": link.inviter if link and not is_shop_staff(group.shop_id, link.inviter_id) else None,
        "answer": answer,
        "requested_at": now,
        "joined_at": now if status == MembershipStatus.ACTIVE else None,
        "first_joined_at": first_joined_at or (now if status == MembershipStatus.ACTIVE else None),
        "left_at": None,
        "last_active_at": now,
        "decided_by": None,
        "note": "",
    }
    if row is None:
        try:
            with transaction.atomic():
                membership = Membership.objects.create(group=group, user=user, **fields)
        except IntegrityError as exc:  # the same person's other click won; undo this one's seat and use
            raise _AlreadyIn(Membership.objects.get(group=group, user=user)) from exc
    else:
        for name, value in fields.items():
            setattr(row, name, value)
        row.save()
        membership = row
    if status == MembershipStatus.ACTIVE:
        _on_activated(membership, first_time_in_group=first_joined_at is None, client=client)
    return membership


def _on_activated(
    membership: Membership, *, first_time_in_group: bool, client: Client = NO_CLIENT, welcome: bool = True
) -> None:
    """A person is now in the group: count the join on the link, announce it (member_joined) and send the
    group's welcome message (`welcome=False`: the caller's own message carries it)."""
    record_activity(
        group_id=membership.group_id,
        user_id=membership.user_id,
        kind="join",
        ref=f"membership:{membership.pk}",
        at=membership.joined_at,
    )
    link = membership.invite_link
    if link is not None:
        InviteLink.objects.filter(pk=link.pk).update(join_count=F("join_count") + 1)
    # Referrals binds the invitee to whoever brought them, by the shop's binding rule.
    joined = hooks.MemberJoined(membership, first_time_in_group=first_time_in_group, ip=client.ip, device=client.device)
    hooks.member_joined.run(joined)
    if welcome:
        messages.welcome(membership)


def first_join_in_shop(membership: Membership) -> bool:
    """A person never before in any of the shop's groups (re-joins are not sign-ups)."""
    return not (
        Membership.objects.filter(
            user_id=membership.user_id, group__shop_id=membership.group.shop_id, first_joined_at__isnull=False
        )
        .exclude(pk=membership.pk)
        .exists()
    )


# --- Paid entry (入群门槛: 付费) ---------------------------------------------------------------------


def paid_entry_target(*, user: User, code: str) -> tuple[Group, InviteLink]:
    """The group a member would pay to enter through this link (a series' current group), after the
    same checks as a join. Checks only: the seat is decided when the payment lands (admit_paid_member)."""
    link = find_link(code)
    problem = link_problem(link)
    if problem:
        raise JoinRefused(problem)
    if link.target.threshold != Threshold.PAID:
        raise JoinRefused("invalid")
    if _current_membership(user, link) is not None:
        raise JoinRefused("already_in")
    group = link.group if link.group_id else _series_group_with_room(link.series)
    problem = group_problem(group) or ("full" if group.active_member_count >= group.capacity else None)
    if problem:
        raise JoinRefused(problem)
    return group, link


def admit_paid_member(*, user: User, group_id: int, link_id: int | None) -> Membership:
    """The member's entry fee landed: take a use of the link and a seat, and make them an active member.

    Runs inside the caller's transaction (the one applying the payment). Never above capacity nor the
    link's uses (conditional UPDATEs); a series seats them in its current group with room. Raises
    JoinRefused (full, archived, not_open, banned, already_in, exhausted…) and writes nothing when the
    seat cannot be given: the caller refunds the fee.
    """
    link = (
        InviteLink.objects.select_related("group", "series", "inviter").filter(pk=link_id).first() if link_id else None
    )
    if link_id and link is None:
        raise JoinRefused("invalid")
    with transaction.atomic():
        if link is not None:
            if _current_membership(user, link) is not None:
                raise JoinRefused("already_in")
            if not _consume_link_use(link.pk):
                link.refresh_from_db()
                raise JoinRefused(link_problem(link) or "exhausted")
        if link is not None and link.series_id:
            group = _series_group_with_room(link.series)
        else:
            group = Group.objects.get(pk=group_id)
        try:
            row = _lock_membership_row(group, user)
        except _AlreadyIn:
            raise JoinRefused("already_in") from None
        if not _take_seat(group.pk):
            group.refresh_from_db()
            raise JoinRefused(group_problem(group) or "full")
        try:
            return _write_membership(
                row=row,
                group=group,
                user=user,
                link=link,
                status=MembershipStatus.ACTIVE,
                answer="",
                channel=None if link else Channel.DIRECT,
            )
        except _AlreadyIn:
            raise JoinRefused("already_in") from None


# --- Operator decisions and member actions ------------------------------------------------------


def _locked(membership: Membership) -> Membership:
    # of=self: lock only the membership row, not the (nullable) joined link.
    return (
        Membership.objects.select_for_update(of=("self",)).select_related("group", "invite_link").get(pk=membership.pk)
    )


@transaction.atomic
def add_member(*, group: Group, user: User, by: User | None, role: str = MemberRole.MEMBER) -> Membership:
    """An operator adds someone directly (e.g. seed users while a group is preparing)."""
    membership = _add_member(group=group, user=user, by=by, role=role)
    _record_member(
        membership, by=by, action="group.member.add", before={}, after={"status": MembershipStatus.ACTIVE, "role": role}
    )
    return membership


def _record_member(m: Membership, *, by: User | None, action: str, before: dict, after: dict) -> None:
    """An operator's action on a membership in the shop's audit log (by=None: the system's, not logged)."""
    if by is None:
        return
    audit.record(
        shop=m.group.shop_id,
        by=by,
        action=action,
        target=m,
        before=before,
        after=after,
        label=f"{m.user.public_name} @ {m.group.name}",
    )


def _add_member(*, group: Group, user: User, by: User | None, role: str) -> Membership:
    row = Membership.objects.select_for_update().filter(group=group, user=user).first()
    if row is not None and row.status == MembershipStatus.ACTIVE:
        raise ValidationError(_("此用户已在群中。"))
    if row is not None and row.status == MembershipStatus.BANNED:
        raise ValidationError(_("此用户已被封禁，请先解除封禁。"))
    seat_qs = Group.objects.filter(pk=group.pk, active_member_count__lt=F("capacity")).exclude(
        state=GroupState.ARCHIVED
    )
    if seat_qs.update(active_member_count=F("active_member_count") + 1) != 1:
        raise ValidationError(_("群已满或已归档。"))
    membership = _write_membership(
        row=row, group=group, user=user, link=None, status=MembershipStatus.ACTIVE, answer="", channel=Channel.DIRECT
    )
    membership.decided_by = by
    membership.save(update_fields=["decided_by"])
    if role != MemberRole.MEMBER:
        _set_role(membership=membership, role=role)
    return membership


@transaction.atomic
def approve(*, membership: Membership, by: User) -> Membership:
    """Pending → active, taking a seat; refused with a clear message when the group is full."""
    m = _locked(membership)
    if m.status != MembershipStatus.PENDING:
        raise ValidationError(_("该申请已处理。"))
    seated = _seat_series_applicant(m) if m.group.series_id else _take_seat(m.group_id)
    if not seated:
        raise ValidationError(_("群已满或不在开放状态，无法通过。"))
    first_time = m.first_joined_at is None
    m.status, m.joined_at, m.decided_by = MembershipStatus.ACTIVE, timezone.now(), by
    m.first_joined_at = m.first_joined_at or m.joined_at
    m.save(update_fields=["group", "status", "joined_at", "first_joined_at", "decided_by"])
    _on_activated(m, first_time_in_group=first_time, welcome=False)
    messages.approved(m)
    _record_member(
        m,
        by=by,
        action="group.member.approve",
        before={"status": MembershipStatus.PENDING},
        after={"status": MembershipStatus.ACTIVE},
    )
    return m


def _seat_series_applicant(m: Membership) -> bool:
    """A seat for an approved application to a series (群活码), in the series' current group.

    The rule: a pending application holds no seat, so the rotation (which counts seats) sends every
    applicant to the same current group while they wait. Approval therefore seats the member in the
    group they applied to only while it is below the rotation threshold; otherwise it moves the
    application to the series' current group with room (the first below the threshold, opening the next
    one when all are at it), a group where the person has no row yet. So no approval fills a group past
    the threshold, and every applicant can be approved. Sets `m.group`; the caller saves it. Each seat
    is one conditional UPDATE, so concurrent approvals never overfill a group.
    """
    series = m.group.series
    if _take_seat(m.group_id, below=series.rotation_threshold):
        return True
    for _attempt in range(5):
        group = _series_group_with_room(series, for_user_id=m.user_id)
        if _take_seat(group.pk, below=series.rotation_threshold):
            m.group = group
            return True
    return False  # five lost races in a row: the operator may simply approve again


@transaction.atomic
def reject(*, membership: Membership, by: User, reason: str = "") -> Membership:
    """Pending → rejected; the link use it took is given back (the person was not admitted)."""
    m = _locked(membership)
    if m.status != MembershipStatus.PENDING:
        raise ValidationError(_("该申请已处理。"))
    m.status, m.decided_by, m.note = MembershipStatus.REJECTED, by, reason[:200]
    m.save(update_fields=["status", "decided_by", "note"])
    if m.invite_link_id:
        InviteLink.objects.filter(pk=m.invite_link_id, use_count__gt=0).update(use_count=F("use_count") - 1)
    messages.rejected(m)
    _record_member(
        m,
        by=by,
        action="group.member.reject",
        before={"status": MembershipStatus.PENDING},
        after={"status": MembershipStatus.REJECTED, "reason": m.note},
    )
    return m


def _end_membership(
    *, membership: Membership, status: str, by: User | None, reason: str = "", action: str = ""
) -> Membership:
    """Ends a membership; `action` names the operator's act for the audit log (none when members leave)."""
    m = _locked(membership)
    if m.role == MemberRole.OWNER and m.status == MembershipStatus.ACTIVE:
        raise ValidationError(_("群主不能退出或被移出，请先转让群主。"))
    was_active = m.status == MembershipStatus.ACTIVE
    before = {"status": m.status, "role": m.role}
    m.status, m.left_at, m.decided_by, m.note = status, timezone.now(), by, reason[:200]
    m.role = MemberRole.MEMBER
    m.save(update_fields=["status", "left_at", "decided_by", "note", "role"])
    if was_active:
        _release_seat(m.group_id)
    if action:
        _record_member(
            m, by=by, action=action, before=before, after={"status": status, "role": m.role, "reason": m.note}
        )
    if status in (MembershipStatus.REMOVED, MembershipStatus.BANNED):
        messages.removed(m, banned=status == MembershipStatus.BANNED)
    return m


def remove_by_rule(*, membership: Membership, by: User, reason: str) -> Membership:
    """The warning that reached the shop's count removes the member (groups.enforcement.warn, which holds the
    row lock and records the act once, as the warning)."""
    return _end_membership(membership=membership, status=MembershipStatus.REMOVED, by=by, reason=reason)


@transaction.atomic
def leave(*, membership: Membership) -> Membership:
    if membership.status not in (MembershipStatus.ACTIVE, MembershipStatus.PENDING):
        raise ValidationError(_("你已不在这个群。"))
    return _end_membership(membership=membership, status=MembershipStatus.LEFT, by=membership.user)


@transaction.atomic
def remove(*, membership: Membership, by: User, reason: str = "") -> Membership:
    if membership.status not in (MembershipStatus.ACTIVE, MembershipStatus.PENDING):
        raise ValidationError(_("该成员已不在群中。"))
    return _end_membership(
        membership=membership, status=MembershipStatus.REMOVED, by=by, reason=reason, action="group.member.remove"
    )


@transaction.atomic
def ban(*, membership: Membership, by: User, reason: str = "") -> Membership:
    """Out of the group and unable to come back through any link until unbanned."""
    if membership.status == MembershipStatus.BANNED:
        raise ValidationError(_("该成员已被封禁。"))
    return _end_membership(
        membership=membership, status=MembershipStatus.BANNED, by=by, reason=reason, action="group.member.ban"
    )


@transaction.atomic
def unban(*, membership: Membership, by: User) -> Membership:
    m = _locked(membership)
    if m.status != MembershipStatus.BANNED:
        raise ValidationError(_("该成员未被封禁。"))
    m.status, m.decided_by = MembershipStatus.REMOVED, by
    m.save(update_fields=["status", "decided_by"])
    _record_member(
        m,
        by=by,
        action="group.member.unban",
        before={"status": MembershipStatus.BANNED},
        after={"status": MembershipStatus.REMOVED},
    )
    return m


@transaction.atomic
def set_role(*, membership: Membership, by: User, role: str) -> Membership:
    """Change an active member's role. A new owner replaces the old one, who becomes an admin."""
    was = _locked(membership).role  # under the row lock _set_role takes again
    m = _set_role(membership=membership, role=role)
    _record_member(m, by=by, action="group.member.role", before={"role": was}, after={"role": m.role})
    return m


def _set_role(*, membership: Membership, role: str) -> Membership:
    m = _locked(membership)
    if m.status != MembershipStatus.ACTIVE:
        raise ValidationError(_("只能为在群成员设置角色。"))
    if role == MemberRole.OWNER and m.role != MemberRole.OWNER:
        Membership.objects.filter(group_id=m.group_id, role=MemberRole.OWNER, status=MembershipStatus.ACTIVE).update(
            role=MemberRole.ADMIN
        )
        Group.objects.filter(pk=m.group_id).update(owner=m.user)
    elif m.role == MemberRole.OWNER and role != MemberRole.OWNER:
        raise ValidationError(_("请把群主转让给另一位成员，而不是直接降级。"))
    m.role = role
    m.save(update_fields=["role"])
    return m


@transaction.atomic
def set_member_tags(*, membership: Membership, by: User, tags: list[Tag]) -> None:
    if any(t.shop_id != membership.group.shop_id for t in tags):
        raise ValidationError(_("标签不属于本店。"))
    before = sorted(membership.tags.values_list("pk", flat=True))
    membership.tags.set(tags)
    _record_member(
        membership,
        by=by,
        action="group.member.tags",
        before={"tags": before},
        after={"tags": sorted(t.pk for t in tags)},
    )


# --- Groups and series --------------------------------------------------------------------------

GROUP_FIELDS = (
    "purpose",
    "kind",
    "description",
    "rules",
    "capacity",
    "threshold",
    "entry_price",
    "entry_question",
    "welcome_message",
)


def validate_group_settings(
    *,
    shop: Shop,
    capacity: int,
    threshold: str,
    entry_price: Decimal | None,
    entry_question: str,
    active_member_count: int = 0,
) -> None:
    """The one place that decides whether group (or series template) settings make sense."""
    errors: dict[str, str] = {}
    hard_cap = shop.settings.group_hard_cap
    if capacity is None or capacity < 2:
        errors["capacity"] = _("容量至少为 2。")
    elif capacity > hard_cap:
        errors["capacity"] = _("容量不能超过本店的群人数上限 %(cap)d。") % {"cap": hard_cap}
    elif capacity < active_member_count:
        errors["capacity"] = _("群里已有 %(n)d 人，容量不能低于此数。") % {"n": active_member_count}
    if threshold == Threshold.PAID and not (entry_price and entry_price > 0):
        errors["entry_price"] = _("付费入群需要设置大于 0 的入群费。")
    if entry_price is not None and entry_price < 0:
        errors["entry_price"] = _("入群费不能为负数。")
    if threshold == Threshold.SUBMISSION and not (entry_question or "").strip():
        errors["entry_question"] = _("提交审核的群需要写明提交要求。")
    if errors:
        raise ValidationError(errors)


@transaction.atomic
def create_group(
    *,
    shop: Shop,
    name: str,
    by: User | None,
    tags: list[Tag] = (),
    owner: User | None = None,
    series: GroupSeries | None = None,
    cover=None,
    **settings_fields,
) -> Group:
    """A new group of the shop; `cover` is an image as shequn.images.clean_image stores it (GroupForm)."""
    settings_fields.setdefault("capacity", shop.settings.default_group_capacity)
    validate_group_settings(
        shop=shop, **{k: settings_fields.get(k) for k in ("capacity", "threshold", "entry_price", "entry_question")}
    )
    group = Group(shop=shop, name=name, series=series, **settings_fields)
    if cover:
        group.cover = cover
    group.save()
    if tags:
        group.tags.set(tags)
    if owner is not None:
        _add_member(group=group, user=owner, by=by, role=MemberRole.OWNER)
    hooks.group_created.run(group)
    if by is not None:  # the demo passes None: nobody acted
        audit.record(
            shop=shop,
            by=by,
            action="group.create",
            target=group,
            after=_group_values(group) | {"owner": owner.pk if owner else None, "series": group.series_id},
        )
    return group


def _group_values(group: Group) -> dict:
    return audit.snapshot(group, ("name", *GROUP_FIELDS, "cover")) | {
        "tags": sorted(group.tags.values_list("pk", flat=True))
    }


@transaction.atomic
def update_group(*, group: Group, by: User, name: str, tags: list[Tag], cover=None, **settings_fields) -> Group:
    locked = Group.objects.select_for_update().get(pk=group.pk)
    before = _group_values(locked)
    validate_group_settings(
        shop=group.shop,
        active_member_count=locked.active_member_count,
        **{k: settings_fields.get(k) for k in ("capacity", "threshold", "entry_price", "entry_question")},
    )
    locked.name = name
    for key in GROUP_FIELDS:
        if key in settings_fields:
            setattr(locked, key, settings_fields[key])
    if cover is not None:
        locked.cover = cover
    locked.save()
    locked.tags.set(tags)
    audit.record(
        shop=locked.shop_id, by=by, action="group.update", target=locked, before=before, after=_group_values(locked)
    )
    return locked


@transaction.atomic
def move_group(*, group: Group, by: User, to_state: str, reason: str = "") -> Group:
    """An operator moves a group through its lifecycle (groups.lifecycle decides whether it may)."""
    was = Group.objects.select_for_update().values_list("state", flat=True).get(pk=group.pk)
    group = transition_group(group=group, to_state=to_state, by=by, reason=reason)
    audit.record(
        shop=group.shop_id,
        by=by,
        action="group.transition",
        target=group,
        before={"state": was},
        after={"state": to_state, "reason": reason},
    )
    return group


@transaction.atomic
def create_series(
    *,
    shop: Shop,
    name: str,
    rotation_threshold: int | None = None,
    tags: list[Tag] = (),
    by: User,
    first_group_state: str = GroupState.RECRUITING,
    **settings_fields,
) -> GroupSeries:
    """A series with its permanent public code and its first group."""
    settings_fields.setdefault("capacity", shop.settings.default_group_capacity)
    validate_group_settings(
        shop=shop, **{k: settings_fields.get(k) for k in ("capacity", "threshold", "entry_price", "entry_question")}
    )
    rotation_threshold = rotation_threshold or min(
        shop.settings.default_rotation_threshold, settings_fields["capacity"]
    )
    if rotation_threshold > settings_fields["capacity"]:
        raise ValidationError({"rotation_threshold": _("轮换阈值不能超过群容量。")})
    series = GroupSeries.objects.create(shop=shop, name=name, rotation_threshold=rotation_threshold, **settings_fields)
    if tags:
        series.tags.set(tags)
    InviteLink.objects.create(shop=shop, series=series, inviter=by, channel=Channel.SERIES_CODE, label=_("系列公开码"))
    open_next_group_in_series(series=series, state=first_group_state, by=by)
    audit.record(
        shop=shop,
        by=by,
        action="group.series.create",
        target=series,
        after=audit.snapshot(series, ("name", "rotation_threshold", *GROUP_FIELDS))
        | {"tags": sorted(t.pk for t in tags), "first_group_state": first_group_state},
    )
    return series


def open_next_group_in_series(
    *, series: GroupSeries, state: str = GroupState.RECRUITING, by: User | None = None
) -> Group:
    """Open group number N+1 from the series template (same settings, numbered name)."""
    with transaction.atomic():
        number = (series.groups.aggregate(n=Max("number_in_series"))["n"] or 0) + 1
        group = Group.objects.create(
            shop_id=series.shop_id,
            series=series,
            number_in_series=number,
            name=f"{series.name} {number}群",
            **{k: getattr(series, k) for k in GROUP_FIELDS},
        )
        group.tags.set(series.tags.all())
        hooks.group_created.run(group)
        if state != GroupState.PREPARING:
            transition_group(group=group, to_state=GroupState.RECRUITING, by=by, reason=_("系列自动开新群"))
            if state != GroupState.RECRUITING:
                transition_group(group=group, to_state=state, by=by, reason=_("系列自动开新群"))
    return group


# --- Invite links ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class LinkOptions:
    channel: str = Channel.OPERATOR
    label: str = ""
    expires_at: object = None
    max_uses: int | None = None


# Operators' channel links wait until a group opens (a link to a preparing group only says 群未开放). The
# demo and the series' own code may point at a group being prepared; the dashboard refuses it.
PREPARING_LINK_MESSAGE = gettext_lazy("这个群还在筹备中：先把状态改为「招募中」，再生成邀请链接。")


@transaction.atomic
def create_link(
    *,
    shop: Shop,
    by: User,
    inviter: User,
    group: Group | None = None,
    series: GroupSeries | None = None,
    options: LinkOptions = LinkOptions(),
) -> InviteLink:
    """An operator's channel link (poster, parcel card, partner group…) with optional expiry and cap."""
    target = group or series
    if target is None or target.shop_id != shop.pk:
        raise ValidationError(_("邀请链接必须指向本店的群或系列。"))
    if options.expires_at is not None and options.expires_at <= timezone.now():
        raise ValidationError({"expires_at": _("过期时间必须在未来。")})
    if options.max_uses is not None and options.max_uses < 1:
        raise ValidationError({"max_uses": _("最多使用次数至少为 1。")})
    link = InviteLink.objects.create(
        shop=shop,
        group=group,
        series=series,
        inviter=inviter,
        channel=options.channel,
        label=options.label,
        expires_at=options.expires_at,
        max_uses=options.max_uses,
    )
    audit.record(
        shop=shop,
        by=by,
        action="group.link.create",
        target=link,
        after=audit.snapshot(link, LINK_FIELDS),
        label=_link_label(link, target),
    )
    return link


LINK_FIELDS = ("group", "series", "inviter", "channel", "label", "expires_at", "max_uses")


def _link_label(link: InviteLink, target) -> str:
    return f"{target.name} {link.label or link.get_channel_display()}"


def personal_link(
    *, user: User, group: Group | None = None, series: GroupSeries | None = None, as_operator: bool = False
) -> InviteLink:
    """The user's own link to share a group or series, made once and reused ("my invite link").

    Members may have one for a group they are in (or a series they are in a group of); operators
    for any group or series of their shop (the caller checks the seat).
    """
    target = group or series
    if not as_operator:
        in_target = Membership.objects.filter(user=user, status=MembershipStatus.ACTIVE)
        in_target = in_target.filter(group=group) if group else in_target.filter(group__series=series)
        if not in_target.exists():
            raise ValidationError(_("加入后才能邀请好友。"))
    lookup = {"inviter": user, "is_personal": True, "revoked_at__isnull": True, "group": group, "series": series}
    existing = InviteLink.objects.filter(**lookup).first()
    if existing:
        return existing
    try:
        with transaction.atomic():
            return InviteLink.objects.create(
                shop_id=target.shop_id,
                group=group,
                series=series,
                inviter=user,
                is_personal=True,
                channel=Channel.OPERATOR if as_operator else Channel.MEMBER,
            )
    except IntegrityError:  # made by a concurrent request a moment ago
        return InviteLink.objects.get(**lookup)


@transaction.atomic
def revoke_link(*, link: InviteLink, by: User) -> InviteLink:
    """Revoke once; revoking a revoked link changes nothing and records nothing."""
    revoked = InviteLink.objects.filter(pk=link.pk, revoked_at__isnull=True).update(revoked_at=timezone.now())
    link.refresh_from_db()
    if revoked:
        audit.record(
            shop=link.shop_id,
            by=by,
            action="group.link.revoke",
            target=link,
            before={"revoked_at": None},
            after={"revoked_at": link.revoked_at},
            label=_link_label(link, link.group or link.series),
        )
    return link
