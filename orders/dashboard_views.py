"""Operator dashboard pages for the catalog, orders and after-sales.

Every view takes its shop from `operator_required` and reads through `orders.selectors`, so an
object of another shop is a 404. Writes parse a form, call a service (`orders.catalog`,
`orders.services`) and redirect with a message; a refusal is shown on the form or as a message.
"""

import csv
import uuid
from zoneinfo import ZoneInfo

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from shequn import hooks
from shops.models import OperatorRole
from shops.tenancy import operator_required

from . import catalog, entry, selectors, services
from .dashboard_forms import (
    CaseFilterForm,
    CloseCaseForm,
    NewSkuForm,
    OrderFilterForm,
    PartRefundForm,
    PickupPointForm,
    ProductForm,
    ReasonForm,
    ShipForm,
    SkuForm,
    StockForm,
)
from .lifecycle import ALLOWED_TRANSITIONS, PAID_STATES
from .models import CaseState, Delivery, Order, OrderState, RefundState
from .reorder_views import SOURCE as REMINDER_SOURCE

PAGE_SIZE = 50
# Orders fetched (and their lines prefetched) per round trip while streaming the CSV export.
EXPORT_CHUNK = 500
SHANGHAI = ZoneInfo("Asia/Shanghai")
VIEWER, OPERATOR = OperatorRole.VIEWER, OperatorRole.OPERATOR


# --- Helpers --------------------------------------------------------------------------------------


def _can_write(request) -> bool:
    return request.operator.can(OPERATOR)


def _fits_form(form, error: ValidationError) -> bool:
    """True when every part of a service's refusal names a field of `form` (so it can be shown there)."""
    return hasattr(error, "error_dict") and all(field in form.fields for field in error.error_dict)


def _add_service_errors(form, error: ValidationError) -> None:
    """Put a service's refusal on the form: dict errors on their fields, the rest on the form."""
    if hasattr(error, "error_dict"):
        for field, errors in error.error_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    else:
        form.add_error(None, error.messages)


def _error_text(error: ValidationError) -> str:
    return "；".join(error.messages)


def _bound_data(request):
    """The POST data of a form page, or None on GET: an empty POST is still a submission to validate."""
    return request.POST if request.method == "POST" else None


def _form_error_text(form) -> str:
    parts = []
    for field, errors in form.errors.items():
        label = form.fields[field].label if field in form.fields else ""
        parts.append(f"{label}：{'；'.join(errors)}" if label else "；".join(errors))
    return "；".join(parts)


# --- Products and SKUs ----------------------------------------------------------------------------


@operator_required(VIEWER)
@require_GET
def product_list(request):
    page = Paginator(selectors.products_for_shop(request.shop), PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "orders/dashboard/product_list.html", {"page": page, "can_write": _can_write(request)})


def _sku_form(sku, data=None) -> SkuForm:
    initial = {
        "spec": sku.spec,
        "price": sku.price,
        "per_member_limit": sku.per_member_limit,
        "is_active": sku.is_active,
    }
    return SkuForm(data, initial=initial, auto_id=f"sku{sku.pk}_%s")


def _render_product_form(request, product, form, *, new_sku_form=None, bound_sku_form=None, bound_sku_id=None):
    sku_rows = []
    if product is not None:
        for sku in product.skus.all():
            edit_form = bound_sku_form if sku.pk == bound_sku_id else _sku_form(sku)
            sku_rows.append({"sku": sku, "form": edit_form, "stock_form": StockForm(auto_id=f"stock{sku.pk}_%s")})
    return render(
        request,
        "orders/dashboard/product_form.html",
        {
            "product": product,
            "form": form,
            "sku_rows": sku_rows,
            "new_sku_form": new_sku_form or NewSkuForm(auto_id="newsku_%s"),
        },
    )


def _save_product(request, product=None):
    initial = ProductForm.initial_for(product) if product is not None else None
    form = ProductForm(
        _bound_data(request), request.FILES if request.method == "POST" else None, shop=request.shop, initial=initial
    )
    if request.method == "POST" and form.is_valid():
        try:
            saved = catalog.save_product(
                shop=request.shop,
                by=request.user,
                product=product,
                image=form.cleaned_data["image"],
                **form.product_values(),
            )
        except ValidationError as error:
            _add_service_errors(form, error)
            if product is not None:
                product.refresh_from_db()  # save_product changed it in memory before it was refused
        else:
            messages.success(request, _("已保存商品「%(name)s」。") % {"name": saved.name})
            return redirect("dashboard:product_edit", pk=saved.pk)
    return _render_product_form(request, product, form)


