"""群规 enforcement: warnings, the removal the Nth warning brings, appeals, and the acts of a group's
群主/管理员 on the member pages (approve, reject, remove), each through groups.powers.

Guarantees:
- who may act is decided by groups.powers alone, here as well as in the pages (a service called from
  anywhere refuses a person without the power);
- a member's warnings are counted under their membership's row lock, so two stewards warning at once give
  two numbered warnings and the one that reaches the shop's count (AutomationSettings.warnings_before_removal)
  removes the member exactly once; withdrawn warnings and those of an earlier stay in the group don't count;
- every act by a 群主/管理员 or an operator records who made it in the shop's audit log, in its own
  transaction, and tells the member through the outbox once (groups.messages).
"""

import re

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User
from shops import audit
from shops.models import ROLE_RANK, Operator

from . import messages, services
from .models import (
    AppealState,
    Group,
    MemberRole,
    Membership,
    MembershipStatus,
    MemberWarning,
    WarningAppeal,
    automation_settings_for,
)
from .powers import OPERATOR_ROLE_FOR_POWERS, GroupPower, check_power

RULE_MAX_LENGTH = 200
APPEAL_MAX_LENGTH = 500
NOTE_MAX_LENGTH = 200


def warnings_before_removal(shop_id: int) -> int:
    return automation_settings_for(shop_id).warnings_before_removal


# A rule line's list marker: "-", "•", "1.", "2、", "(3)", "（4）"…
LIST_MARKER = re.compile(r"^\s*(?:[-•·*]|\d+\s*[.、)）]|[(（]\d+[)）])\s*")


def rule_choices(group: Group) -> list[str]:
    """The group's rules (群规), one per non-empty line without its list marker, to pick the broken one from."""
    lines = (LIST_MARKER.sub("", line).strip() for line in (group.rules or "").splitlines())
    return [line[:RULE_MAX_LENGTH] for line in lines if line][:30]


def standing_warnings(membership: Membership) -> QuerySet[MemberWarning]:
    """The warnings that count towards removal: not withdrawn, given during the member's current stay."""
    qs = MemberWarning.objects.filter(membership=membership, withdrawn_at__isnull=True)
    return qs.filter(at__gte=membership.joined_at) if membership.joined_at else qs


def is_shop_operator(user: User, shop_id: int) -> bool:
    """The shop's staff with a write role (the operators groups.powers gives every power)."""
    roles = [role for role, rank in ROLE_RANK.items() if rank >= ROLE_RANK[OPERATOR_ROLE_FOR_POWERS]]
    return Operator.objects.filter(shop_id=shop_id, user_id=user.pk, role__in=roles).exists()


def _locked(membership: Membership) -> Membership:
    return Membership.objects.select_for_update(of=("self",)).select_related("group", "user").get(pk=membership.pk)


def _check_target(m: Membership, by: User) -> None:
    """Whom one may warn or remove: an active member, never oneself nor the 群主; a 管理员 only by an operator."""
    if m.status != MembershipStatus.ACTIVE:
        raise ValidationError(_("该成员已不在群中。"))
    if m.user_id == by.pk:
        raise ValidationError(_("不能对自己执行此操作。"))
    if m.role == MemberRole.OWNER:
        raise ValidationError(_("不能对群主执行此操作。"))
    if m.role == MemberRole.ADMIN and not is_shop_operator(by, m.group.shop_id):
        raise PermissionDenied(_("只有运营可以对管理员执行此操作。"))


@transaction.atomic
def warn(*, membership: Membership, by: User, rule: str) -> MemberWarning:
    """Warn an active member for breaking `rule`; the warning that reaches the shop's count removes them.

    One audit entry (the warning, saying whether it removed) and one message (warned, or removed)."""
    rule = (rule or "").strip()[:RULE_MAX_LENGTH]
    if not rule:
        raise ValidationError({"rule": _("请写明违反的群规。")})
    m = _locked(membership)
    check_power(by, m.group, GroupPower.WARN_MEMBERS)
    _check_target(m, by)
    limit = warnings_before_removal(m.group.shop_id)
    count = standing_warnings(m).count() + 1
    removes = count >= limit
    warning = MemberWarning.objects.create(
        group=m.group, membership=m, member_id=m.user_id, rule=rule, by=by, removed_member=removes
    )
    if removes:
        reason = _("第 %(count)d 次群规警告：%(rule)s") % {"count": count, "rule": rule}
        services.remove_by_rule(membership=m, by=by, reason=reason)  # tells the member they were removed
    else:
        messages.warned(warning, count=count, limit=limit)
    audit.record(
        shop=m.group.shop_id,
        by=by,
        action="group.member.warn",
        target=warning,
        after={"rule": rule, "count": count, "limit": limit, "removed": removes},
        label=f"{m.user.public_name} @ {m.group.name}",
    )
    return warning


