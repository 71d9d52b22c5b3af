"""Writes for playbooks (新群培育): editing a shop's playbooks, giving a group its run, running due steps,
and the operators' moves on a group's steps.

Guarantees:
- a group has at most one run (a unique row): the hook at creation and an operator assigning one at the
  same time cannot both give it one;
- every automatic step is performed exactly once per group, however many job runs overlap: a runner first
  claims the step with one conditional UPDATE (pending and due → done) and performs it in the same
  transaction, so a second runner waits on the row and then finds it done; a step whose action fails rolls
  back with its claim and is marked failed (visible, never retried in a loop);
- every step move is one conditional UPDATE on the step's state, so an operator's skip and the job, or two
  operators, never both win; every operator write is in the shop's audit log with its author.

The playbook machinery sits above campaigns (it starts campaigns and writes to groups and notifications),
so groups only announce `group_created` and never know playbooks exist.
"""

import logging
from datetime import date, datetime, time, timedelta

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from campaigns import services as campaign_services
from campaigns.models import Campaign
from groups.models import Group, GroupState, Membership, MembershipStatus
from groups.space import Actor, create_post
from groups.space_models import PostKind
from notifications.models import Category
from notifications.services import Outgoing, notify_many
from shequn.jobs import JobResult
from shops import audit

from .models import (
    AUTOMATIC_ACTIONS,
    BODY_MAX_LENGTH,
    MAX_CAMPAIGN_DAYS,
    MAX_DAY,
    MAX_STEPS,
    Playbook,
    PlaybookRun,
    PlaybookStep,
    RunStep,
    RunStepState,
    StepAction,
)

logger = logging.getLogger("shequn.playbooks")
S = RunStepState
PLAYBOOK_FIELDS = ("name", "description", "match_tag", "match_kind", "is_default", "is_active")
STEP_FIELDS = ("day", "at_time", "action", "title", "body", "campaign_template", "campaign_days")
BATCH = 200  # due steps claimed per pass of the job


# --- Editing playbooks ------------------------------------------------------------------------------------


def validate_playbook(*, shop, pk: int | None, name: str, match_tag, match_kind: str, is_default: bool) -> None:
    errors = {}
    name = (name or "").strip()
    if not name:
        errors["name"] = _("请填写剧本名称。")
    elif Playbook.objects.filter(shop=shop, name=name).exclude(pk=pk).exists():
        errors["name"] = _("本店已有同名剧本。")
    if len(match_kind or "") > Playbook._meta.get_field("match_kind").max_length:
        errors["match_kind"] = _("群类型不能超过 30 个字。")
    if match_tag is not None and match_tag.shop_id != shop.pk:
        errors["match_tag"] = _("只能选择本店的标签。")
    if is_default and Playbook.objects.filter(shop=shop, is_default=True).exclude(pk=pk).exists():
        errors["is_default"] = _("本店已有默认剧本，请先取消它的默认。")
    if errors:
        raise ValidationError(errors)


@transaction.atomic
def save_playbook(*, shop, by, playbook: Playbook | None = None, **values) -> Playbook:
    """Create (playbook None) or change a playbook of `shop`; audited."""
    unknown = set(values) - set(PLAYBOOK_FIELDS)
    if unknown:
        raise TypeError(f"unknown playbook fields: {sorted(unknown)}")
    values["name"] = (values.get("name") or "").strip()
    values["match_kind"] = (values.get("match_kind") or "").strip()
    validate_playbook(
        shop=shop,
        pk=playbook.pk if playbook else None,
        name=values["name"],
        match_tag=values.get("match_tag"),
        match_kind=values["match_kind"],
        is_default=bool(values.get("is_default")),
    )
    if playbook is None:
        playbook, before, action = Playbook(shop=shop, created_by=by), {}, "playbook.create"
    else:
        playbook = Playbook.objects.select_for_update().get(pk=playbook.pk, shop=shop)
        before, action = audit.snapshot(playbook, PLAYBOOK_FIELDS), "playbook.update"
    for name, value in values.items():
        setattr(playbook, name, value)
    try:
        with transaction.atomic():
            playbook.save()
    except IntegrityError:  # a concurrent save took the name or the default first
        raise ValidationError(_("保存失败：名称或默认剧本已被占用，请刷新后重试。")) from None
    audit.record(
        shop=shop, by=by, action=action, target=playbook, before=before, after=audit.snapshot(playbook, PLAYBOOK_FIELDS)
    )
    return playbook


