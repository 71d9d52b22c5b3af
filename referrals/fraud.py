"""Fraud review of referrals (风控审核): detection raises flags, people confirm or clear them.

Detection (`detect`, the beat job `referrals.fraud.detect_fraud`) reads the live events of the last
days and raises one flag per (shop, kind, subject, period) — the unique key makes the job idempotent:
a rerun inserts nothing twice and only adds newly found events to a flag that is still open. Kinds:

- self_referral: someone used their own invite link (refused by the recording code, recorded here by
  `record_self_referral_attempt`), or an invitee acted from a device the inviter themself used;
- ring: A brought (or was helped by) B and B brought A, or a cycle of up to four people;
- shared_device / shared_ip: many different invitees acting from one device or IP within a short window;
- dormant: an inviter's invitees who did nothing (no order, no campaign act) for days after joining;
- burst: more joins brought by one member in one day than the shop's limit (default 20, DOMAIN.md);
- young_account: campaign acts by accounts younger than the shop's limit in minutes.

Review: `confirm_flag` voids the flag's events through `services.void_events` (they leave every board,
a rebuild never brings them back, and rewards not yet granted are withheld); `clear_flag` dismisses it.
Both record who, when and why. A flag nobody decides before its deadline follows the shop's default
(`apply_deadlines`, beat job `referrals.fraud.apply_flag_deadlines`), recorded as automatic.
"""

from __future__ import annotations

from collections import Counter, defaultdict, deque
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from celery import shared_task
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Count, F, Max, Q, QuerySet
from django.shortcuts import get_object_or_404
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.client import client_ip, device_id
from accounts.models import User
from shops import audit
from shops.models import Shop

from . import services
from .fraud_models import DefaultDecision, FlagKind, FlagStatus, FraudFlag, FraudSettings, SelfReferralAttempt
from .models import EventKind, ReferralEdge, ReferralEvent

LOOKBACK = timedelta(days=2)  # how far back each run looks for new suspicious acts
RING_WINDOW = timedelta(days=90)  # how far back the credit graph reaches when closing a ring
DORMANT_SPAN = timedelta(days=14)  # joins re-examined for dormancy once they are old enough
ACTING_KINDS = (EventKind.JOINED, EventKind.CAMPAIGN_ACT)  # the invitee acted: their ip/device is on it
CREDIT_KINDS = (
    EventKind.JOINED,
    EventKind.FIRST_ORDER,
    EventKind.REPEAT_ORDER,
    EventKind.QUALIFIED,
    EventKind.CAMPAIGN_ACT,
)
DOING_KINDS = (EventKind.FIRST_ORDER, EventKind.REPEAT_ORDER, EventKind.QUALIFIED, EventKind.CAMPAIGN_ACT)
REASON_MAX = 200


# --- Settings -------------------------------------------------------------------------------------


def fraud_settings(shop_id: int) -> FraudSettings:
    """The shop's fraud thresholds, made with the defaults on first use."""
    found = FraudSettings.objects.filter(shop_id=shop_id).first()
    if found is not None:
        return found
    try:
        with transaction.atomic():
            return FraudSettings.objects.create(shop_id=shop_id)
    except IntegrityError:  # made by a concurrent request a moment ago
        return FraudSettings.objects.get(shop_id=shop_id)


SETTINGS_FIELDS = (
    "burst_limit_per_day",
    "young_account_minutes",
    "shared_window_minutes",
    "shared_device_limit",
    "shared_ip_limit",
    "dormant_after_days",
    "dormant_min_invitees",
    "decision_hours",
    "default_decision",
)


@transaction.atomic
def update_fraud_settings(*, shop: Shop, by: User, **fields) -> FraudSettings:
    """Change the shop's thresholds (validated by the model's field validators)."""
    current = fraud_settings(shop.pk)
    before = audit.snapshot(current, SETTINGS_FIELDS)
    for name in SETTINGS_FIELDS:
        if name in fields:
            setattr(current, name, fields[name])
    current.full_clean()
    current.save()
    audit.record(
        shop=shop,
        by=by,
        action="fraud.settings.update",
        target=current,
        before=before,
        after=audit.snapshot(current, SETTINGS_FIELDS),
        label=shop.name,
    )
    return current


# --- Recording what the recording code refuses -------------------------------------------------------


def request_fingerprint(request) -> tuple[str | None, str]:
    """(ip, device id) of a request, for the recording services' `ip=` and `device=` (accounts.client:
    the client's address through the trusted proxies, and the device cookie or a browser hash)."""
    return client_ip(request), device_id(request)