@transaction.atomic
def remove(*, membership: Membership, by: User, reason: str = "") -> Membership:
    """A removal through the powers: the shop's operators remove any member; a 群主/管理员 only one whose
    standing warnings have reached the shop's count (the rule removes, not the steward's mood)."""
    m = _locked(membership)
    check_power(by, m.group, GroupPower.REMOVE_MEMBERS)
    _check_target(m, by)
    if not is_shop_operator(by, m.group.shop_id):
        limit = warnings_before_removal(m.group.shop_id)
        if standing_warnings(m).count() < limit:
            raise ValidationError(_("该成员的群规警告未满 %(n)d 次，群主和管理员不能移出。") % {"n": limit})
    return services.remove(membership=m, by=by, reason=reason)


@transaction.atomic
def approve(*, membership: Membership, by: User) -> Membership:
    """An application approved by someone with the power (the 群主/管理员 on the member pages)."""
    check_power(by, membership.group, GroupPower.APPROVE_APPLICANTS)
    return services.approve(membership=membership, by=by)


@transaction.atomic
def reject(*, membership: Membership, by: User, reason: str) -> Membership:
    """An application rejected with its reason (sent to the applicant)."""
    check_power(by, membership.group, GroupPower.APPROVE_APPLICANTS)
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": _("请填写拒绝原因，申请人会收到。")})
    return services.reject(membership=membership, by=by, reason=reason)


# --- Appeals ----------------------------------------------------------------------------------------


@transaction.atomic
def appeal(*, warning: MemberWarning, member: User, text: str) -> WarningAppeal:
    """The warned member asks the shop's operators to withdraw a warning: once per warning."""
    if warning.member_id != member.pk:
        raise PermissionDenied
    text = (text or "").strip()
    if not text:
        raise ValidationError({"text": _("请写明申诉理由。")})
    if len(text) > APPEAL_MAX_LENGTH:
        raise ValidationError({"text": _("申诉理由最多 %(n)d 字。") % {"n": APPEAL_MAX_LENGTH}})
    if warning.withdrawn_at is not None:
        raise ValidationError(_("这次警告已撤销。"))
    try:
        with transaction.atomic():
            return WarningAppeal.objects.create(warning=warning, shop_id=warning.group.shop_id, text=text)
    except IntegrityError:
        raise ValidationError(_("这次警告已经申诉过了。")) from None


@transaction.atomic
def decide_appeal(*, appeal: WarningAppeal, by: User, withdraw: bool, note: str = "") -> WarningAppeal:
    """An operator upholds or withdraws the appealed warning; decided once. A withdrawn warning no longer
    counts; a member it removed may join again through any invite link (removal is not a ban)."""
    locked = WarningAppeal.objects.select_for_update(of=("self",)).select_related(
        "warning", "warning__group", "warning__membership", "warning__membership__group"
    )
    a = locked.get(pk=appeal.pk)
    if not is_shop_operator(by, a.shop_id):
        raise PermissionDenied(_("您的角色无权执行此操作。"))
    if a.state != AppealState.OPEN:
        raise ValidationError(_("该申诉已处理。"))
    now = timezone.now()
    a.state = AppealState.WITHDRAWN if withdraw else AppealState.UPHELD
    a.decided_by, a.decided_at, a.decision_note = by, now, (note or "").strip()[:NOTE_MAX_LENGTH]
    a.save(update_fields=["state", "decided_by", "decided_at", "decision_note"])
    if withdraw:
        MemberWarning.objects.filter(pk=a.warning_id).update(withdrawn_at=now)
    audit.record(
        shop=a.shop_id,
        by=by,
        action="group.warning.appeal.decide",
        target=a,
        before={"state": AppealState.OPEN},
        after={"state": a.state, "decision_note": a.decision_note},
        label=f"{a.warning.rule} @ {a.warning.group.name}",
    )
    messages.appeal_decided(a)
    return a