@operator_required(OPERATOR)
@require_http_methods(["GET", "POST"])
def product_create(request):
    return _save_product(request)


@operator_required(OPERATOR)
@require_http_methods(["GET", "POST"])
def product_edit(request, pk: int):
    return _save_product(request, selectors.product_for_shop(request.shop, pk))


def _product_page(product_id: int) -> str:
    return reverse("dashboard:product_edit", args=[product_id]) + "#skus"


@operator_required(OPERATOR)
@require_POST
def sku_create(request, pk: int):
    product = selectors.product_for_shop(request.shop, pk)
    form = NewSkuForm(request.POST, auto_id="newsku_%s")
    if form.is_valid():
        try:
            sku = catalog.save_sku(by=request.user, product=product, **form.sku_values())
        except ValidationError as error:
            _add_service_errors(form, error)
        else:
            messages.success(request, _("已添加规格「%(spec)s」。") % {"spec": sku.spec})
            return redirect(_product_page(product.pk))
    return _render_product_form(
        request, product, ProductForm(shop=request.shop, initial=ProductForm.initial_for(product)), new_sku_form=form
    )


@operator_required(OPERATOR)
@require_POST
def sku_edit(request, pk: int):
    sku = selectors.sku_for_shop(request.shop, pk)
    form = _sku_form(sku, request.POST)
    if form.is_valid():
        try:
            catalog.save_sku(by=request.user, product=sku.product, sku=sku, **form.sku_values())
        except ValidationError as error:
            _add_service_errors(form, error)
        else:
            messages.success(request, _("已保存规格「%(spec)s」。") % {"spec": sku.spec})
            return redirect(_product_page(sku.product_id))
    product = selectors.product_for_shop(request.shop, sku.product_id)
    return _render_product_form(
        request,
        product,
        ProductForm(shop=request.shop, initial=ProductForm.initial_for(product)),
        bound_sku_form=form,
        bound_sku_id=sku.pk,
    )


@operator_required(OPERATOR)
@require_POST
def sku_stock(request, pk: int):
    sku = selectors.sku_for_shop(request.shop, pk)
    form = StockForm(request.POST)
    if not form.is_valid():
        messages.error(request, _form_error_text(form))
        return redirect(_product_page(sku.product_id))
    try:
        sku = catalog.adjust_stock(sku=sku, by=request.user, delta=form.cleaned_data["delta"])
    except ValidationError as error:
        messages.error(request, _error_text(error))
    else:
        messages.success(request, _("「%(sku)s」库存已调整为 %(stock)d。") % {"sku": sku, "stock": sku.stock})
    return redirect(_product_page(sku.product_id))


# --- Pickup points --------------------------------------------------------------------------------


def _pickup_point_values(form) -> dict:
    data = form.cleaned_data
    return {name: data[name] for name in ("name", "address", "opening_hours", "is_active")}


@operator_required(VIEWER)
@require_http_methods(["GET", "POST"])
def pickup_points(request):
    if request.method == "POST" and not _can_write(request):
        raise PermissionDenied(_("您的角色无权执行此操作。"))
    form = PickupPointForm(_bound_data(request))
    if request.method == "POST" and form.is_valid():
        try:
            point = catalog.save_pickup_point(shop=request.shop, by=request.user, **_pickup_point_values(form))
        except ValidationError as error:
            _add_service_errors(form, error)
        else:
            messages.success(request, _("已添加自提点「%(name)s」。") % {"name": point.name})
            return redirect("dashboard:pickup_points")
    return render(
        request,
        "orders/dashboard/pickup_points.html",
        {
            "points": selectors.pickup_points_for_shop(request.shop),
            "form": form,
            "can_write": _can_write(request),
        },
    )


