"""Operator dashboard pages for playbooks (新群培育): the playbook editor, today's steps across the shop's
groups, and a group's timeline with skip, reschedule and done.

Every view takes its shop from `operator_required` and reads through playbooks.selectors, so another shop's
object is a 404; viewers read, operators write (403 for a viewer's write). Lists run in a constant number of
queries. The rules are playbooks.services'; views parse, call and render.
"""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from groups import selectors as group_selectors
from shops.models import OperatorRole
from shops.tenancy import operator_required

from . import defaults, selectors, services
from .forms import AssignForm, NoteForm, PlaybookForm, RescheduleForm, StepForm

VIEWER, OPERATOR = OperatorRole.VIEWER, OperatorRole.OPERATOR
PAGE_SIZE = 50


def _errors_into(form, error: ValidationError) -> None:
    if hasattr(error, "error_dict"):
        for field, errors in error.error_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    else:
        form.add_error(None, error.messages)


def _say(request, error: ValidationError) -> None:
    messages.error(request, "；".join(error.messages))


# --- The editor ---------------------------------------------------------------------------------------


@operator_required(VIEWER)
@require_GET
def playbook_list(request):
    playbooks = list(selectors.playbooks_for_shop(request.shop))
    has_default_one = any(p.name == defaults.DEFAULT_NAME for p in playbooks)
    return render(
        request,
        "playbooks/dashboard/playbook_list.html",
        {"playbooks": playbooks, "can_write": request.operator.can(OPERATOR), "offer_default": not has_default_one},
    )


@operator_required(OPERATOR)
@require_http_methods(["GET", "POST"])
def playbook_create(request):
    form = PlaybookForm(request.POST or None, shop=request.shop)
    if request.method == "POST" and form.is_valid():
        try:
            playbook = services.save_playbook(shop=request.shop, by=request.user, **form.cleaned_data)
        except ValidationError as error:
            _errors_into(form, error)
        else:
            messages.success(request, _("剧本已创建，接着添加步骤。"))
            return redirect("dashboard:playbook_detail", pk=playbook.pk)
    return render(request, "playbooks/dashboard/playbook_form.html", {"form": form})


@operator_required(OPERATOR)
@require_POST
def playbook_install_default(request):
    try:
        playbook = defaults.install_default_playbook(
            shop=request.shop,
            by=request.user,
            is_default=not selectors.playbooks_for_shop(request.shop).filter(is_default=True).exists(),
        )
    except ValidationError as error:
        _say(request, error)
        return redirect("dashboard:playbooks")
    messages.success(request, _("已创建「%(name)s」。") % {"name": playbook.name})
    return redirect("dashboard:playbook_detail", pk=playbook.pk)


@operator_required(VIEWER)
@require_GET
def playbook_detail(request, pk: int):
    playbook = selectors.playbook_for_shop(request.shop, pk)
    can_write = request.operator.can(OPERATOR)
    return render(
        request,
        "playbooks/dashboard/playbook_detail.html",
        {
            "playbook": playbook,
            "steps": list(selectors.steps_of(playbook)),
            "can_write": can_write,
            "form": PlaybookForm(instance=playbook, shop=request.shop) if can_write else None,
            "step_form": StepForm(shop=request.shop, initial={"at_time": "09:00"}) if can_write else None,
        },
    )


@operator_required(OPERATOR)
@require_POST
def playbook_edit(request, pk: int):
    playbook = selectors.playbook_for_shop(request.shop, pk)
    form = PlaybookForm(request.POST, instance=playbook, shop=request.shop)
    if form.is_valid():
        try:
            services.save_playbook(shop=request.shop, by=request.user, playbook=playbook, **form.cleaned_data)
        except ValidationError as error:
            _errors_into(form, error)
        else:
            messages.success(request, _("剧本已保存。"))
            return redirect("dashboard:playbook_detail", pk=playbook.pk)
    playbook.refresh_from_db()
    return render(
        request,
        "playbooks/dashboard/playbook_detail.html",
        {
            "playbook": playbook,
            "steps": list(selectors.steps_of(playbook)),
            "can_write": True,
            "form": form,
            "step_form": StepForm(shop=request.shop, initial={"at_time": "09:00"}),
        },
        status=400,
    )


@operator_required(OPERATOR)
@require_POST
def playbook_delete(request, pk: int):
    playbook = selectors.playbook_for_shop(request.shop, pk)
    try:
        services.delete_playbook(playbook=playbook, by=request.user)
    except ValidationError as error:
        _say(request, error)
        return redirect("dashboard:playbook_detail", pk=playbook.pk)
    messages.success(request, _("剧本已删除。"))
    return redirect("dashboard:playbooks")


