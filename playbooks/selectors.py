"""Reads for playbooks, each scoped to a shop (another shop's object is a 404) and each list in a constant
number of queries whatever its length."""

from datetime import datetime, timedelta

from django.db.models import Count, Q, QuerySet
from django.shortcuts import get_object_or_404
from django.utils import timezone

from .models import Playbook, PlaybookRun, PlaybookStep, RunStep, RunStepState


def playbooks_for_shop(shop) -> QuerySet[Playbook]:
    return (
        Playbook.objects.filter(shop=shop)
        .select_related("match_tag")
        .annotate(step_count=Count("steps", distinct=True), run_count=Count("runs", distinct=True))
        .order_by("-is_default", "name", "pk")
    )


def playbook_for_shop(shop, pk: int) -> Playbook:
    return get_object_or_404(Playbook.objects.select_related("match_tag"), shop=shop, pk=pk)


def steps_of(playbook: Playbook) -> QuerySet[PlaybookStep]:
    return playbook.steps.select_related("campaign_template", "author").order_by("day", "at_time", "pk")


def step_for_shop(shop, pk: int) -> PlaybookStep:
    return get_object_or_404(PlaybookStep.objects.select_related("playbook"), playbook__shop=shop, pk=pk)


def run_step_for_shop(shop, pk: int) -> RunStep:
    return get_object_or_404(RunStep.objects.select_related("run__group"), shop=shop, pk=pk)


def run_of_group(group) -> PlaybookRun | None:
    return PlaybookRun.objects.filter(group=group).select_related("playbook", "assigned_by").first()


def run_steps(run: PlaybookRun) -> QuerySet[RunStep]:
    return run.steps.select_related("done_by", "campaign_template").order_by("due_at", "position")


def day_bounds(day) -> tuple[datetime, datetime]:
    start = timezone.make_aware(datetime.combine(day, datetime.min.time()))
    return start, start + timedelta(days=1)


def steps_for_day(shop, *, day=None) -> QuerySet[RunStep]:
    """Today's steps across the shop's groups (whatever their state), every earlier step still waiting
    (pending or failed: overdue), and earlier ones finished today, earliest first."""
    start, end = day_bounds(day or timezone.localdate())
    waiting = Q(state__in=[RunStepState.PENDING, RunStepState.FAILED], due_at__lt=start)
    return (
        RunStep.objects.filter(shop=shop)
        .filter(Q(due_at__gte=start, due_at__lt=end) | waiting | Q(done_at__gte=start, done_at__lt=end))
        .select_related("run__group", "run__playbook", "done_by")
        .order_by("due_at", "run_id", "position")
    )