@operator_required(OPERATOR)
@require_http_methods(["GET", "POST"])
def pickup_point_edit(request, pk: int):
    point = get_object_or_404(selectors.pickup_points_for_shop(request.shop), pk=pk)
    initial = {
        "name": point.name,
        "address": point.address,
        "opening_hours": point.opening_hours,
        "is_active": point.is_active,
    }
    form = PickupPointForm(_bound_data(request), initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            point = catalog.save_pickup_point(
                shop=request.shop, by=request.user, point=point, **_pickup_point_values(form)
            )
        except ValidationError as error:
            _add_service_errors(form, error)
        else:
            messages.success(request, _("已保存自提点「%(name)s」。") % {"name": point.name})
            return redirect("dashboard:pickup_points")
    return render(request, "orders/dashboard/pickup_point_form.html", {"point": point, "form": form})


# --- Orders ---------------------------------------------------------------------------------------


def _filtered_orders(request):
    filter_form = OrderFilterForm(request.GET or None, shop=request.shop)
    return filter_form, selectors.orders_for_shop(request.shop, **filter_form.filters())


def _lines_summary(order: Order) -> str:
    return "；".join(f"{line.product_name} {line.spec} ×{line.quantity}" for line in order.lines.all())


@operator_required(VIEWER)
@require_GET
def order_list(request):
    filter_form, orders = _filtered_orders(request)
    page = Paginator(orders, PAGE_SIZE).get_page(request.GET.get("page"))
    for order in page:  # lines are prefetched: no query per order
        order.lines_summary = _lines_summary(order)
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "orders/dashboard/order_list.html",
        {
            "filter_form": filter_form,
            "page": page,
            "export_url": reverse("dashboard:orders_export") + (f"?{query.urlencode()}" if query else ""),
        },
    )


class _Echo:
    """A file-like object whose write() returns the line: csv.writer then yields rows one by one."""

    def write(self, value: str) -> str:
        return value


# Text a spreadsheet would run as a formula if a cell started with it.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _cell(value: str) -> str:
    return "'" + value if value.startswith(_FORMULA_START) else value


def _money(amount) -> str:
    return f"{amount:.2f}"


def _csv_header() -> list[str]:
    return [
        _("订单号"),
        _("下单时间"),
        _("状态"),
        _("会员"),
        _("群"),
        _("商品"),
        _("商品金额"),
        _("优惠"),
        _("应付金额"),
        _("已退金额"),
        _("配送方式"),
        _("收货人"),
        _("收货电话"),
        _("收货地址/自提点"),
        _("运单号"),
        _("推荐人"),
    ]


def _csv_row(order: Order) -> list[str]:
    if order.delivery == Delivery.PICKUP and order.pickup_point:
        target = f"{order.pickup_point.name}（{order.pickup_point.address}）"
    else:
        target = order.address
    return [
        order.number,
        timezone.localtime(order.created_at, SHANGHAI).strftime("%Y-%m-%d %H:%M:%S"),
        order.get_state_display(),
        _cell(order.member.public_name),
        _cell(order.group.name),
        _cell(_lines_summary(order)),
        _money(order.subtotal),
        _money(order.discount),
        _money(order.total),
        _money(order.refunded_amount),
        order.get_delivery_display(),
        _cell(order.recipient_name),
        # The shipping phone the member gave for this order (operators need it to ship), never the account phone.
        _cell(order.recipient_phone),
        _cell(target),
        _cell(order.tracking_number),
        _cell(order.referrer.public_name) if order.referrer else "",
    ]


def _csv_lines(orders):
    writer = csv.writer(_Echo())
    yield "\ufeff" + writer.writerow(_csv_header())  # the BOM tells Excel the file is UTF-8
    # iterator() keeps memory flat; with chunk_size the lines are prefetched once per chunk.
    for order in orders.iterator(chunk_size=EXPORT_CHUNK):
        yield writer.writerow(_csv_row(order))


@operator_required(VIEWER)
@require_GET
def orders_export(request):
    _filter_form, orders = _filtered_orders(request)
    response = StreamingHttpResponse(_csv_lines(orders), content_type="text/csv; charset=utf-8")
    filename = f"orders-{timezone.localtime(timezone.now(), SHANGHAI):%Y%m%d-%H%M}.csv"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


REASON_PLACEHOLDERS = {
    "cancel": gettext_lazy("取消原因（选填）"),
    "refund": gettext_lazy("退款原因（必填）"),
    "reject": gettext_lazy("拒绝原因（必填）"),
}


