"""Operator dashboard pages for a group's health: its lurkers (潜水成员), its weekly health history and planned
start, and the shop's automation settings (the numbers the periodic jobs of groups.jobs use).

Every view takes its shop from `operator_required` and reads through `groups.selectors`, so another shop's
group is a 404. Lists run in a constant number of queries. Viewers read; operators set a planned start;
the owner changes the settings.
"""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from shops.models import OperatorRole
from shops.tenancy import operator_required

from . import jobs, selectors
from .health_forms import AutomationSettingsForm, PlannedStartForm
from .models import GroupState, automation_settings_for

PAGE_SIZE = 50
VIEWER, OPERATOR, OWNER = OperatorRole.VIEWER, OperatorRole.OPERATOR, OperatorRole.OWNER


@operator_required(VIEWER)
@require_GET
def group_lurkers(request, pk: int):
    """The group's members silent for the shop's lurker days, and whether each got this period's follow-up."""
    group = selectors.group_for_shop(request.shop, pk)
    conf = automation_settings_for(group.shop_id)
    now = timezone.now()
    page = Paginator(selectors.lurkers_of_group(group, now=now, lurker_days=conf.lurker_days), PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    for membership in page:
        follow_ups = list(membership.lurker_follow_ups.all())
        membership.last_follow_up = follow_ups[0] if follow_ups else None
        membership.silent_days = (now - membership.silent_since).days
    return render(request, "groups/dashboard/lurkers.html", {"group": group, "page": page, "conf": conf})


@operator_required(VIEWER)
@require_GET
def group_health(request, pk: int):
    """This week so far (live) above the stored weekly snapshots, newest first."""
    group = selectors.group_for_shop(request.shop, pk)
    week = jobs.week_of(timezone.localdate())
    live = jobs.health_figures([group.pk], week.start, week.end)[group.pk]
    history = Paginator(selectors.health_history(group), PAGE_SIZE).get_page(request.GET.get("page"))
    can_plan = request.operator.can(OPERATOR) and group.state in (GroupState.PREPARING, GroupState.RECRUITING)
    planned_form = PlannedStartForm(
        initial={"planned_start_at": timezone.localtime(group.planned_start_at) if group.planned_start_at else None}
    )
    return render(
        request,
        "groups/dashboard/health.html",
        {
            "group": group,
            "week": week,
            "live": live,
            "history": history,
            "can_plan": can_plan,
            "planned_form": planned_form,
        },
    )


@operator_required(OPERATOR)
@require_POST
def group_planned_start(request, pk: int):
    group = selectors.group_for_shop(request.shop, pk)
    form = PlannedStartForm(request.POST)
    if not form.is_valid():
        messages.error(request, "；".join(e for errors in form.errors.values() for e in errors))
        return redirect("dashboard:group_health", pk=group.pk)
    at = form.cleaned_data["planned_start_at"]
    try:
        jobs.plan_start(group=group, at=at)
    except ValidationError as error:
        messages.error(request, "；".join(error.messages))
    else:
        if at is None:
            messages.success(request, _("已取消计划开营时间。"))
        else:
            messages.success(
                request, _("已设置计划开营时间：%(at)s。") % {"at": timezone.localtime(at).strftime("%Y-%m-%d %H:%M")}
            )
    return redirect("dashboard:group_health", pk=group.pk)


@operator_required(OWNER)
@require_http_methods(["GET", "POST"])
def automation_settings(request):
    current = automation_settings_for(request.shop.pk)
    initial = {name: getattr(current, name) for name in jobs.AUTOMATION_FIELDS}
    form = AutomationSettingsForm(request.POST if request.method == "POST" else None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            jobs.update_automation_settings(shop_id=request.shop.pk, by=request.user, **form.cleaned_data)
        except ValidationError as error:
            for field, errors in error.error_dict.items():
                form.add_error(field if field in form.fields else None, errors)
        else:
            messages.success(request, _("自动化设置已保存。"))
            return redirect("dashboard:automation_settings")
    return render(request, "groups/dashboard/health_settings.html", {"form": form})
