"""What a member or applicant is told about their place in a group: welcome, approved, rejected (with the
reason), removed, warned, and the decision on an appeal.

Each is written through the notifications outbox in the transaction of the act it reports (service
messages: the transactional category, never capped nor held), so it exists exactly when the act committed;
its key names the act (the membership and the time the act stamped on it, or the warning or appeal), so a
repeated call writes nothing a second time.
"""

from django.urls import reverse
from django.utils.translation import gettext as _

from notifications.models import Category
from notifications.services import notify

from .models import Membership, MemberWarning, WarningAppeal


def _stamp(at) -> str:
    return at.strftime("%Y%m%dT%H%M%S.%f") if at else "-"


def _tell(membership: Membership, *, kind: str, key: str, title: str, body: str, url: str) -> None:
    notify(
        shop=membership.group.shop_id,
        user=membership.user_id,
        category=Category.TRANSACTIONAL,
        kind=kind,
        key=key,
        title=title,
        body=body,
        url=url,
    )


def welcome(membership: Membership) -> None:
    """The group's welcome message (入群欢迎语) on joining; none when the group has none."""
    text = membership.group.welcome_message.strip()
    if not text:
        return
    _tell(
        membership,
        kind="group_welcome",
        key=f"group:{membership.pk}:welcome:{_stamp(membership.joined_at)}",
        title=_("欢迎加入「%(group)s」") % {"group": membership.group.name},
        body=text,
        url=reverse("member:group", args=[membership.group_id]),
    )


def approved(membership: Membership) -> None:
    """The application was approved; the group's welcome message comes with it (one message, not two)."""
    body = _("你加入「%(group)s」的申请已通过。") % {"group": membership.group.name}
    if membership.group.welcome_message.strip():
        body = f"{body}\n{membership.group.welcome_message.strip()}"
    _tell(
        membership,
        kind="group_approved",
        key=f"group:{membership.pk}:approved:{_stamp(membership.joined_at)}",
        title=_("入群申请已通过"),
        body=body,
        url=reverse("member:group", args=[membership.group_id]),
    )


def rejected(membership: Membership) -> None:
    body = _("你加入「%(group)s」的申请未通过。") % {"group": membership.group.name}
    if membership.note:
        body += _("原因：%(reason)s") % {"reason": membership.note}
    _tell(
        membership,
        kind="group_rejected",
        key=f"group:{membership.pk}:rejected:{_stamp(membership.requested_at)}",
        title=_("入群申请未通过"),
        body=body,
        url=reverse("member:my_groups"),
    )


def removed(membership: Membership, *, banned: bool = False) -> None:
    if banned:
        body = _("你已被移出「%(group)s」，并且不能再次加入。") % {"group": membership.group.name}
    else:
        body = _("你已被移出「%(group)s」。") % {"group": membership.group.name}
    if membership.note:
        body += _("原因：%(reason)s") % {"reason": membership.note}
    _tell(
        membership,
        kind="group_removed",
        key=f"group:{membership.pk}:removed:{_stamp(membership.left_at)}",
        title=_("你已被移出群"),
        body=body,
        url=reverse("member:my_warnings") if not banned else reverse("member:my_groups"),
    )


def warned(warning: MemberWarning, *, count: int, limit: int) -> None:
    """The member broke a rule: which, and how many warnings are left before removal."""
    body = _("你在「%(group)s」因违反群规收到第 %(count)d 次警告：%(rule)s。累计 %(limit)d 次将被移出群。") % {
        "group": warning.group.name,
        "count": count,
        "rule": warning.rule,
        "limit": limit,
    }
    _tell(
        warning.membership,
        kind="group_warned",
        key=f"group:warning:{warning.pk}",
        title=_("群规警告"),
        body=body + _("如有异议，可以在「我的警告」里申诉。"),
        url=reverse("member:my_warnings"),
    )


def appeal_decided(appeal: WarningAppeal) -> None:
    warning = appeal.warning
    if appeal.state == "withdrawn":
        body = _("你对「%(group)s」的警告（%(rule)s）的申诉已通过，这次警告已撤销。")
    else:
        body = _("你对「%(group)s」的警告（%(rule)s）的申诉未通过，警告维持。")
    body = body % {"group": warning.group.name, "rule": warning.rule}
    if appeal.decision_note:
        body += _("说明：%(note)s") % {"note": appeal.decision_note}
    _tell(
        warning.membership,
        kind="group_appeal_decided",
        key=f"group:appeal:{appeal.pk}:decided",
        title=_("申诉处理结果"),
        body=body,
        url=reverse("member:my_warnings"),
    )