def _reason_form(action: str, data=None) -> ReasonForm:
    return ReasonForm(data, auto_id=f"{action}_%s", placeholder=REASON_PLACEHOLDERS[action])


def _refund_pending(order: Order) -> bool:
    """A refund of the order itself (not a late payment sent back) is with the provider."""
    return any(r.state == RefundState.PENDING and not r.key.startswith("late-payment:") for r in order.refunds.all())


def _offered_actions(order: Order) -> dict[str, bool]:
    """Which action forms the detail page shows, read from the lifecycle's table of allowed moves.

    Presentation only: the services still decide, and refuse what is not allowed.
    """
    allowed = ALLOWED_TRANSITIONS[order.state]
    return {
        "ship": OrderState.SHIPPED in allowed,
        "cancel": OrderState.CANCELLED in allowed,
        "refund": OrderState.REFUND_REQUESTED in allowed,
        "reject": OrderState.REFUND_REJECTED in allowed and not _refund_pending(order),
        # A part of the money back, the order kept: while it is paid, no refund request is being decided,
        # and not all of the money was returned.
        "refund_part": order.state in PAID_STATES
        and order.state != OrderState.REFUND_REQUESTED
        and order.paid_amount > order.refunded_amount,
    }


def _source_label(order: Order) -> str:
    """The order's `source` in words: a campaign's (the order_source_label hook), paid group entry, a
    reminder's reorder."""
    if not order.source:
        return ""
    if order.source.startswith(entry.SOURCE_PREFIX):
        return _("付费入群")
    if order.source == REMINDER_SOURCE:
        return _("复购提醒")
    return hooks.order_source_label.first(order) or _("其他")


def _render_order_detail(request, order: Order, **forms):
    offered = _offered_actions(order)
    context = {
        "order": order,
        "source_label": _source_label(order),
        "lines": sorted(order.lines.all(), key=lambda line: line.pk),
        "transitions": order.transitions.all(),
        "payments": order.payments.all(),
        "refunds": order.refunds.all(),
        "callbacks": selectors.callbacks_for_order(order),
        "cases": order.after_sales_cases.all(),
        "can_write": _can_write(request),
        "can_ship": offered["ship"],
        "can_cancel": offered["cancel"],
        "can_refund": offered["refund"],
        "can_decide_refund": offered["reject"],
        "can_refund_part": offered["refund_part"],
        "refund_pending": order.state == OrderState.REFUND_REQUESTED and _refund_pending(order),
        "ship_form": forms.get("ship_form") or ShipForm(auto_id="ship_%s"),
        "cancel_form": forms.get("cancel_form") or _reason_form("cancel"),
        "refund_form": forms.get("refund_form") or _reason_form("refund"),
        "reject_form": forms.get("reject_form") or _reason_form("reject"),
        "refund_part_form": forms.get("refund_part_form")
        or PartRefundForm(auto_id="part_%s", initial={"key": uuid.uuid4().hex}),
    }
    return render(request, "orders/dashboard/order_detail.html", context)


@operator_required(VIEWER)
@require_GET
def order_detail(request, pk: int):
    return _render_order_detail(request, selectors.order_for_shop(request.shop, pk))


def _order_action(request, pk: int, *, action: str, form, act, done: str):
    """Run one operator action on an order and say what happened.

    A refusal naming a field of the form is shown on that form when the page still offers it;
    anything else (the order's state no longer allows the action…) comes back as an error message.
    The service runs in its own transaction: a refusal writes nothing.
    """
    order = selectors.order_for_shop(request.shop, pk)
    if form.is_valid():
        try:
            act(order, form.cleaned_data)
        except ValidationError as error:
            if not (_fits_form(form, error) and _offered_actions(order)[action]):
                messages.error(request, _error_text(error))
                return redirect("dashboard:order_detail", pk=order.pk)
            _add_service_errors(form, error)
        else:
            messages.success(request, done)
            return redirect("dashboard:order_detail", pk=order.pk)
    elif not _offered_actions(order)[action]:
        messages.error(request, _form_error_text(form))
        return redirect("dashboard:order_detail", pk=order.pk)
    return _render_order_detail(request, order, **{f"{action}_form": form})


