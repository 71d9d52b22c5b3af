"""Review: people (or the deadline) confirm a flag, voiding its events, or clear it; each decided once."""

from __future__ import annotations

from datetime import datetime

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User
from shequn import hooks
from shops import audit

from .. import services
from ..fraud_models import DefaultDecision, FlagStatus, FraudFlag
from ..models import EventKind, ReferralEvent
from .detection import CREDIT_KINDS
from .thresholds import fraud_settings

REASON_MAX = 200


def events_to_void(flag: FraudFlag) -> QuerySet[ReferralEvent]:
    """The flag's events, plus what a flagged join led to: the same invitee's later credit to the same inviter."""
    flagged = list(flag.events.values_list("pk", "kind", "inviter_id", "invitee_id"))
    wanted = Q(pk__in=[row[0] for row in flagged])
    for _pk, kind, inviter_id, invitee_id in flagged:
        if kind == EventKind.JOINED and invitee_id:
            wanted |= Q(inviter_id=inviter_id, invitee_id=invitee_id, kind__in=CREDIT_KINDS)
    return ReferralEvent.objects.filter(wanted, shop_id=flag.shop_id, voided_at__isnull=True)


def covered_members(flag: FraudFlag) -> set[int]:
    """The members a flag covers: its member when it names one (a self-referral, a burst: the invitees of a
    burst may be real friends); else, for a device, an IP, a ring or a pair, everyone its subject or its
    events name (the inviter each event credits and the invitee who acted). One query at most."""
    if flag.member_id:
        return {flag.member_id}
    prefix, _sep, rest = flag.subject.partition(":")
    covered = set()
    if prefix in ("ring", "pair"):
        covered |= {int(part) for part in rest.split("-") if part.isascii() and part.isdigit()}
    for inviter_id, invitee_id in flag.events.values_list("inviter_id", "invitee_id"):
        covered |= {person for person in (inviter_id, invitee_id) if person}
    return covered


def _clean_reason(reason: str) -> str:
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": _("请写明处理理由。")})
    return reason[:REASON_MAX]


def _locked_open(flag: FraudFlag) -> FraudFlag:
    locked = FraudFlag.objects.select_for_update(of=("self",)).select_related("member").get(pk=flag.pk)
    if locked.status != FlagStatus.OPEN:
        raise ValidationError(_("该标记已经处理过了（%(status)s）。") % {"status": locked.get_status_display()})
    return locked


def confirm_flag(*, flag: FraudFlag, by: User | None, reason: str, auto: bool = False) -> FraudFlag:
    """Confirm: void the flag's events (they leave every board; rewards not yet granted are withheld)
    and record who and why. Once: a second decision on the same flag is refused."""
    reason = _clean_reason(reason)
    with transaction.atomic():
        locked = _locked_open(flag)
        voided = services.void_events(
            events_to_void(locked), by=by, reason=f"{locked.get_kind_display()}：{reason}"[:REASON_MAX]
        )
        decided = _decide(locked, FlagStatus.CONFIRMED, by=by, reason=reason, auto=auto, voided=len(voided))
        hooks.fraud_flag_confirmed.run(decided)  # e.g. the coupons of every member it covers are voided
        return decided


def clear_flag(*, flag: FraudFlag, by: User | None, reason: str, auto: bool = False) -> FraudFlag:
    """Clear: the flag is dismissed, its events stay counted; who and why are recorded."""
    reason = _clean_reason(reason)
    with transaction.atomic():
        return _decide(_locked_open(flag), FlagStatus.CLEARED, by=by, reason=reason, auto=auto, voided=0)


def _decide(flag: FraudFlag, status: str, *, by, reason: str, auto: bool, voided: int) -> FraudFlag:
    was = flag.status
    flag.status, flag.decided_at, flag.decided_by = status, timezone.now(), by
    flag.decision_reason, flag.auto_decided, flag.voided_count = reason, auto, voided
    flag.save(update_fields=["status", "decided_at", "decided_by", "decision_reason", "auto_decided", "voided_count"])
    if by is not None:  # a reviewer's decision; the deadline job's (by=None) is the flag's own auto_decided record
        audit.record(
            shop=flag.shop_id,
            by=by,
            action="fraud.flag.confirm" if status == FlagStatus.CONFIRMED else "fraud.flag.clear",
            target=flag,
            before={"status": was},
            after={"status": status, "reason": reason, "voided": voided},
            label=f"{flag.get_kind_display()} {flag.subject}"[:200],
        )
    return flag


def decide(*, flag: FraudFlag, action: str, by: User, reason: str) -> FraudFlag:
    if action == "confirm":
        return confirm_flag(flag=flag, by=by, reason=reason)
    if action == "clear":
        return clear_flag(flag=flag, by=by, reason=reason)
    raise ValidationError(_("请选择确认或排除。"))


def apply_deadlines(*, now: datetime | None = None, limit: int = 500) -> int:
    """Flags past their deadline follow their shop's default (hold = confirm, release = clear), each once."""
    now = now or timezone.now()
    done = 0
    due = (
        FraudFlag.objects.filter(status=FlagStatus.OPEN, deadline__lte=now)
        .select_related("shop__fraud_settings")
        .order_by("deadline", "pk")[:limit]
    )
    for flag in due:
        rules = fraud_settings(flag.shop_id)
        try:
            if rules.default_decision == DefaultDecision.HOLD:
                confirm_flag(flag=flag, by=None, reason=_("审核期限已过，按店铺默认处理：扣留"), auto=True)
            else:
                clear_flag(flag=flag, by=None, reason=_("审核期限已过，按店铺默认处理：放行"), auto=True)
        except ValidationError:
            continue  # someone decided it a moment ago
        done += 1
    return done