def record_self_referral_attempt(
    *,
    shop_id: int,
    user: User,
    action: str,
    link=None,
    ip: str | None = None,
    device: str = "",
    at: datetime | None = None,
) -> SelfReferralAttempt:
    """Keep a refused self-invite (opening or joining through one's own link, acting for oneself)."""
    return SelfReferralAttempt.objects.create(
        shop_id=shop_id,
        user=user,
        action=action[:16],
        link=link,
        ip_address=ip,
        device_id=(device or "")[:64],
        at=at or timezone.now(),
    )


# --- Detection -------------------------------------------------------------------------------------


@dataclass
class Finding:
    kind: str
    subject: str
    period: str
    member_id: int | None
    evidence: dict
    event_ids: list[int] = field(default_factory=list)


def detect(*, shop_id: int | None = None, now: datetime | None = None) -> int:
    """Run every detector over recent activity; returns how many new flags were raised."""
    now = now or timezone.now()
    shop_ids = [shop_id] if shop_id is not None else _active_shops(now)
    raised = 0
    for sid in shop_ids:
        rules = fraud_settings(sid)
        findings = (
            _bursts(sid, rules, now)
            + _shared(sid, rules, now, "device_id")
            + _shared(sid, rules, now, "ip_address")
            + _dormant(sid, rules, now)
            + _rings(sid, now)
            + _young_accounts(sid, rules, now)
            + _self_referrals(sid, now)
        )
        for finding in findings:
            raised += _raise(sid, rules, finding, now)
    return raised


def _active_shops(now: datetime) -> list[int]:
    dormant_from = now - timedelta(days=fraud_settings_max_dormant_days()) - DORMANT_SPAN
    recent = set(
        ReferralEvent.objects.filter(recorded_at__gte=now - LOOKBACK).values_list("shop_id", flat=True).distinct()
    )
    recent |= set(
        SelfReferralAttempt.objects.filter(at__gte=now - LOOKBACK).values_list("shop_id", flat=True).distinct()
    )
    recent |= set(
        ReferralEvent.objects.filter(kind=EventKind.JOINED, occurred_at__gte=dormant_from)
        .values_list("shop_id", flat=True)
        .distinct()
    )
    return sorted(recent)


def fraud_settings_max_dormant_days() -> int:
    """The longest dormancy any shop waits (joins older than this plus DORMANT_SPAN are never re-examined)."""
    return max(FraudSettings.objects.aggregate(m=Max("dormant_after_days"))["m"] or 0, 7)


def _raise(shop_id: int, rules: FraudSettings, finding: Finding, now: datetime) -> int:
    """Insert the flag first (unique key); an open flag gains the events found since. 1 if new."""
    created = False
    try:
        with transaction.atomic():
            flag = FraudFlag.objects.create(
                shop_id=shop_id,
                kind=finding.kind,
                subject=finding.subject[:120],
                period=finding.period,
                member_id=finding.member_id,
                evidence=finding.evidence,
                created_at=now,
                deadline=now + timedelta(hours=rules.decision_hours),
            )
            created = True
    except IntegrityError:
        flag = FraudFlag.objects.get(
            shop_id=shop_id, kind=finding.kind, subject=finding.subject[:120], period=finding.period
        )
    if flag.status == FlagStatus.OPEN and finding.event_ids:
        flag.events.add(*finding.event_ids)  # the through table's unique pair makes a re-add a no-op
        if not created and flag.evidence != finding.evidence:
            FraudFlag.objects.filter(pk=flag.pk, status=FlagStatus.OPEN).update(evidence=finding.evidence)
    return int(created)


def _live(shop_id: int) -> QuerySet[ReferralEvent]:
    return ReferralEvent.objects.filter(shop_id=shop_id, voided_at__isnull=True)


def _day_start(moment: datetime) -> datetime:
    day = timezone.localdate(moment)
    return datetime.combine(day, datetime.min.time(), tzinfo=timezone.get_current_timezone())