@operator_required(OPERATOR)
@require_POST
def playbook_step_add(request, pk: int):
    playbook = selectors.playbook_for_shop(request.shop, pk)
    form = StepForm(request.POST, shop=request.shop)
    if form.is_valid():
        try:
            services.save_step(playbook=playbook, by=request.user, **form.cleaned_data)
        except ValidationError as error:
            _errors_into(form, error)
        else:
            messages.success(request, _("步骤已添加。"))
            return redirect("dashboard:playbook_detail", pk=playbook.pk)
    return render(
        request,
        "playbooks/dashboard/playbook_detail.html",
        {
            "playbook": playbook,
            "steps": list(selectors.steps_of(playbook)),
            "can_write": True,
            "form": PlaybookForm(instance=playbook, shop=request.shop),
            "step_form": form,
        },
        status=400,
    )


@operator_required(OPERATOR)
@require_http_methods(["GET", "POST"])
def playbook_step_edit(request, pk: int):
    step = selectors.step_for_shop(request.shop, pk)
    form = StepForm(request.POST or None, instance=step, shop=request.shop)
    if request.method == "POST" and form.is_valid():
        try:
            services.save_step(playbook=step.playbook, by=request.user, step=step, **form.cleaned_data)
        except ValidationError as error:
            _errors_into(form, error)
        else:
            messages.success(request, _("步骤已保存。"))
            return redirect("dashboard:playbook_detail", pk=step.playbook_id)
    return render(request, "playbooks/dashboard/step_form.html", {"form": form, "step": step})


@operator_required(OPERATOR)
@require_POST
def playbook_step_delete(request, pk: int):
    step = selectors.step_for_shop(request.shop, pk)
    services.delete_step(step=step, by=request.user)
    messages.success(request, _("步骤已删除。"))
    return redirect("dashboard:playbook_detail", pk=step.playbook_id)


# --- Today's steps and a group's timeline ---------------------------------------------------------------


@operator_required(VIEWER)
@require_GET
def today(request):
    now = timezone.now()
    page = Paginator(selectors.steps_for_day(request.shop), PAGE_SIZE).get_page(request.GET.get("page"))
    for step in page:
        step.shown_state, step.shown_label = step.display_state(now), step.state_label(now)
    return render(
        request,
        "playbooks/dashboard/today.html",
        {
            "page": page,
            "day": timezone.localdate(),
            "can_write": request.operator.can(OPERATOR),
            "reschedule_form": RescheduleForm(),
        },
    )


@operator_required(VIEWER)
@require_GET
def group_timeline(request, pk: int):
    group = group_selectors.group_for_shop(request.shop, pk)
    run = selectors.run_of_group(group)
    now = timezone.now()
    steps = list(selectors.run_steps(run)) if run else []
    for step in steps:
        step.shown_state, step.shown_label = step.display_state(now), step.state_label(now)
    can_write = request.operator.can(OPERATOR)
    return render(
        request,
        "playbooks/dashboard/group_timeline.html",
        {
            "group": group,
            "run": run,
            "steps": steps,
            "can_write": can_write,
            "assign_form": AssignForm(shop=request.shop) if can_write and run is None else None,
            "reschedule_form": RescheduleForm(),
        },
    )


@operator_required(OPERATOR)
@require_POST
def group_assign(request, pk: int):
    group = group_selectors.group_for_shop(request.shop, pk)
    form = AssignForm(request.POST, shop=request.shop)
    if not form.is_valid():
        messages.error(request, "；".join(e for errors in form.errors.values() for e in errors))
    else:
        try:
            services.assign_playbook(group=group, playbook=form.cleaned_data["playbook"], by=request.user)
        except ValidationError as error:
            _say(request, error)
        else:
            messages.success(request, _("已安排培育剧本。"))
    return redirect("dashboard:group_playbook", pk=group.pk)


def _back(request, step):
    target = request.POST.get("next", "")
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        return redirect(target)
    return redirect("dashboard:group_playbook", pk=step.run.group_id)


def _step_action(action):
    @operator_required(OPERATOR)
    @require_POST
    def view(request, pk: int):
        step = selectors.run_step_for_shop(request.shop, pk)
        form = NoteForm(request.POST)
        if not form.is_valid():
            messages.error(request, "；".join(e for errors in form.errors.values() for e in errors))
            return _back(request, step)
        try:
            action(step=step, by=request.user, note=form.cleaned_data["note"])
        except ValidationError as error:
            _say(request, error)
        else:
            messages.success(request, _("已更新：%(title)s") % {"title": step.title})
        return _back(request, step)

    return view


run_step_done = _step_action(services.mark_done)
run_step_skip = _step_action(services.skip)


@operator_required(OPERATOR)
@require_POST
def run_step_reschedule(request, pk: int):
    step = selectors.run_step_for_shop(request.shop, pk)
    form = RescheduleForm(request.POST)
    if not form.is_valid():
        messages.error(request, "；".join(e for errors in form.errors.values() for e in errors))
        return _back(request, step)
    try:
        services.reschedule(step=step, by=request.user, due_at=form.cleaned_data["due_at"])
    except ValidationError as error:
        _say(request, error)
    else:
        messages.success(request, _("已改期：%(title)s") % {"title": step.title})
    return _back(request, step)
