"""Dashboard pages for the shop itself: settings (owner), staff (owner writes), the audit log (owner),
shop switcher."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from . import audit, selectors, services
from .forms import AuditFilterForm, OperatorAddForm, OperatorRoleForm, ShopSettingsForm, SwitchShopForm
from .models import Operator, OperatorRole
from .tenancy import SESSION_SHOP_KEY, operator_required, seats_for


def _add_service_errors(form, error: ValidationError) -> None:
    if hasattr(error, "error_dict"):
        for field, errors in error.error_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    else:
        form.add_error(None, error.messages)


def _operator_of_shop(request, pk: int) -> Operator:
    return get_object_or_404(Operator.objects.select_related("user"), shop=request.shop, pk=pk)


@operator_required(OperatorRole.OWNER)
def shop_settings(request):
    current = request.shop.settings
    form = ShopSettingsForm(
        request.POST or None,
        initial={
            "group_hard_cap": current.group_hard_cap,
            "default_group_capacity": current.default_group_capacity,
            "default_rotation_threshold": current.default_rotation_threshold,
            "payment_timeout_minutes": current.payment_timeout_minutes,
            "bargain_pay_within_minutes": current.bargain_pay_within_minutes,
            "sms_sign_name": current.sms_sign_name,
            "campaign_join_window_hours": current.campaign_join_window_hours,
            "bargain_near_floor_percent": current.bargain_near_floor_percent,
            "coupon_expiry_notice_hours": current.coupon_expiry_notice_hours,
        },
    )
    if request.method == "POST" and form.is_valid():
        try:
            services.update_shop_settings(shop=request.shop, by=request.user, **form.cleaned_data)
        except ValidationError as error:
            _add_service_errors(form, error)
        else:
            messages.success(request, _("店铺设置已保存。"))
            return redirect("dashboard:shop_settings")
    return render(request, "shops/settings.html", {"form": form})


def _render_operators(request, *, add_form: OperatorAddForm | None = None, status: int = 200):
    seats = Operator.objects.filter(shop=request.shop).select_related("user").order_by("created_at", "pk")
    return render(
        request,
        "shops/operators.html",
        {
            "seats": seats,
            "add_form": add_form or OperatorAddForm(),
            "roles": OperatorRole.choices,
            "is_owner": request.operator.can(OperatorRole.OWNER),
        },
        status=status,
    )


@operator_required(OperatorRole.VIEWER)
def operators(request):
    return _render_operators(request)


@operator_required(OperatorRole.OWNER)
@require_POST
def operator_add(request):
    form = OperatorAddForm(request.POST)
    if form.is_valid():
        try:
            seat = services.add_operator(shop=request.shop, by=request.user, **form.cleaned_data)
        except ValidationError as error:
            _add_service_errors(form, error)
        else:
            messages.success(request, _("已添加运营人员 %(email)s。") % {"email": seat.user.email})
            return redirect("dashboard:operators")
    return _render_operators(request, add_form=form)


@operator_required(OperatorRole.OWNER)
@require_POST
def operator_role(request, pk: int):
    seat = _operator_of_shop(request, pk)
    form = OperatorRoleForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("请选择有效的角色。"))
        return redirect("dashboard:operators")
    try:
        seat = services.change_operator_role(operator=seat, by=request.user, role=form.cleaned_data["role"])
    except ValidationError as error:
        messages.error(request, "；".join(error.messages))
    else:
        messages.success(
            request,
            _("已将 %(name)s 的角色改为「%(role)s」。")
            % {"name": seat.user.public_name, "role": seat.get_role_display()},
        )
    return redirect("dashboard:operators")


@operator_required(OperatorRole.OWNER)
@require_POST
def operator_remove(request, pk: int):
    seat = _operator_of_shop(request, pk)
    try:
        services.remove_operator(operator=seat, by=request.user)
    except ValidationError as error:
        messages.error(request, "；".join(error.messages))
        return redirect("dashboard:operators")
    messages.success(request, _("已移除运营人员 %(name)s。") % {"name": seat.user.public_name})
    if seat.user_id == request.user.pk:  # removed their own seat: this shop is no longer theirs
        request.session.pop(SESSION_SHOP_KEY, None)
        return redirect("home")
    return redirect("dashboard:operators")


@operator_required(OperatorRole.VIEWER)
@require_POST
def switch_shop(request):
    form = SwitchShopForm(request.POST)
    if not form.is_valid():
        raise Http404
    seat = next((s for s in seats_for(request.user) if s.shop_id == form.cleaned_data["shop"]), None)
    if seat is None:
        raise Http404
    request.session[SESSION_SHOP_KEY] = seat.shop_id
    messages.success(request, _("已切换到店铺「%(name)s」。") % {"name": seat.shop.name})
    return redirect("dashboard:groups")


AUDIT_PAGE_SIZE = 50


@operator_required(OperatorRole.OWNER)
@require_GET
def audit_log(request):
    """Who changed what in the shop, newest first; owners only (it names every operator's acts)."""
    form = AuditFilterForm(
        request.GET or None, people=selectors.audit_people(request.shop), types=selectors.audit_types(request.shop)
    )
    filters = {}
    if form.is_bound and form.is_valid():
        data = form.cleaned_data
        filters = {
            "person": int(data["person"]) if data["person"] else None,
            "type": int(data["type"]) if data["type"] else None,
            "since": data["since"],
            "until": data["until"],
        }
    page = Paginator(selectors.audit_entries(request.shop, **filters), AUDIT_PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    for entry in page:
        entry.action_label = audit.ACTIONS.get(entry.action, entry.action)
        model = entry.target_type.model_class()
        entry.type_label = model._meta.verbose_name if model else entry.target_type.model
        entry.rows = audit.change_rows(entry)
    return render(request, "shops/audit_log.html", {"form": form, "page": page})