def _bursts(shop_id: int, rules: FraudSettings, now: datetime) -> list[Finding]:
    """More joins brought in one day than a person can add: the ones past the limit are suspect."""
    rows = (
        _live(shop_id)
        .filter(kind=EventKind.JOINED, occurred_at__gte=_day_start(now - LOOKBACK))
        .order_by("inviter_id", "occurred_at", "pk")
        .values_list("pk", "inviter_id", "occurred_at")
    )
    per_day: dict[tuple[int, date], list[int]] = defaultdict(list)
    for pk, inviter_id, occurred_at in rows:
        per_day[(inviter_id, timezone.localdate(occurred_at))].append(pk)
    limit = rules.burst_limit_per_day
    return [
        Finding(
            FlagKind.BURST,
            f"user:{inviter_id}",
            day.isoformat(),
            inviter_id,
            {"count": len(ids), "limit": limit, "day": day.isoformat()},
            ids[limit:],
        )
        for (inviter_id, day), ids in per_day.items()
        if len(ids) > limit
    ]


def _shared(shop_id: int, rules: FraudSettings, now: datetime, column: str) -> list[Finding]:
    """Many different invitees acting from one device (or IP) within the window."""
    window = timedelta(minutes=rules.shared_window_minutes)
    if column == "device_id":
        kind, limit, label = FlagKind.SHARED_DEVICE, rules.shared_device_limit, "device"
        qs = _live(shop_id).exclude(device_id="")
    else:
        kind, limit, label = FlagKind.SHARED_IP, rules.shared_ip_limit, "ip"
        qs = _live(shop_id).filter(ip_address__isnull=False)
    rows = (
        qs.filter(kind__in=ACTING_KINDS, invitee__isnull=False, occurred_at__gte=now - LOOKBACK - window)
        .order_by(column, "occurred_at", "pk")
        .values_list("pk", column, "invitee_id", "inviter_id", "occurred_at")
    )
    by_value: dict[str, list[tuple]] = defaultdict(list)
    for row in rows:
        by_value[row[1]].append(row)
    findings = []
    for value, events in by_value.items():
        flagged: dict[int, tuple] = {}
        inside: deque = deque()
        for row in events:
            inside.append(row)
            while inside and row[4] - inside[0][4] > window:
                inside.popleft()
            if len({r[2] for r in inside}) >= limit:
                flagged.update({r[0]: r for r in inside})
        if not flagged:
            continue
        chosen = sorted(flagged.values(), key=lambda r: (r[4], r[0]))
        inviters = Counter(r[3] for r in chosen)
        findings.append(
            Finding(
                kind,
                f"{label}:{value}",
                timezone.localdate(chosen[0][4]).isoformat(),
                inviters.most_common(1)[0][0],
                {
                    "value": value,
                    "invitees": len({r[2] for r in chosen}),
                    "limit": limit,
                    "minutes": rules.shared_window_minutes,
                    "inviters": len(inviters),
                },
                [r[0] for r in chosen],
            )
        )
    return findings


def _dormant(shop_id: int, rules: FraudSettings, now: datetime) -> list[Finding]:
    """Invitees who did nothing for days after joining, counted per inviter and week of the join."""
    from orders.models import Order

    cutoff = now - timedelta(days=rules.dormant_after_days)
    joins = list(
        _live(shop_id)
        .filter(kind=EventKind.JOINED, occurred_at__lt=cutoff, occurred_at__gte=cutoff - DORMANT_SPAN)
        .values_list("pk", "inviter_id", "invitee_id", "occurred_at")
    )
    if not joins:
        return []
    invitees = {row[2] for row in joins}
    active = set(
        ReferralEvent.objects.filter(shop_id=shop_id, invitee_id__in=invitees, kind__in=DOING_KINDS).values_list(
            "invitee_id", flat=True
        )
    )
    active |= set(Order.objects.filter(shop_id=shop_id, member_id__in=invitees).values_list("member_id", flat=True))
    per_week: dict[tuple[int, str], list] = defaultdict(list)
    for row in joins:
        year, week, _weekday = timezone.localdate(row[3]).isocalendar()
        per_week[(row[1], f"{year}-W{week:02d}")].append(row)
    findings = []
    for (inviter_id, week), rows in per_week.items():
        dormant = [row for row in rows if row[2] not in active]
        if len(dormant) >= rules.dormant_min_invitees:
            findings.append(
                Finding(
                    FlagKind.DORMANT,
                    f"user:{inviter_id}",
                    week,
                    inviter_id,
                    {"count": len(dormant), "joined": len(rows), "days": rules.dormant_after_days, "week": week},
                    sorted(row[0] for row in dormant),
                )
            )
    return findings