@transaction.atomic
def delete_playbook(*, playbook: Playbook, by) -> None:
    """A playbook no group has run can go; one with runs is kept (their history) and can be switched off."""
    if playbook.runs.exists():
        raise ValidationError(_("已有群在使用这个剧本，不能删除；可以停用它。"))
    audit.record(
        shop=playbook.shop_id,
        by=by,
        action="playbook.delete",
        target=playbook,
        before=audit.snapshot(playbook, PLAYBOOK_FIELDS),
    )
    playbook.delete()


def validate_step(*, shop, values: dict) -> dict:
    """The step's values cleaned, or ValidationError with a message per field."""
    errors, cleaned = {}, dict(values)
    day = values.get("day")
    if not isinstance(day, int) or not 0 <= day <= MAX_DAY:
        errors["day"] = _("第几天须在 0 到 %(n)d 之间。") % {"n": MAX_DAY}
    if not isinstance(values.get("at_time"), time):
        errors["at_time"] = _("请填写时间。")
    action = values.get("action")
    if action not in StepAction.values:
        errors["action"] = _("请选择动作。")
    cleaned["title"] = (values.get("title") or "").strip()
    cleaned["body"] = (values.get("body") or "").strip()
    if not cleaned["title"]:
        errors["title"] = _("请填写标题。")
    if len(cleaned["body"]) > BODY_MAX_LENGTH:
        errors["body"] = _("内容不能超过 %(n)d 个字。") % {"n": BODY_MAX_LENGTH}
    if action in (StepAction.MESSAGE, StepAction.ANNOUNCEMENT) and not cleaned["body"]:
        errors["body"] = _("消息和公告需要填写内容。")
    template = values.get("campaign_template")
    days = values.get("campaign_days") or 2
    if action == StepAction.CAMPAIGN:
        if template is None:
            errors["campaign_template"] = _("请选择作为模板的活动。")
        elif template.shop_id != shop.pk:
            errors["campaign_template"] = _("只能选择本店的活动。")
        if not isinstance(days, int) or not 1 <= days <= MAX_CAMPAIGN_DAYS:
            errors["campaign_days"] = _("活动持续天数须在 1 到 %(n)d 之间。") % {"n": MAX_CAMPAIGN_DAYS}
    else:
        template = None
    cleaned["campaign_template"], cleaned["campaign_days"] = template, days
    if errors:
        raise ValidationError(errors)
    return cleaned


@transaction.atomic
def save_step(*, playbook: Playbook, by, step: PlaybookStep | None = None, **values) -> PlaybookStep:
    """Add (step None) or change a step; the writer becomes its author (announcements go out in their name)."""
    unknown = set(values) - set(STEP_FIELDS)
    if unknown:
        raise TypeError(f"unknown step fields: {sorted(unknown)}")
    playbook = Playbook.objects.select_for_update().get(pk=playbook.pk)
    cleaned = validate_step(shop=playbook.shop, values=values)
    if step is None:
        if playbook.steps.count() >= MAX_STEPS:
            raise ValidationError(_("一个剧本最多 %(n)d 个步骤。") % {"n": MAX_STEPS})
        step, before = PlaybookStep(playbook=playbook), {}
    else:
        step = PlaybookStep.objects.get(pk=step.pk, playbook=playbook)
        before = audit.snapshot(step, STEP_FIELDS)
    for name, value in cleaned.items():
        setattr(step, name, value)
    step.author = by
    step.save()
    audit.record(
        shop=playbook.shop_id,
        by=by,
        action="playbook.step.save",
        target=step,  # the step's fields, named by the step model's words
        label=playbook.name,
        before=before,
        after=audit.snapshot(step, STEP_FIELDS),
    )
    return step


