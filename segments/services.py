"""Writes for segments: automatic tag rules, segments, inviting a segment into a group, broadcasts.

Guarantees:
- Every operator write is recorded in the shop's audit log in its transaction, with its author.
- A member is invited into a group at most once (GroupInvitation unique per group and member, and the
  notification's key), whichever segment or operator asks again.
- A broadcast is sent once: draft → sending is one conditional UPDATE (two clicks at once: one sends). Each
  member is decided once per broadcast (BroadcastRecipient unique per broadcast and member, inserted before
  the message, ON CONFLICT DO NOTHING), so a resumed or repeated send writes no second message.
- The preview and the send apply the same rules (notifications.marketing.decide): with nothing changed in
  between, the preview's count is the number of messages queued, and each excluded member is counted under the
  same reason. Batches of MEMBERS_PER_BATCH members, each one transaction of a constant number of statements.
"""

from datetime import datetime, timedelta

from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import F
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User
from groups import services as group_services
from groups.models import Channel, Group, Membership, MembershipStatus, Tag
from notifications import marketing
from notifications.models import Category
from notifications.services import Outgoing
from orders.models import Product
from shops import audit

from . import selectors
from .models import (
    Broadcast,
    BroadcastRecipient,
    BroadcastState,
    GroupInvitation,
    RecipientOutcome,
    RuleKind,
    Segment,
    TagRule,
)

# Members decided and written per transaction (a segment's invitations, a broadcast's preview and its send).
# Each batch is a constant number of statements, so a send to tens of thousands is a run of short transactions
# (no lock or snapshot held for the whole send) and one stopped midway (the job finishes it) redoes at most one
# batch; 500 keeps each statement's id list and bulk insert small while a 10,000-member send is 20 batches.
MEMBERS_PER_BATCH = 500

RULE_FIELDS = ("tag", "kind", "product", "amount", "count", "days", "percent", "is_active")
SEGMENT_FIELDS = (
    "name",
    "description",
    "min_spent",
    "max_spent",
    "min_orders",
    "max_orders",
    "ordered_within_days",
    "not_ordered_for_days",
    "joined_within_days",
    "joined_before_days",
)
RULE_PARAMETER = {
    RuleKind.BOUGHT_PRODUCT: "product",
    RuleKind.SPENT_OVER: "amount",
    RuleKind.REPEAT_BUYER: "count",
    RuleKind.LURKER: "days",
    RuleKind.BIG_CUSTOMER: "percent",
}
RULE_DEFAULTS = {"count": 2, "days": 14, "percent": 10}


# --- Automatic tag rules ------------------------------------------------------------------------------


def _rule_values(shop, kind: str, values: dict) -> dict:
    """The rule's parameters: the one its kind needs (a default where it has one), the others empty."""
    if kind not in RuleKind.values:
        raise ValidationError({"kind": _("请选择规则。")})
    needed = RULE_PARAMETER[kind]
    cleaned = {name: None for name in RULE_PARAMETER.values()}
    value = values.get(needed)
    if value in (None, ""):
        value = RULE_DEFAULTS.get(needed)
    if value is None:
        raise ValidationError({needed: _("此规则需要填写这一项。")})
    if needed == "product" and (not isinstance(value, Product) or value.shop_id != shop.pk):
        raise ValidationError({"product": _("请选择本店的商品。")})
    if needed == "amount" and value <= 0:
        raise ValidationError({"amount": _("金额必须大于 0。")})
    cleaned[needed] = value
    return cleaned


@transaction.atomic
def create_tag_rule(*, shop, by: User, tag_name: str, kind: str, **values) -> TagRule:
    """A new automatic tag: the tag (made if new; one rule per tag) and its rule, computed by the next run."""
    tag_name = (tag_name or "").strip()
    if not tag_name or len(tag_name) > 30:
        raise ValidationError({"tag_name": _("标签名称为 1–30 个字。")})
    tag, _created = Tag.objects.get_or_create(shop=shop, name=tag_name)  # (shop, name) is unique
    if TagRule.objects.filter(tag=tag).exists():
        raise ValidationError({"tag_name": _("这个标签已经有自动规则。")})
    rule = TagRule.objects.create(shop=shop, tag=tag, kind=kind, created_by=by, **_rule_values(shop, kind, values))
    audit.record(
        shop=shop,
        by=by,
        action="segments.tag_rule.create",
        target=rule,
        after=audit.snapshot(rule, RULE_FIELDS),
        label=tag.name,
    )
    return rule