def _rings(shop_id: int, now: datetime) -> list[Finding]:
    """Cycles of up to four people in the credit graph (A credited for B, B for A…), closed recently."""
    recent = set(
        _live(shop_id)
        .filter(kind__in=CREDIT_KINDS, invitee__isnull=False, recorded_at__gte=now - LOOKBACK)
        .values_list("inviter_id", "invitee_id")
        .distinct()
    )
    if not recent:
        return []
    since = now - RING_WINDOW
    out: dict[int, set[int]] = defaultdict(set)
    into: dict[int, set[int]] = defaultdict(set)
    pairs = set(
        _live(shop_id)
        .filter(kind__in=CREDIT_KINDS, invitee__isnull=False, occurred_at__gte=since)
        .values_list("inviter_id", "invitee_id")
        .distinct()
    )
    pairs |= set(
        ReferralEdge.objects.filter(shop_id=shop_id, created_at__gte=since).values_list("inviter_id", "invitee_id")
    )
    for a, b in pairs:
        out[a].add(b)
        into[b].add(a)
    cycles: set[tuple[int, ...]] = set()
    for u, v in recent:  # u → v is new; close it with a path v → … → u of at most three steps
        if u in out[v]:
            cycles.add(_canonical((u, v)))
        for x in out[v] & into[u]:
            if len({u, v, x}) == 3:
                cycles.add(_canonical((u, v, x)))
        for x in out[v]:
            for y in out[x] & into[u]:
                if len({u, v, x, y}) == 4:
                    cycles.add(_canonical((u, v, x, y)))
    findings = []
    for cycle in sorted(cycles):
        steps = list(zip(cycle, cycle[1:] + cycle[:1], strict=True))
        step_q = Q(pk__in=[])
        for a, b in steps:
            step_q |= Q(inviter_id=a, invitee_id=b)
        ids = sorted(_live(shop_id).filter(step_q, kind__in=CREDIT_KINDS).values_list("pk", flat=True))
        names = _names(cycle)
        findings.append(
            Finding(
                FlagKind.RING,
                "ring:" + "-".join(str(x) for x in sorted(cycle)),
                "",
                None,
                {"cycle": list(cycle), "names": [names.get(x, "") for x in cycle]},
                ids,
            )
        )
    return findings


def _canonical(cycle: tuple[int, ...]) -> tuple[int, ...]:
    """The same cycle, whichever member it was found from: rotated to start at its smallest id."""
    start = cycle.index(min(cycle))
    return cycle[start:] + cycle[:start]


def _young_accounts(shop_id: int, rules: FraudSettings, now: datetime) -> list[Finding]:
    """Campaign acts by accounts younger than the limit, per beneficiary and day, when youth is not the
    only signal: two or more of those new accounts acted from one device or one IP. A brand-new friend
    helping is what a help campaign is for; a handful of fresh accounts on one phone is not."""
    age = timedelta(minutes=rules.young_account_minutes)
    rows = (
        _live(shop_id)
        .filter(
            kind=EventKind.CAMPAIGN_ACT,
            occurred_at__gte=_day_start(now - LOOKBACK),
            invitee__date_joined__gt=F("occurred_at") - age,
        )
        .order_by("occurred_at", "pk")
        .values_list("pk", "inviter_id", "invitee_id", "occurred_at", "ip_address", "device_id")
    )
    per_day: dict[tuple[int, date], list] = defaultdict(list)
    for row in rows:
        per_day[(row[1], timezone.localdate(row[3]))].append(row)
    per_day = {key: shared for key, items in per_day.items() if (shared := _sharing_a_device_or_ip(items))}
    return [
        Finding(
            FlagKind.YOUNG_ACCOUNT,
            f"user:{inviter_id}",
            day.isoformat(),
            inviter_id,
            {
                "count": len(items),
                "accounts": len({r[2] for r in items}),
                "minutes": rules.young_account_minutes,
                "day": day.isoformat(),
            },
            [r[0] for r in items],
        )
        for (inviter_id, day), items in per_day.items()
    ]


def _sharing_a_device_or_ip(rows: list) -> list:
    """The rows whose device or IP at least two different accounts acted from (rows: pk, inviter,
    invitee, at, ip, device)."""
    accounts: dict[tuple[str, str], set] = defaultdict(set)
    for row in rows:
        if row[4]:
            accounts[("ip", row[4])].add(row[2])
        if row[5]:
            accounts[("device", row[5])].add(row[2])
    shared = {key for key, who in accounts.items() if len(who) > 1}
    return [row for row in rows if ("ip", row[4]) in shared or ("device", row[5]) in shared]


