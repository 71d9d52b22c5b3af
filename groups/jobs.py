"""The groups' periodic jobs: lifecycle moves on time, link expiry, the series' next group, lurker follow-ups
and the weekly health snapshot. Celery tasks (groups/tasks.py) run each under a lease (shequn.jobs).

Every function takes `now` (tests freeze time by passing it) and is safe to run twice or at once:
- lifecycle moves go through `transition_group` (row lock + the table of allowed moves), recorded like a
  manual move with `by=None` and a reason; a group moved meanwhile by an operator is left alone;
- a lurker's follow-up is a `LurkerFollowUp` row unique per (membership, period), inserted before the
  notification (itself unique by key), so at most one message per period;
- a snapshot is unique per (group, week); a second run finds it and adds nothing.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Count, Exists, F, OuterRef, Q, Subquery
from django.db.models.functions import Coalesce, Least
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User
from notifications.services import notify
from shequn import hooks
from shequn.jobs import JobResult
from shops import audit

from .lifecycle import JOINABLE_STATES, transition_group
from .models import (
    AutomationSettings,
    Group,
    GroupHealthSnapshot,
    GroupSeries,
    GroupState,
    GroupTransition,
    InviteLink,
    LurkerFollowUp,
    MemberActivity,
    MemberRole,
    Membership,
    MembershipStatus,
)

SHANGHAI = ZoneInfo("Asia/Shanghai")
PERIOD_EPOCH = date(2000, 1, 1)
CHUNK = 500
# Roles that run the group: never called lurkers, never sent a follow-up.
STAFF_ROLES = (MemberRole.OWNER, MemberRole.ADMIN)


def _result(result: JobResult | None) -> JobResult:
    return result if result is not None else JobResult()


def _settings_by_shop(shop_ids: Iterable[int]) -> dict[int, AutomationSettings]:
    shop_ids = set(shop_ids)
    saved = {s.shop_id: s for s in AutomationSettings.objects.filter(shop_id__in=shop_ids)}
    return {shop_id: saved.get(shop_id) or AutomationSettings(shop_id=shop_id) for shop_id in shop_ids}


def _move(group: Group, to_state: str, reason: str, result: JobResult, now: datetime) -> bool:
    try:
        transition_group(group=group, to_state=to_state, by=None, reason=reason, at=now)
    except ValidationError:
        return False  # moved meanwhile (by an operator or another run): its new state stands
    result.count(group.shop_id)
    return True


# --- Lifecycle moves on time --------------------------------------------------------------------


def start_planned_groups(*, now: datetime | None = None, result: JobResult | None = None) -> int:
    """Recruiting → active once the planned start has come."""
    now, result = now or timezone.now(), _result(result)
    moved = 0
    for group in Group.objects.filter(state=GroupState.RECRUITING, planned_start_at__lte=now).order_by("pk")[:CHUNK]:
        moved += _move(group, GroupState.ACTIVE, _("到达计划开营时间，自动开营"), result, now)
    return moved


def _entered(state: str):
    """When the group last entered `state` (from its recorded moves)."""
    return Subquery(
        GroupTransition.objects.filter(group=OuterRef("pk"), to_state=state).order_by("-at", "-pk").values("at")[:1]
    )


def _active_members_since(since, until: datetime):
    """How many distinct members did something in the group in [since, until] (a subquery per group;
    `since` may be an OuterRef to the group's own annotation)."""
    return Coalesce(
        Subquery(
            MemberActivity.objects.filter(group=OuterRef("pk"), at__gte=since, at__lte=until)
            .order_by()
            .values("group")
            .annotate(n=Count("user", distinct=True))
            .values("n")[:1]
        ),
        0,
    )


def is_quiet(*, active_members: int, members: int, percent: int) -> bool:
    """Low activity: nobody did anything, or fewer than `percent`% of the members did."""
    return active_members == 0 or active_members * 100 < percent * members


def cool_and_archive(*, now: datetime | None = None, result: JobResult | None = None) -> int:
    """Active → cooling after the shop's quiet days of low activity. A cooling group whose members are active
    again (since it cooled, by the same measure) → active; one still quiet after the shop's archive days →
    archived. Returns the number of moves. Cooling groups are judged first, so a group moves once per run."""
    now, result = now or timezone.now(), _result(result)
    moved = 0
    shop_ids = (
        Group.objects.filter(state__in=[GroupState.ACTIVE, GroupState.COOLING])
        .values_list("shop_id", flat=True)
        .distinct()
    )
    for shop_id, conf in _settings_by_shop(shop_ids).items():
        window = now - timedelta(days=conf.quiet_days)
        cooling = (
            Group.objects.filter(shop_id=shop_id, state=GroupState.COOLING)
            .annotate(cooling_since=Coalesce(_entered(GroupState.COOLING), F("created_at")))
            .annotate(recent_active=_active_members_since(OuterRef("cooling_since"), now))
            .order_by("pk")
        )
        for group in cooling:
            if not is_quiet(
                active_members=group.recent_active, members=group.active_member_count, percent=conf.quiet_active_percent
            ):
                moved += _move(group, GroupState.ACTIVE, _("成员互动恢复，自动恢复活跃"), result, now)
            elif group.cooling_since <= now - timedelta(days=conf.archive_after_days):
                moved += _move(
                    group,
                    GroupState.ARCHIVED,
                    _("冷却 %(n)d 天仍未恢复活跃，自动归档") % {"n": conf.archive_after_days},
                    result,
                    now,
                )
        active = (
            Group.objects.filter(shop_id=shop_id, state=GroupState.ACTIVE)
            .annotate(
                active_since=Coalesce(_entered(GroupState.ACTIVE), F("created_at")),
                recent_active=_active_members_since(window, now),
            )
            .filter(active_since__lte=window)
            .order_by("pk")
        )
        for group in active:
            if is_quiet(
                active_members=group.recent_active, members=group.active_member_count, percent=conf.quiet_active_percent
            ):
                moved += _move(
                    group,
                    GroupState.COOLING,
                    _("连续 %(n)d 天活跃度低，自动转为冷却") % {"n": conf.quiet_days},
                    result,
                    now,
                )
    return moved


def run_lifecycle(*, now: datetime | None = None, result: JobResult | None = None) -> int:
    now = now or timezone.now()
    return start_planned_groups(now=now, result=result) + cool_and_archive(now=now, result=result)


def plan_start(*, group: Group, at: datetime | None) -> Group:
    """Set (or clear) when a recruiting group starts by itself."""
    if at is not None and group.state not in (GroupState.PREPARING, GroupState.RECRUITING):
        raise ValidationError({"planned_start_at": _("只有筹备中或招募中的群可以设置计划开营时间。")})
    Group.objects.filter(pk=group.pk).update(planned_start_at=at)
    group.planned_start_at = at
    return group


AUTOMATION_FIELDS = (
    "reminder_lead_days",
    "quiet_days",
    "quiet_active_percent",
    "archive_after_days",
    "lurker_days",
    "lurker_follow_up_days",
    "lurker_follow_up_enabled",
    "warnings_before_removal",
)
# (least, most) each number may be: a reminder at most a month ahead, a percentage, at most a year of days.
AUTOMATION_LIMITS = {
    "reminder_lead_days": (0, 30),
    "quiet_days": (1, 365),
    "quiet_active_percent": (0, 100),
    "archive_after_days": (1, 365),
    "lurker_days": (1, 365),
    "lurker_follow_up_days": (7, 365),
    "warnings_before_removal": (1, 20),
}


@transaction.atomic
def update_automation_settings(*, shop_id: int, by: User, **values) -> AutomationSettings:
    """Save the shop's automation settings; every number within its limits, else nothing is saved."""
    errors = {}
    for name, (least, most) in AUTOMATION_LIMITS.items():
        value = values.get(name)
        if not isinstance(value, int) or not least <= value <= most:
            errors[name] = _("请填写 %(least)d–%(most)d 之间的整数。") % {"least": least, "most": most}
    if errors:
        raise ValidationError(errors)
    current = AutomationSettings.objects.select_for_update().filter(shop_id=shop_id).first()
    before = audit.snapshot(current, AUTOMATION_FIELDS) if current else {}
    row, _created = AutomationSettings.objects.update_or_create(  # one row per shop (primary key)
        shop_id=shop_id, defaults={name: values[name] for name in AUTOMATION_FIELDS}
    )
    audit.record(
        shop=shop_id,
        by=by,
        action="groups.automation.update",
        target=row,
        before=before,
        after=audit.snapshot(row, AUTOMATION_FIELDS),
    )
    return row


# --- Invite links and series ----------------------------------------------------------------------


def expire_links(*, now: datetime | None = None, result: JobResult | None = None) -> int:
    """Links past their expiry are revoked as of their expiry time (they admitted nobody since anyway);
    this also frees a member's one-personal-link slot."""
    now, result = now or timezone.now(), _result(result)
    expired = InviteLink.objects.filter(revoked_at__isnull=True, expires_at__lte=now)
    for row in expired.values("shop_id").annotate(n=Count("pk")).order_by():
        result.count(row["shop_id"], row["n"])
    return expired.update(revoked_at=F("expires_at"))


def open_next_series_groups(*, result: JobResult | None = None) -> int:
    """For each series whose open groups have all reached the rotation threshold, open the next group now
    (joins would open it on demand; this keeps the public code's next group ready in advance)."""
    from .services import open_next_group_in_series

    result = _result(result)
    joinable = Q(groups__state__in=JOINABLE_STATES)
    with_room = joinable & Q(groups__active_member_count__lt=Least(F("groups__capacity"), F("rotation_threshold")))
    full = (
        GroupSeries.objects.annotate(
            open_groups=Count("groups", filter=joinable), with_room=Count("groups", filter=with_room)
        )
        .filter(open_groups__gt=0, with_room=0)
        .order_by("pk")
    )
    opened = 0
    for series in full[:CHUNK]:
        with transaction.atomic():
            series = GroupSeries.objects.select_for_update().get(pk=series.pk)  # one opener at a time
            has_room = (
                Group.objects.filter(series=series, state__in=JOINABLE_STATES)
                .filter(active_member_count__lt=Least(F("capacity"), series.rotation_threshold))
                .exists()
            )
            if not has_room:
                open_next_group_in_series(series=series)
                result.count(series.shop_id)
                opened += 1
    return opened


# --- Lurkers --------------------------------------------------------------------------------------


def lurkers(*, group_ids, now: datetime, lurker_days: int):
    """Active ordinary members of the groups with no activity for `lurker_days` (longest silent first)."""
    return (
        Membership.objects.filter(group_id__in=group_ids, status=MembershipStatus.ACTIVE)
        .exclude(role__in=STAFF_ROLES)
        .annotate(silent_since=Coalesce("last_active_at", "joined_at", "requested_at"))
        .filter(silent_since__lt=now - timedelta(days=lurker_days))
        .order_by("silent_since", "pk")
    )


def follow_up_period(now: datetime, period_days: int) -> int:
    return (timezone.localtime(now, SHANGHAI).date() - PERIOD_EPOCH).days // period_days


def follow_up_lurkers(*, now: datetime | None = None, result: JobResult | None = None, limit: int = 5000) -> int:
    """One polite private message per lurker per period (the shop's follow-up days).

    The row comes first, unique per (membership, period); a message within the last period (e.g. when the
    shop shortened its period) also counts, so nobody hears from us twice in one period.
    """
    now, result = now or timezone.now(), _result(result)
    sent = 0
    groups = Group.objects.filter(state__in=JOINABLE_STATES)
    for shop_id, conf in _settings_by_shop(groups.values_list("shop_id", flat=True).distinct()).items():
        if not conf.lurker_follow_up_enabled:
            continue
        period = follow_up_period(now, conf.lurker_follow_up_days)
        recent = LurkerFollowUp.objects.filter(
            membership=OuterRef("pk"), sent_at__gt=now - timedelta(days=conf.lurker_follow_up_days)
        )
        candidates = (
            lurkers(group_ids=groups.filter(shop_id=shop_id).values("pk"), now=now, lurker_days=conf.lurker_days)
            .exclude(Exists(recent))
            .select_related("group")[:limit]
        )
        for membership in candidates:
            try:
                with transaction.atomic():
                    LurkerFollowUp.objects.create(
                        membership=membership, period=period, sent_at=now, silent_since=membership.silent_since
                    )
                    notify(
                        shop=shop_id,
                        user=membership.user_id,
                        category="marketing",
                        kind="lurker_follow_up",
                        key=f"lurker:{membership.pk}:{period}",
                        title=_("好久不见，「%(group)s」想你了") % {"group": membership.group.name},
                        body=_("最近群里有新的分享和活动，有空回来看看吧。如有任何问题或建议，也欢迎直接告诉群主。"),
                        url=settings.SITE_URL + reverse("member:group", args=[membership.group_id]),
                    )
            except IntegrityError:
                continue  # this period's follow-up exists already (another run got there first)
            result.count(shop_id)
            sent += 1
    return sent


# --- Weekly health snapshot -----------------------------------------------------------------------


@dataclass(frozen=True)
class Week:
    start_date: date
    start: datetime
    end: datetime


def week_of(day: date) -> Week:
    """The Monday-to-Monday week (Shanghai time) containing `day`."""
    monday = day - timedelta(days=day.weekday())
    start = datetime(monday.year, monday.month, monday.day, tzinfo=SHANGHAI)
    return Week(monday, start, start + timedelta(days=7))


def last_complete_week(now: datetime) -> Week:
    return week_of(timezone.localtime(now, SHANGHAI).date() - timedelta(days=7))


def health_figures(group_ids: list[int], start: datetime, end: datetime) -> dict[int, dict]:
    """Each group's week in a constant number of queries: joins, leaves, active members, and the figures
    the apps above add through the group_health_figures hook (orders: orders, GMV, repeat buyers)."""
    figures = {
        gid: {"joins": 0, "leaves": 0, "active_members": 0, "orders": 0, "gmv": Decimal("0.00"), "repeat_buyers": 0}
        for gid in group_ids
    }
    in_groups = Membership.objects.filter(group_id__in=group_ids).order_by()
    for field, key in (("joined_at", "joins"), ("left_at", "leaves")):
        for row in (
            in_groups.filter(**{f"{field}__gte": start, f"{field}__lt": end}).values("group_id").annotate(n=Count("pk"))
        ):
            figures[row["group_id"]][key] = row["n"]
    active = (
        MemberActivity.objects.filter(group_id__in=group_ids, at__gte=start, at__lt=end)
        .order_by()
        .values("group_id")
        .annotate(n=Count("user_id", distinct=True))
    )
    for row in active:
        figures[row["group_id"]]["active_members"] = row["n"]
    for more in hooks.group_health_figures.answers(group_ids, start, end):
        for gid, extra in more.items():
            figures[gid].update(extra)
    return figures


def take_health_snapshots(
    *,
    now: datetime | None = None,
    week: Week | None = None,
    result: JobResult | None = None,
    shop_id: int | None = None,
) -> int:
    """Store last week's snapshot of every group that lived through it and has none yet (unique per week);
    of one shop's groups only with `shop_id` (the demo writes its past weeks)."""
    now, result = now or timezone.now(), _result(result)
    week = week or last_complete_week(now)
    groups = (
        Group.objects.filter(created_at__lt=week.end, **({"shop_id": shop_id} if shop_id is not None else {}))
        .annotate(archived_at=_entered(GroupState.ARCHIVED))
        .exclude(state=GroupState.ARCHIVED, archived_at__lt=week.start)
        .exclude(health_snapshots__week_start=week.start_date)
        .order_by("pk")
        .values("pk", "shop_id", "state", "active_member_count")
    )
    taken = 0
    while True:
        chunk = list(groups[:CHUNK])
        if not chunk:
            return taken
        figures = health_figures([g["pk"] for g in chunk], week.start, week.end)
        created = GroupHealthSnapshot.objects.bulk_create(
            [
                GroupHealthSnapshot(
                    group_id=g["pk"],
                    week_start=week.start_date,
                    state=g["state"],
                    members=g["active_member_count"],
                    taken_at=now,
                    **figures[g["pk"]],
                )
                for g in chunk
            ],
            ignore_conflicts=True,
        )
        for g in chunk:
            result.count(g["shop_id"])
        taken += len(created)