@transaction.atomic
def update_tag_rule(*, rule: TagRule, by: User, is_active: bool, **values) -> TagRule:
    locked = TagRule.objects.select_for_update().get(pk=rule.pk)
    before = audit.snapshot(locked, RULE_FIELDS)
    for name, value in _rule_values(locked.shop, locked.kind, values).items():
        setattr(locked, name, value)
    locked.is_active = is_active
    locked.save()
    audit.record(
        shop=locked.shop_id,
        by=by,
        action="segments.tag_rule.update",
        target=locked,
        before=before,
        after=audit.snapshot(locked, RULE_FIELDS),
        label=locked.tag.name,
    )
    return locked


# --- Segments -----------------------------------------------------------------------------------------


def _check_segment(shop, values: dict, tags, exclude_tags, groups) -> None:
    errors = {}
    if any(t.shop_id != shop.pk for t in [*tags, *exclude_tags]):
        errors["tags"] = _("请选择本店的标签。")
    if any(g.shop_id != shop.pk for g in groups):
        errors["groups"] = _("请选择本店的群。")
    low, high = values.get("min_spent"), values.get("max_spent")
    if low is not None and high is not None and low > high:
        errors["max_spent"] = _("消费上限不能小于下限。")
    low, high = values.get("min_orders"), values.get("max_orders")
    if low is not None and high is not None and low > high:
        errors["max_orders"] = _("订单数上限不能小于下限。")
    name = (values.get("name") or "").strip()
    if not name:
        errors["name"] = _("请填写人群名称。")
    if errors:
        raise ValidationError(errors)


def _segment_snapshot(segment: Segment) -> dict:
    return audit.snapshot(segment, SEGMENT_FIELDS) | {
        "tags": sorted(t.pk for t in segment.tags.all()),
        "exclude_tags": sorted(t.pk for t in segment.exclude_tags.all()),
        "groups": sorted(g.pk for g in segment.groups.all()),
    }


def save_segment(
    *, shop, by: User, segment: Segment | None = None, tags=(), exclude_tags=(), groups=(), **values
) -> Segment:
    """Create a segment, or change one of the shop's (the caller scoped it). Names are unique per shop."""
    values = {name: values.get(name) for name in SEGMENT_FIELDS}
    values["name"] = (values["name"] or "").strip()
    values["description"] = (values["description"] or "").strip()
    _check_segment(shop, values, tags, exclude_tags, groups)
    with transaction.atomic():
        if Segment.objects.filter(shop=shop, name=values["name"]).exclude(pk=getattr(segment, "pk", None)).exists():
            raise ValidationError({"name": _("已有同名的人群。")})
        if segment is None:
            target, before = Segment(shop=shop, created_by=by), None
        else:
            target = Segment.objects.select_for_update().get(pk=segment.pk, shop=shop)
            before = _segment_snapshot(target)
        for name, value in values.items():
            setattr(target, name, value)
        target.updated_at = timezone.now()
        target.save()
        target.tags.set(tags)
        target.exclude_tags.set(exclude_tags)
        target.groups.set(groups)
        audit.record(
            shop=shop,
            by=by,
            action="segments.segment.create" if before is None else "segments.segment.update",
            target=target,
            before=before,
            after=_segment_snapshot(target),
            label=target.name,
        )
    return target


# --- Inviting a segment into a group ------------------------------------------------------------------