def _self_referrals(shop_id: int, now: datetime) -> list[Finding]:
    """Refused self-invites, and invitees acting from a device their own inviter used."""
    findings = []
    attempts: dict[tuple[int, date], list] = defaultdict(list)
    for user_id, action, at in (
        SelfReferralAttempt.objects.filter(shop_id=shop_id, at__gte=_day_start(now - LOOKBACK))
        .order_by("at")
        .values_list("user_id", "action", "at")
    ):
        attempts[(user_id, timezone.localdate(at))].append(action)
    for (user_id, day), actions in attempts.items():
        findings.append(
            Finding(
                FlagKind.SELF_REFERRAL,
                f"user:{user_id}",
                day.isoformat(),
                user_id,
                {"attempts": len(actions), "actions": sorted(set(actions)), "day": day.isoformat()},
            )
        )

    recent = list(
        _live(shop_id)
        .filter(kind__in=ACTING_KINDS, invitee__isnull=False, recorded_at__gte=now - LOOKBACK)
        .exclude(device_id="")
        .values_list("pk", "inviter_id", "invitee_id", "device_id")
    )
    if not recent:
        return findings
    inviters = {row[1] for row in recent}
    own_devices: dict[int, set[str]] = defaultdict(set)
    for user_id, device in (
        SelfReferralAttempt.objects.filter(shop_id=shop_id, user_id__in=inviters)
        .exclude(device_id="")
        .values_list("user_id", "device_id")
    ):
        own_devices[user_id].add(device)
    for user_id, device in (
        ReferralEvent.objects.filter(shop_id=shop_id, invitee_id__in=inviters, occurred_at__gte=now - RING_WINDOW)
        .exclude(device_id="")
        .values_list("invitee_id", "device_id")
        .distinct()
    ):
        own_devices[user_id].add(device)
    per_pair: dict[tuple[int, int], list] = defaultdict(list)
    for pk, inviter_id, invitee_id, device in recent:
        if device in own_devices[inviter_id]:
            per_pair[(inviter_id, invitee_id)].append((pk, device))
    names = _names({u for pair in per_pair for u in pair})
    for (inviter_id, invitee_id), rows in per_pair.items():
        findings.append(
            Finding(
                FlagKind.SELF_REFERRAL,
                f"pair:{inviter_id}-{invitee_id}",
                "",
                inviter_id,
                {"invitee": invitee_id, "invitee_name": names.get(invitee_id, ""), "device": rows[0][1]},
                sorted(pk for pk, _device in rows),
            )
        )
    return findings


def _names(user_ids) -> dict[int, str]:
    return {
        u.pk: u.public_name
        for u in User.objects.filter(pk__in=list(user_ids)).only("display_name", "phone", "email", "username")
    }


# --- Explaining ------------------------------------------------------------------------------------


def explain(flag: FraudFlag) -> str:
    """The flag in plain words for the reviewer (computed, so it follows the reader's language)."""
    e = flag.evidence
    name = flag.member.public_name if flag.member_id and flag.member else _("（未知成员）")
    if flag.kind == FlagKind.BURST:
        return _(
            "%(name)s 在 %(day)s 一天内带来 %(count)d 人入群，超过店铺每日上限 %(limit)d 人"
            "（一个人一天最多能加约 20 位好友）。确认后作废超出上限的 %(excess)d 条入群记录。"
        ) % {"name": name, "day": e["day"], "count": e["count"], "limit": e["limit"], "excess": e["count"] - e["limit"]}
    if flag.kind in (FlagKind.SHARED_DEVICE, FlagKind.SHARED_IP):
        what = _("同一台设备") if flag.kind == FlagKind.SHARED_DEVICE else _("同一个 IP 地址")
        return _(
            "%(what)s在 %(minutes)d 分钟内出现了 %(invitees)d 个不同的被邀请账号（上限 %(limit)d 个），"
            "涉及 %(inviters)d 位邀请人，很可能是一人操作多个账号。主要受益人：%(name)s。"
        ) % {
            "what": what,
            "minutes": e["minutes"],
            "invitees": e["invitees"],
            "limit": e["limit"],
            "inviters": e["inviters"],
            "name": name,
        }
    if flag.kind == FlagKind.DORMANT:
        return _(
            "%(name)s 在 %(week)s 这一周带来的 %(joined)d 人中，有 %(count)d 人入群 %(days)d 天后"
            "仍没有任何下单或活动行为，可能是凑数的账号。"
        ) % {"name": name, "week": e["week"], "joined": e["joined"], "count": e["count"], "days": e["days"]}
    if flag.kind == FlagKind.RING:
        chain = " → ".join(e["names"] + e["names"][:1])
        return _("%(chain)s：这些成员互相邀请或互相助力，形成了一个环，是互刷的典型特征。") % {"chain": chain}
    if flag.kind == FlagKind.YOUNG_ACCOUNT:
        return _(
            "%(day)s 有 %(count)d 次活动行为来自 %(accounts)d 个注册不满 %(minutes)d 分钟、"
            "且共用设备或 IP 的新账号，受益人是 %(name)s，疑似临时注册的小号助力。"
        ) % {"day": e["day"], "count": e["count"], "accounts": e["accounts"], "minutes": e["minutes"], "name": name}
    if flag.kind == FlagKind.SELF_REFERRAL and "attempts" in e:
        return _("%(name)s 在 %(day)s 尝试用自己的邀请链接邀请自己 %(attempts)d 次，系统已拒绝并记录。") % {
            "name": name,
            "day": e["day"],
            "attempts": e["attempts"],
        }
    if flag.kind == FlagKind.SELF_REFERRAL:
        return _("被邀请人 %(invitee)s 使用的设备与邀请人 %(name)s 本人用过的设备相同，疑似同一人用小号邀请自己。") % {
            "invitee": e.get("invitee_name", ""),
            "name": name,
        }
    return flag.get_kind_display()


