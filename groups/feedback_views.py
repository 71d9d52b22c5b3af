"""Pages of the complaints and suggestions box (投诉与建议).

Members (under /m/): send one from a group they are an active member of, read their own and the answers;
anyone else's item, or a group they are not in, is a 404. Operators (under /dashboard/): the shop's items
with filters, one item with routing, answering and closing, and the shop's departments; viewers read,
operators write. Thin views: groups.feedback decides, groups.feedback_selectors reads.
"""

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.cache import cache_control
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from shequn.decorators import member_login_required
from shops.models import OperatorRole
from shops.tenancy import operator_required

from . import feedback
from . import feedback_selectors as selectors
from .feedback_forms import AnswerForm, DepartmentForm, FeedbackForm, RouteForm
from .feedback_models import FeedbackKind, FeedbackState
from .space_views import add_service_errors, serve_image

PAGE_SIZE = 50
MEMBER_PAGE_SIZE = 20

# --- Members ------------------------------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
@member_login_required
def member_new(request: HttpRequest, pk: int) -> HttpResponse:
    group = selectors.group_for_feedback(request.user, pk)
    initial = {"kind": request.GET.get("kind")} if request.GET.get("kind") in FeedbackKind.values else {}
    form = FeedbackForm(*((request.POST, request.FILES) if request.method == "POST" else ()), initial=initial)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            item = feedback.submit(
                group=group, member=request.user, kind=data["kind"], body=data["body"], photo=data["photo"]
            )
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(request, _("已提交，店铺处理后会在这里答复你。"))
            return redirect("member:feedback_detail", pk=item.pk)
    status = 400 if request.method == "POST" else 200
    return render(request, "groups/feedback/member_form.html", {"group": group, "form": form}, status=status)


@require_GET
@member_login_required
def member_list(request: HttpRequest) -> HttpResponse:
    page = Paginator(selectors.for_member(request.user), MEMBER_PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "groups/feedback/member_list.html", {"page": page})


@require_GET
@member_login_required
def member_detail(request: HttpRequest, pk: int) -> HttpResponse:
    return render(request, "groups/feedback/member_detail.html", {"item": selectors.item_for_member(request.user, pk)})


@require_GET
@member_login_required
@cache_control(private=True, max_age=3600)
def member_photo(request: HttpRequest, pk: int):
    item = selectors.item_for_member(request.user, pk)
    if not item.photo:
        raise Http404
    return serve_image(item.photo)


# --- Operators ----------------------------------------------------------------------------------------


@operator_required(OperatorRole.VIEWER)
@require_GET
def dashboard_list(request):
    state = request.GET.get("state", "")
    state = state if state in FeedbackState.values else ""
    kind = request.GET.get("kind", "")
    kind = kind if kind in FeedbackKind.values else ""
    departments = list(selectors.departments_of(request.shop))
    department = request.GET.get("department", "")
    department_id = int(department) if department.isascii() and department.isdigit() and len(department) < 10 else None
    items = selectors.for_shop(request.shop, state=state or None, kind=kind or None, department=department_id)
    page = Paginator(items, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "groups/feedback/dashboard_list.html",
        {
            "page": page,
            "state": state,
            "kind": kind,
            "department": department_id,
            "states": FeedbackState.choices,
            "kinds": FeedbackKind.choices,
            "departments": departments,
        },
    )


def _render_item(request, item, *, route_form=None, answer_form=None, status=200):
    departments = selectors.departments_of(request.shop, active_only=True)
    return render(
        request,
        "groups/feedback/dashboard_detail.html",
        {
            "item": item,
            "can_write": request.operator.can(OperatorRole.OPERATOR),
            "route_form": route_form or RouteForm(departments=departments, initial={"department": item.department_id}),
            "answer_form": answer_form or AnswerForm(initial={"answer": item.answer}),
            "has_departments": departments.exists(),
        },
        status=status,
    )


@operator_required(OperatorRole.VIEWER)
@require_GET
def dashboard_detail(request, pk: int):
    return _render_item(request, selectors.item_for_shop(request.shop, pk))


@operator_required(OperatorRole.VIEWER)
@require_GET
@cache_control(private=True, max_age=3600)
def dashboard_photo(request, pk: int):
    item = selectors.item_for_shop(request.shop, pk)
    if not item.photo:
        raise Http404
    return serve_image(item.photo)


@operator_required(OperatorRole.OPERATOR)
@require_POST
def dashboard_route(request, pk: int):
    item = selectors.item_for_shop(request.shop, pk)
    form = RouteForm(request.POST, departments=selectors.departments_of(request.shop, active_only=True))
    if form.is_valid():
        try:
            feedback.route(item=item, by=request.user, department=form.cleaned_data["department"])
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(request, _("已转给「%(name)s」。") % {"name": form.cleaned_data["department"].name})
            return redirect("dashboard:feedback_detail", pk=item.pk)
    return _render_item(request, item, route_form=form, status=400)


@operator_required(OperatorRole.OPERATOR)
@require_POST
def dashboard_answer(request, pk: int):
    item = selectors.item_for_shop(request.shop, pk)
    form = AnswerForm(request.POST)
    if form.is_valid():
        try:
            feedback.answer(item=item, by=request.user, text=form.cleaned_data["answer"])
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(request, _("已答复，成员会收到消息。"))
            return redirect("dashboard:feedback_detail", pk=item.pk)
    return _render_item(request, item, answer_form=form, status=400)


@operator_required(OperatorRole.OPERATOR)
@require_POST
def dashboard_close(request, pk: int):
    item = selectors.item_for_shop(request.shop, pk)
    try:
        feedback.close(item=item, by=request.user)
    except ValidationError as error:
        messages.error(request, "；".join(error.messages))
    else:
        messages.success(request, _("已关闭。"))
    return redirect("dashboard:feedback_detail", pk=item.pk)


@operator_required(OperatorRole.VIEWER)
@require_http_methods(["GET", "POST"])
def dashboard_departments(request):
    can_write = request.operator.can(OperatorRole.OPERATOR)
    form = DepartmentForm(request.POST if request.method == "POST" else None)
    if request.method == "POST":
        if not can_write:
            raise PermissionDenied(_("您的角色无权执行此操作。"))
        if form.is_valid():
            try:
                feedback.create_department(shop_id=request.shop.pk, by=request.user, name=form.cleaned_data["name"])
            except ValidationError as error:
                add_service_errors(form, error)
            else:
                messages.success(request, _("已添加部门。"))
                return redirect("dashboard:feedback_departments")
    return render(
        request,
        "groups/feedback/dashboard_departments.html",
        {"departments": selectors.departments_of(request.shop), "form": form, "can_write": can_write},
        status=400 if request.method == "POST" else 200,
    )


@operator_required(OperatorRole.OPERATOR)
@require_POST
def dashboard_department_toggle(request, pk: int):
    department = selectors.department_for_shop(request.shop, pk)
    feedback.set_department_active(department=department, by=request.user, active=not department.active)
    messages.success(request, _("已启用。") if department.active else _("已停用。"))
    return redirect("dashboard:feedback_departments")
