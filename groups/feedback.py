"""The complaints and suggestions box (投诉与建议): members send, operators route, answer and close.

Guarantees:
- only an active member of one of the shop's groups sends, from that group (the item remembers it);
  the photo passes shequn.images and is stored outside /media/, served to its sender and the shop's staff;
- an item moves only along TRANSITIONS (new → routed → answered → closed; routed again to another
  department; closed from any open state), each move one conditional UPDATE on the state it leaves, so two
  operators acting at once move it once and the second is told it already moved;
- every operator write (departments, routing, answers, closing) is in the shop's audit log with its author,
  in the write's transaction;
- the member is told of the answer once (the notification's key names the item), in the answer's
  transaction, so the message exists exactly when the answer committed.
"""

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from notifications.models import Category
from notifications.services import notify
from shequn import images
from shops import audit

from .feedback_models import (
    ANSWER_MAX_LENGTH,
    DEPARTMENT_NAME_MAX_LENGTH,
    FEEDBACK_MAX_LENGTH,
    Feedback,
    FeedbackDepartment,
    FeedbackKind,
    FeedbackState,
)
from .models import Group, Membership, MembershipStatus

NEW, ROUTED, ANSWERED, CLOSED = FeedbackState.NEW, FeedbackState.ROUTED, FeedbackState.ANSWERED, FeedbackState.CLOSED

# The one table of moves: action -> (the states it may leave, the state it reaches).
TRANSITIONS: dict[str, tuple[frozenset[str], str]] = {
    "route": (frozenset({NEW, ROUTED}), ROUTED),
    "answer": (frozenset({ROUTED}), ANSWERED),
    "close": (frozenset({NEW, ROUTED, ANSWERED}), CLOSED),
}

REFUSALS = {
    "route": gettext_lazy("只有待处理或已转部门的反馈可以转部门。"),
    "answer": gettext_lazy("请先转给处理部门，再答复。"),
    "close": gettext_lazy("这条反馈已经关闭。"),
}


def _text(value: str, *, field: str, limit: int) -> str:
    value = (value or "").strip()
    if not value:
        raise ValidationError({field: _("请填写内容。")})
    if len(value) > limit:
        raise ValidationError({field: _("内容不能超过 %(n)d 个字。") % {"n": limit}})
    return value


# --- Members ------------------------------------------------------------------------------------------


def submit(*, group: Group, member, kind: str, body: str, photo=None) -> Feedback:
    """A complaint or suggestion from `member`, sent from `group` (they must be an active member of it)."""
    if kind not in FeedbackKind.values:
        raise ValidationError({"kind": _("请选择投诉或建议。")})
    if not Membership.objects.filter(group=group, user=member, status=MembershipStatus.ACTIVE).exists():
        raise ValidationError(_("只有群成员才能提交投诉与建议。"))
    body = _text(body, field="body", limit=FEEDBACK_MAX_LENGTH)
    if photo:
        try:
            photo = images.clean_image(photo, bounds=images.PHOTO)
        except ValidationError as error:
            raise ValidationError({"photo": error.messages}) from None
    item = Feedback(shop_id=group.shop_id, group=group, member=member, kind=kind, body=body)
    if photo:
        item.photo.save(photo.name, photo, save=False)
    item.save()
    return item


# --- Operators ----------------------------------------------------------------------------------------


def _move(item: Feedback, *, action: str, by, **fields) -> Feedback:
    """Apply one move of TRANSITIONS and record it: one conditional UPDATE on the state it leaves decides."""
    sources, target = TRANSITIONS[action]
    before = audit.snapshot(item, ["state", *fields])
    moved = Feedback.objects.filter(pk=item.pk, state__in=sources).update(state=target, **fields)
    if not moved:
        item.refresh_from_db()
        raise ValidationError(REFUSALS[action])
    item.refresh_from_db()
    audit.record(
        shop=item.shop_id,
        by=by,
        action=f"group.feedback.{action}",
        target=item,
        before=before,
        after=audit.snapshot(item, ["state", *fields]),
        label=str(item),
    )
    return item


def route(*, item: Feedback, by, department: FeedbackDepartment) -> Feedback:
    """Send the item to one of the shop's active departments (again, to change the department)."""
    if department.shop_id != item.shop_id or not department.active:
        raise ValidationError({"department": _("请选择本店启用中的部门。")})
    with transaction.atomic():
        return _move(item, action="route", by=by, department=department, routed_at=timezone.now())


def answer(*, item: Feedback, by, text: str) -> Feedback:
    """Answer a routed item; the member is told once, with the answer on their page."""
    text = _text(text, field="answer", limit=ANSWER_MAX_LENGTH)
    with transaction.atomic():
        item = _move(item, action="answer", by=by, answer=text, answered_at=timezone.now(), answered_by=by)
        notify(
            shop=item.shop_id,
            user=item.member_id,
            category=Category.TRANSACTIONAL,
            kind="feedback_answered",
            key=f"feedback:{item.pk}:answered",
            title=_("你的%(kind)s有答复了") % {"kind": item.get_kind_display()},
            body=text,
            url=reverse("member:feedback_detail", args=[item.pk]),
        )
    return item


def close(*, item: Feedback, by) -> Feedback:
    with transaction.atomic():
        return _move(item, action="close", by=by, closed_at=timezone.now())


def create_department(*, shop_id: int, by, name: str) -> FeedbackDepartment:
    name = _text(name, field="name", limit=DEPARTMENT_NAME_MAX_LENGTH)
    try:
        with transaction.atomic():
            department = FeedbackDepartment.objects.create(shop_id=shop_id, name=name)
            audit.record(
                shop=shop_id,
                by=by,
                action="group.feedback.department.create",
                target=department,
                after={"name": name},
                label=name,
            )
    except IntegrityError:
        raise ValidationError({"name": _("已有同名部门。")}) from None
    return department


def set_department_active(*, department: FeedbackDepartment, by, active: bool) -> FeedbackDepartment:
    with transaction.atomic():
        before = department.active
        if FeedbackDepartment.objects.filter(pk=department.pk).exclude(active=active).update(active=active):
            department.active = active
            audit.record(
                shop=department.shop_id,
                by=by,
                action="group.feedback.department.update",
                target=department,
                before={"active": before},
                after={"active": active},
                label=department.name,
            )
    return department