@transaction.atomic
def delete_step(*, step: PlaybookStep, by) -> None:
    playbook = Playbook.objects.select_for_update().get(pk=step.playbook_id)
    audit.record(
        shop=playbook.shop_id,
        by=by,
        action="playbook.step.delete",
        target=step,  # the step's fields, named by the step model's words
        label=playbook.name,
        before=audit.snapshot(step, STEP_FIELDS),
    )
    step.delete()


# --- Giving a group its run -------------------------------------------------------------------------------


def matching_playbook(group: Group) -> Playbook | None:
    """The shop's active playbook for the group: one matching a tag of the group, else its kind, else the
    shop's default (by name within a rank)."""
    candidates = list(
        Playbook.objects.filter(shop_id=group.shop_id, is_active=True)
        .filter(Q(match_tag__in=group.tags.all()) | Q(match_kind=group.kind, match_kind__gt="") | Q(is_default=True))
        .order_by("name", "pk")
    )
    tag_ids = set(group.tags.values_list("pk", flat=True)) if candidates else set()
    for matches in (
        lambda p: p.match_tag_id in tag_ids,
        lambda p: bool(p.match_kind) and p.match_kind == group.kind,
        lambda p: p.is_default,
    ):
        found = [p for p in candidates if matches(p)]
        if found:
            return found[0]
    return None


def opening_day(group: Group) -> date:
    """Day 0: the planned start when there is one, else the day the group was created (shop time)."""
    return timezone.localdate(group.planned_start_at or group.created_at or timezone.now())


def _due(day0: date, step: PlaybookStep) -> datetime:
    return timezone.make_aware(datetime.combine(day0 + timedelta(days=step.day), step.at_time))


def _start_run(*, group: Group, playbook: Playbook, by, day0: date) -> PlaybookRun | None:
    """The run and its steps, or None when the group has one already (the unique row decides)."""
    try:
        with transaction.atomic():
            run = PlaybookRun.objects.create(
                shop_id=group.shop_id, group=group, playbook=playbook, day0=day0, assigned_by=by
            )
    except IntegrityError:
        return None
    RunStep.objects.bulk_create(
        RunStep(
            shop_id=group.shop_id,
            run=run,
            step=step,
            position=position,
            day=step.day,
            action=step.action,
            title=_fill(step.title, group)[: RunStep._meta.get_field("title").max_length],
            body=step.body,
            campaign_template_id=step.campaign_template_id,
            campaign_days=step.campaign_days,
            author_id=step.author_id,
            due_at=_due(day0, step),
        )
        for position, step in enumerate(playbook.steps.order_by("day", "at_time", "pk"), start=1)
    )
    return run


def assign_on_creation(group: Group) -> None:
    """group_created receiver: the matching playbook, if any, from the group's opening day."""
    playbook = matching_playbook(group)
    if playbook is not None:
        _start_run(group=group, playbook=playbook, by=None, day0=opening_day(group))


@transaction.atomic
def assign_playbook(*, group: Group, playbook: Playbook, by, day0: date | None = None) -> PlaybookRun:
    """An operator gives a group (of the playbook's shop) a playbook; a group that has one keeps it."""
    if playbook.shop_id != group.shop_id:
        raise ValidationError(_("只能使用本店的剧本。"))
    if group.state == GroupState.ARCHIVED:
        raise ValidationError(_("群已归档，不能再安排培育剧本。"))
    run = _start_run(group=group, playbook=playbook, by=by, day0=day0 or opening_day(group))
    if run is None:
        raise ValidationError(_("这个群已经有培育剧本了。"))
    audit.record(
        shop=group.shop_id,
        by=by,
        action="playbook.assign",
        target=group,
        label=group.name,
        after={"playbook": playbook.pk, "day0": run.day0},
    )
    return run