@operator_required(OPERATOR)
@require_POST
def order_ship(request, pk: int):
    return _order_action(
        request,
        pk,
        action="ship",
        form=ShipForm(request.POST, auto_id="ship_%s"),
        done=_("订单已发货。"),
        act=lambda order, data: services.ship_order(
            order=order, by=request.user, tracking_number=data["tracking_number"]
        ),
    )


@operator_required(OPERATOR)
@require_POST
def order_cancel(request, pk: int):
    return _order_action(
        request,
        pk,
        action="cancel",
        form=_reason_form("cancel", request.POST),
        done=_("订单已取消，库存已退回。"),
        act=lambda order, data: services.cancel_order(order=order, by=request.user, reason=data["reason"]),
    )


@operator_required(OPERATOR)
@require_POST
def order_refund(request, pk: int):
    return _order_action(
        request,
        pk,
        action="refund",
        form=_reason_form("refund", request.POST),
        done=_("已发起退款，支付渠道确认后订单变为「已退款」。"),
        act=lambda order, data: services.refund_order(order=order, by=request.user, reason=data["reason"]),
    )


@operator_required(OPERATOR)
@require_POST
def order_refund_part(request, pk: int):
    """部分退款: part of the money back, split over the lines (orders.services.refund_part); once per page."""
    return _order_action(
        request,
        pk,
        action="refund_part",
        form=PartRefundForm(request.POST, auto_id="part_%s"),
        done=_("已发起部分退款，支付渠道确认后到账。"),
        act=lambda order, data: services.refund_part(
            order=order,
            amount=data["amount"],
            key=f"order:{order.pk}:part:{data['key']}",
            reason=data["reason"],
            by=request.user,
        ),
    )


@operator_required(OPERATOR)
@require_POST
def order_refund_approve(request, pk: int):
    order = selectors.order_for_shop(request.shop, pk)
    try:
        refund = services.approve_refund(order=order, by=request.user)
    except ValidationError as error:
        messages.error(request, _error_text(error))
    else:
        if refund is None:
            messages.success(request, _("这笔订单没有需要退回的钱，已直接变为「已退款」。"))
        elif refund.state == RefundState.FAILED:
            messages.error(request, _("这笔订单的退款此前已失败，请联系技术支持处理。"))
        else:
            messages.success(request, _("已同意退款，支付渠道确认后订单变为「已退款」。"))
    return redirect("dashboard:order_detail", pk=order.pk)


@operator_required(OPERATOR)
@require_POST
def order_refund_reject(request, pk: int):
    return _order_action(
        request,
        pk,
        action="reject",
        form=_reason_form("reject", request.POST),
        done=_("已拒绝退款申请。"),
        act=lambda order, data: services.reject_refund(order=order, by=request.user, reason=data["reason"]),
    )


# --- After-sales ----------------------------------------------------------------------------------


@operator_required(VIEWER)
@require_GET
def case_list(request):
    filter_form = CaseFilterForm(request.GET or None)
    state = filter_form.state_filter()
    cases = selectors.cases_for_shop(request.shop, state=state)
    page = Paginator(cases, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "orders/dashboard/case_list.html",
        {
            "filter_form": filter_form,
            "page": page,
            "state": state or "all",
        },
    )


def _render_case_detail(request, case, form=None):
    return render(
        request,
        "orders/dashboard/case_detail.html",
        {
            "case": case,
            "form": form or CloseCaseForm(),
            "can_write": _can_write(request),
            "is_open": case.state == CaseState.OPEN,
        },
    )


@operator_required(VIEWER)
@require_GET
def case_detail(request, pk: int):
    return _render_case_detail(request, selectors.case_for_shop(request.shop, pk))


@operator_required(OPERATOR)
@require_POST
def case_close(request, pk: int):
    case = selectors.case_for_shop(request.shop, pk)
    form = CloseCaseForm(request.POST)
    if form.is_valid():
        try:
            services.close_case(
                case=case,
                by=request.user,
                resolution=form.cleaned_data["resolution"],
                resolved=form.cleaned_data["resolved"],
            )
        except ValidationError as error:
            if not _fits_form(form, error):
                messages.error(request, _error_text(error))
                return redirect("dashboard:case_detail", pk=case.pk)
            _add_service_errors(form, error)
        else:
            messages.success(request, _("售后已处理。"))
            return redirect("dashboard:case_detail", pk=case.pk)
    return _render_case_detail(request, case, form)