def invite_segment(*, segment: Segment, group: Group, by: User, now: datetime | None = None) -> dict[str, int]:
    """Invite the segment's members who are not in the group into it, through the outbox, with a new channel
    link of the group (老客户, labelled with the segment): once per member and group, as a marketing message
    under the same rules as a broadcast. Returns the tally (sent and each exclusion; `already`: invited
    before or in the group)."""
    now = now or timezone.now()
    if group.shop_id != segment.shop_id:
        raise ValidationError({"group": _("请选择本店的群。")})
    problem = group_services.group_problem(group)
    if problem:
        raise ValidationError({"group": problem})
    candidates = set(selectors.segment_member_ids(segment, now=now))
    inside = set(
        Membership.objects.filter(group=group, status=MembershipStatus.ACTIVE).values_list("user_id", flat=True)
    )
    invited = set(GroupInvitation.objects.filter(group=group).values_list("user_id", flat=True))
    todo = sorted(candidates - inside - invited)
    tally = {marketing.SEND: 0, **{str(r): 0 for r in marketing.EXCLUSIONS}, "already": len(candidates) - len(todo)}
    if not todo:
        return tally
    with transaction.atomic():
        link = group_services.create_link(
            shop=segment.shop,
            by=by,
            inviter=by,
            group=group,
            options=group_services.LinkOptions(
                channel=Channel.EXISTING_CUSTOMER, label=_("人群「%(name)s」邀请") % {"name": segment.name}
            ),
        )
        audit.record(
            shop=segment.shop_id,
            by=by,
            action="segments.segment.invite",
            target=segment,
            after={"group": group.pk, "link": link.pk, "members": len(todo)},
            label=segment.name,
        )
    url = reverse("member:landing", args=[link.code])
    for start in range(0, len(todo), MEMBERS_PER_BATCH):
        chunk = todo[start : start + MEMBERS_PER_BATCH]
        items = [
            Outgoing(
                shop_id=segment.shop_id,
                user_id=user_id,
                category=Category.MARKETING,
                kind="group_invitation",
                key=f"group-invite:{group.pk}:{user_id}",
                title=_("邀请您加入「%(group)s」") % {"group": group.name},
                body=_("%(shop)s 邀请您加入专属社群「%(group)s」，点击链接即可入群。")
                % {"shop": segment.shop.name, "group": group.name},
                url=url,
            )
            for user_id in chunk
        ]
        with transaction.atomic():
            answers, written = marketing.send_now(items, at=now)
            GroupInvitation.objects.bulk_create(
                [
                    GroupInvitation(
                        shop_id=segment.shop_id,
                        group=group,
                        user_id=user_id,
                        segment=segment,
                        link=link,
                        notification_id=notification_id,
                        invited_by=by,
                        invited_at=now,
                    )
                    for user_id, notification_id in written.items()
                ],
                ignore_conflicts=True,
            )
        for user_id, answer in answers.items():
            if answer != marketing.SEND:
                tally[str(answer)] += 1
            elif user_id in written:
                tally[marketing.SEND] += 1
            else:  # invited by an invitation running at the same time (the message's key was taken)
                tally["already"] += 1
    return tally


# --- Broadcasts ---------------------------------------------------------------------------------------


@transaction.atomic
def create_broadcast(
    *, shop, by: User, title: str, body: str, group: Group | None = None, segment: Segment | None = None
) -> Broadcast:
    """A draft broadcast to one group or one segment of the shop."""
    errors = {}
    if (group is None) == (segment is None):
        errors["audience"] = _("请选择一个群或一个人群。")
    elif (group or segment).shop_id != shop.pk:
        errors["audience"] = _("请选择本店的群或人群。")
    title, body = (title or "").strip(), (body or "").strip()
    if not title or len(title) > 60:
        errors["title"] = _("标题为 1–60 个字。")
    if not body or len(body) > 500:
        errors["body"] = _("内容为 1–500 个字。")
    if errors:
        raise ValidationError(errors)
    broadcast = Broadcast.objects.create(shop=shop, group=group, segment=segment, title=title, body=body, created_by=by)
    audit.record(
        shop=shop,
        by=by,
        action="segments.broadcast.create",
        target=broadcast,
        after=audit.snapshot(broadcast, ("group", "segment", "title", "body")),
        label=title,
    )
    return broadcast


def audience_ids(broadcast: Broadcast, *, now: datetime | None = None) -> list[int]:
    """The members the broadcast is for now: the group's, or the segment's."""
    if broadcast.group_id:
        return selectors.group_member_ids(broadcast.group)
    return selectors.segment_member_ids(broadcast.segment, now=now)


def preview(broadcast: Broadcast, *, now: datetime | None = None) -> dict[str, int]:
    """How many members would receive it if sent now and how many each rule leaves out (and `audience`)."""
    now = now or timezone.now()
    ids = audience_ids(broadcast, now=now)
    tally = {marketing.SEND: 0, **{str(r): 0 for r in marketing.EXCLUSIONS}}
    for start in range(0, len(ids), MEMBERS_PER_BATCH):
        batch = ids[start : start + MEMBERS_PER_BATCH]
        for key, n in marketing.tally(
            marketing.decide(batch, broadcast.shop_id, category=Category.MARKETING, at=now)
        ).items():
            tally[key] += n
    tally["audience"] = len(ids)
    return tally