# --- Running due steps (the job) -------------------------------------------------------------------------


def _fill(text: str, group: Group) -> str:
    return text.replace("{群名}", group.name).replace("{群规}", group.rules.strip() or _("（暂无群规）"))


def _send_message(step: RunStep, group: Group, now: datetime) -> str:
    """A marketing message to every active member: the outbox applies opt-outs, quiet hours, the caps and
    after-sales holds when it releases them; the key makes it one per member and step."""
    members = Membership.objects.filter(group=group, status=MembershipStatus.ACTIVE).values_list("user_id", flat=True)
    url = reverse("member:group", args=[group.pk])
    body = _fill(step.body, group)
    written = notify_many(
        [
            Outgoing(
                shop_id=group.shop_id,
                user_id=user_id,
                category=Category.MARKETING,
                kind="playbook_message",
                key=f"playbook:{step.pk}:{user_id}",
                title=_fill(step.title, group),
                body=body,
                url=url,
            )
            for user_id in members
        ],
        now=now,
    )
    return f"messages:{len(written)}"


def _post_announcement(step: RunStep, group: Group, _now: datetime) -> str:
    if step.author is None:
        raise ValidationError(_("公告没有作者：请在剧本里重新保存这一步。"))
    post = create_post(
        group=group,
        actor=Actor(user=step.author, as_operator=True),
        kind=PostKind.ANNOUNCEMENT,
        body=f"{_fill(step.title, group)}\n{_fill(step.body, group)}".strip(),
    )
    return f"post:{post.pk}"


COPIED_CAMPAIGN_FIELDS = (
    "product",
    "sku",
    "stock_cap",
    "budget",
    "per_member_limit",
    "reward",
    "hook_title",
    "hook_text",
    "proof_text",
    "cta_text",
)


def _start_campaign(step: RunStep, group: Group, now: datetime) -> str:
    """A copy of the template campaign for this group only, from now for the step's days, scheduled at once
    (the engine starts it now, or at `now` when the job runs ahead of the clock)."""
    template = step.campaign_template
    if template is None:
        raise ValidationError(_("作为模板的活动已被删除。"))
    campaign = campaign_services.create_campaign(
        shop=group.shop,
        by=None,
        type=template.type,
        settings=dict(template.settings),
        name=f"{template.name}·{group.name}"[: Campaign._meta.get_field("name").max_length],
        starts_at=now,
        ends_at=now + timedelta(days=step.campaign_days),
        all_groups=False,
        groups=[group],
        series=[],
        **{name: getattr(template, name) for name in COPIED_CAMPAIGN_FIELDS},
    )
    campaign_services.schedule_campaign(campaign=campaign, by=None)
    return f"campaign:{campaign.pk}"


PERFORM = {
    StepAction.MESSAGE: _send_message,
    StepAction.ANNOUNCEMENT: _post_announcement,
    StepAction.CAMPAIGN: _start_campaign,
}


def claim(step_id: int, now: datetime) -> bool:
    """The one guard: pending and due → done, by one conditional UPDATE (in the caller's transaction)."""
    return bool(
        RunStep.objects.filter(pk=step_id, state=S.PENDING, due_at__lte=now, action__in=AUTOMATIC_ACTIONS).update(
            state=S.DONE, done_at=now, done_by=None
        )
    )


def perform_step(step_id: int, *, now: datetime) -> bool:
    """Claim the step and perform it in one transaction: True when this call did it. A failure rolls both
    back and marks the step failed with the reason (still only if nobody did it meanwhile)."""
    try:
        with transaction.atomic():
            if not claim(step_id, now):
                return False
            step = RunStep.objects.select_related("run__group__shop", "author", "campaign_template").get(pk=step_id)
            result = PERFORM[step.action](step, step.run.group, now)
            RunStep.objects.filter(pk=step_id).update(result=result[:100])
        return True
    except (ValidationError, PermissionDenied) as error:
        reason = "；".join(getattr(error, "messages", None) or [str(error)])
    except Exception as error:  # the job goes on with the other groups; the step says why
        logger.exception("playbook step %s failed", step_id)
        reason = f"{type(error).__name__}: {error}"
    RunStep.objects.filter(pk=step_id, state=S.PENDING).update(state=S.FAILED, note=reason[:200])
    raise StepFailed(reason)


