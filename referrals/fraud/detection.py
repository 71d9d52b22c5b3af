"""Detection: each detector reads recent live events and returns findings; `detect` raises them as flags."""

from __future__ import annotations

from collections import Counter, defaultdict, deque
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from django.db import IntegrityError, transaction
from django.db.models import F, Max, Q, QuerySet
from django.utils import timezone

from accounts.models import User
from orders.models import Order

from ..fraud_models import FlagKind, FlagStatus, FraudFlag, FraudSettings, SelfReferralAttempt
from ..models import EventKind, ReferralEdge, ReferralEvent
from .thresholds import fraud_settings

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