def _claim(broadcast: Broadcast, by: User, now: datetime) -> bool:
    """draft → sending, once: the UPDATE's row count decides between two sends at once."""
    with transaction.atomic():
        claimed = Broadcast.objects.filter(pk=broadcast.pk, state=BroadcastState.DRAFT).update(
            state=BroadcastState.SENDING, sent_by=by, sent_at=now
        )
        if claimed:
            broadcast.refresh_from_db()
            audit.record(
                shop=broadcast.shop_id,
                by=by,
                action="segments.broadcast.send",
                target=broadcast,
                before={"state": BroadcastState.DRAFT},
                after={"state": BroadcastState.SENDING},
                label=broadcast.title,
            )
    return bool(claimed)


COUNTERS = {
    marketing.SEND: "sent_count",
    "opted_out": "opted_out_count",
    "after_sales": "after_sales_count",
    "quiet_hours": "quiet_hours_count",
    "capped": "capped_count",
}


def _send_batch(broadcast: Broadcast, user_ids: list[int], now: datetime) -> None:
    """One transaction: claim the members' recipient rows (new ones only), decide and send, record outcomes."""
    table = BroadcastRecipient._meta.db_table
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute(
                f"INSERT INTO {table} (broadcast_id, user_id, outcome) SELECT %s, u, %s FROM unnest(%s::bigint[]) u "
                "ON CONFLICT (broadcast_id, user_id) DO NOTHING RETURNING user_id",
                [broadcast.pk, RecipientOutcome.CAPPED, user_ids],
            )
            fresh = sorted(row[0] for row in cursor.fetchall())
        if not fresh:
            return
        url = reverse("notifications:inbox")
        items = [
            Outgoing(
                shop_id=broadcast.shop_id,
                user_id=user_id,
                category=Category.MARKETING,
                kind="broadcast",
                key=f"broadcast:{broadcast.pk}:{user_id}",
                title=broadcast.title,
                body=broadcast.body,
                url=url,
            )
            for user_id in fresh
        ]
        answers, written = marketing.send_now(items, at=now)
        by_outcome: dict[str, list[int]] = {}
        for user_id in fresh:
            by_outcome.setdefault(str(answers[user_id]), []).append(user_id)
        for outcome, ids in by_outcome.items():
            if outcome == marketing.SEND:
                continue
            BroadcastRecipient.objects.filter(broadcast=broadcast, user_id__in=ids).update(outcome=outcome)
        if written:
            with connection.cursor() as cursor:
                cursor.execute(
                    f"UPDATE {table} AS r SET outcome = %s, notification_id = w.n "
                    "FROM unnest(%s::bigint[], %s::bigint[]) AS w(u, n) WHERE r.broadcast_id = %s AND r.user_id = w.u",
                    [RecipientOutcome.SENT, list(written), list(written.values()), broadcast.pk],
                )
        Broadcast.objects.filter(pk=broadcast.pk).update(
            **{COUNTERS[o]: F(COUNTERS[o]) + len(ids) for o, ids in by_outcome.items()}
        )


def send_broadcast(*, broadcast: Broadcast, by: User, now: datetime | None = None) -> Broadcast:
    """Send a draft broadcast now (see the module's guarantees); a second send of it is refused."""
    now = now or timezone.now()
    if not _claim(broadcast, by, now):
        raise ValidationError(_("这条群发已经发送过了。"))
    return finish_sending(broadcast=broadcast, now=now)


def finish_sending(*, broadcast: Broadcast, now: datetime | None = None) -> Broadcast:
    """Decide and send for every member not yet decided, then mark the broadcast sent. Safe to run again
    (a send interrupted midway is finished by the job): decided members are skipped by their recipient row."""
    now = now or timezone.now()
    ids = audience_ids(broadcast, now=now)
    for start in range(0, len(ids), MEMBERS_PER_BATCH):
        _send_batch(broadcast, ids[start : start + MEMBERS_PER_BATCH], now)
    Broadcast.objects.filter(pk=broadcast.pk, state=BroadcastState.SENDING).update(state=BroadcastState.SENT)
    broadcast.refresh_from_db()
    return broadcast


def finish_interrupted(*, now: datetime | None = None, older_than_minutes: int = 10, result=None) -> int:
    """The job: broadcasts left sending (their request died midway) for a while are finished."""
    now = now or timezone.now()
    stuck = Broadcast.objects.filter(
        state=BroadcastState.SENDING, sent_at__lt=now - timedelta(minutes=older_than_minutes)
    ).select_related("group", "segment")
    done = 0
    for broadcast in stuck:
        finish_sending(broadcast=broadcast, now=now)
        done += 1
        if result is not None:
            result.count(broadcast.shop_id)
    return done