# --- Review ----------------------------------------------------------------------------------------


def events_to_void(flag: FraudFlag) -> QuerySet[ReferralEvent]:
    """The flag's events, plus what a flagged join led to: the same invitee's later credit to the same inviter."""
    flagged = list(flag.events.values_list("pk", "kind", "inviter_id", "invitee_id"))
    wanted = Q(pk__in=[row[0] for row in flagged])
    for _pk, kind, inviter_id, invitee_id in flagged:
        if kind == EventKind.JOINED and invitee_id:
            wanted |= Q(inviter_id=inviter_id, invitee_id=invitee_id, kind__in=CREDIT_KINDS)
    return ReferralEvent.objects.filter(wanted, shop_id=flag.shop_id, voided_at__isnull=True)


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
        return _decide(locked, FlagStatus.CONFIRMED, by=by, reason=reason, auto=auto, voided=len(voided))


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


# --- Reads (the review queue) ----------------------------------------------------------------------------


def _queue(qs: QuerySet[FraudFlag], *, status: str | None, kind: str | None) -> QuerySet[FraudFlag]:
    qs = qs.select_related("shop", "member", "decided_by").annotate(event_count=Count("events"))
    if status:
        qs = qs.filter(status=status)
    if kind:
        qs = qs.filter(kind=kind)
    return qs.order_by("-status", "deadline", "pk") if not status else qs.order_by("deadline", "pk")


def flags_for_shop(shop: Shop, *, status: str | None = FlagStatus.OPEN, kind: str | None = None) -> QuerySet[FraudFlag]:
    return _queue(FraudFlag.objects.filter(shop=shop), status=status, kind=kind)


def flag_for_shop(shop: Shop, pk: int) -> FraudFlag:
    return get_object_or_404(FraudFlag.objects.select_related("shop", "member", "decided_by"), shop=shop, pk=pk)


def flags_for_platform(
    *, shop_id: int | None = None, status: str | None = FlagStatus.OPEN, kind: str | None = None
) -> QuerySet[FraudFlag]:
    qs = FraudFlag.objects.all()
    if shop_id:
        qs = qs.filter(shop_id=shop_id)
    return _queue(qs, status=status, kind=kind)


def flag_for_platform(pk: int) -> FraudFlag:
    return get_object_or_404(FraudFlag.objects.select_related("shop", "member", "decided_by"), pk=pk)


def flag_events(flag: FraudFlag) -> QuerySet[ReferralEvent]:
    return flag.events.select_related("inviter", "invitee", "group").order_by("occurred_at", "pk")


# --- Beat jobs ---------------------------------------------------------------------------------------


@shared_task(name="referrals.fraud.detect_fraud", acks_late=True, ignore_result=True)
def detect_fraud() -> int | None:
    from shequn.jobs import run_counted

    return run_counted("detect-referral-fraud", detect)


@shared_task(name="referrals.fraud.apply_flag_deadlines", acks_late=True, ignore_result=True)
def apply_flag_deadlines() -> int | None:
    from shequn.jobs import run_counted

    return run_counted("apply-fraud-flag-deadlines", apply_deadlines)