class StepFailed(Exception):
    pass


def skip_archived(now: datetime) -> int:
    """Pending steps of archived groups will never be wanted: skipped (by nobody), not run."""
    return RunStep.objects.filter(state=S.PENDING, run__group__state=GroupState.ARCHIVED).update(
        state=S.SKIPPED, done_at=now, note=_("群已归档")
    )


def run_due_steps(*, now: datetime | None = None, result: JobResult | None = None) -> int:
    """Perform every due automatic step of every group, each exactly once; the number performed."""
    now = now or timezone.now()
    result = result or JobResult()
    skip_archived(now)
    done, last_id = 0, 0
    while True:
        due = list(
            RunStep.objects.filter(state=S.PENDING, due_at__lte=now, action__in=AUTOMATIC_ACTIONS, pk__gt=last_id)
            .order_by("pk")
            .values_list("pk", "shop_id")[:BATCH]
        )
        if not due:
            return done
        for step_id, shop_id in due:
            try:
                if perform_step(step_id, now=now):
                    done += 1
                    result.count(shop_id)
            except StepFailed as failure:
                result.fail(f"step {step_id}: {failure}")
        last_id = due[-1][0]


# --- Operators' moves on a group's steps ------------------------------------------------------------------


def _move(step: RunStep, *, by, action: str, from_states, **values) -> RunStep:
    with transaction.atomic():
        moved = RunStep.objects.filter(pk=step.pk, state__in=from_states).update(**values)
        if not moved:
            raise ValidationError(_("这一步的状态已经变了，请刷新后再试。"))
        fresh = RunStep.objects.select_related("run__group").get(pk=step.pk)
        audit.record(
            shop=fresh.shop_id,
            by=by,
            action=action,
            target=fresh.run.group,
            label=f"{fresh.run.group.name} · D{fresh.day} {fresh.title}",
            before={"step": fresh.pk, "state": step.state, "due_at": step.due_at},
            after={"step": fresh.pk, "state": fresh.state, "due_at": fresh.due_at},
        )
    return fresh


def mark_done(*, step: RunStep, by, note: str = "") -> RunStep:
    """An operator did a task (only tasks: the job does the automatic steps)."""
    if step.action != StepAction.TASK:
        raise ValidationError(_("自动步骤由系统执行，不能手动标记完成；可以跳过或改期。"))
    return _move(
        step,
        by=by,
        action="playbook.step.done",
        from_states=[S.PENDING],
        state=S.DONE,
        done_at=timezone.now(),
        done_by=by,
        note=(note or "").strip()[:200],
    )


def skip(*, step: RunStep, by, note: str = "") -> RunStep:
    return _move(
        step,
        by=by,
        action="playbook.step.skip",
        from_states=[S.PENDING, S.FAILED],
        state=S.SKIPPED,
        done_at=timezone.now(),
        done_by=by,
        note=(note or "").strip()[:200],
    )


def reschedule(*, step: RunStep, by, due_at: datetime) -> RunStep:
    """A new due time for a pending step, or another try for a failed one."""
    if due_at is None or timezone.is_naive(due_at):
        raise ValidationError({"due_at": _("请填写新的计划时间。")})
    if due_at < timezone.now() - timedelta(minutes=1):
        raise ValidationError({"due_at": _("新的计划时间不能早于现在。")})
    return _move(
        step,
        by=by,
        action="playbook.step.reschedule",
        from_states=[S.PENDING, S.FAILED],
        state=S.PENDING,
        due_at=due_at,
        note="",
    )
