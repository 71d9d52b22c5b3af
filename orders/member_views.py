"""Members' mobile (H5) pages for buying in a group: the group's shop, a product, the order confirmation,
paying, my orders and an order's detail with its member actions (cancel, confirm receipt, refund, after-sales).

Thin views: rules live in orders.services, reads go through orders.selectors and groups.selectors. A
member buys only in a group they are an active member of, and only ever sees their own orders; anything
else is a 404.
"""

import uuid
from functools import wraps

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, gettext_noop
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts.identity import wechat_openid
from groups import selectors as group_selectors
from groups.models import MembershipStatus
from shequn import hooks
from shequn.decorators import member_login_required

from . import pricing, selectors, services, soldout
from .lifecycle import ALLOWED_TRANSITIONS
from .member_forms import CancelForm, CaseForm, CheckoutForm, RefundForm, parse_lines
from .models import CaseState, Delivery, Order, OrderState, PaymentState, Sku
from .payments.methods import available_methods, client_kind, paying_client
from .services import IdempotencyConflict

ORDERS_PER_PAGE = 20

# "My orders" tabs: (value of ?state=, label, the order states it shows). The first is everything.
TABS = [
    ("", gettext_lazy("全部"), ()),
    ("pending_payment", gettext_lazy("待付款"), (OrderState.PENDING_PAYMENT,)),
    ("paid", gettext_lazy("待发货"), (OrderState.PAID,)),
    ("shipped", gettext_lazy("待收货"), (OrderState.SHIPPED,)),
    ("completed", gettext_lazy("已完成"), (OrderState.COMPLETED,)),
    ("refund", gettext_lazy("退款"), (OrderState.REFUND_REQUESTED, OrderState.REFUNDED, OrderState.REFUND_REJECTED)),
]

# An order's history as the member reads it (the operator's dashboard shows the raw states).
HISTORY_WORDS = {
    OrderState.PENDING_PAYMENT: gettext_lazy("订单已提交"),
    OrderState.PAID: gettext_lazy("付款成功"),
    OrderState.SHIPPED: gettext_lazy("商家已发货"),
    OrderState.COMPLETED: gettext_lazy("已确认收货"),
    OrderState.CANCELLED: gettext_lazy("订单已取消"),
    OrderState.REFUND_REQUESTED: gettext_lazy("你申请了退款"),
    OrderState.REFUNDED: gettext_lazy("退款已原路退回"),
    OrderState.REFUND_REJECTED: gettext_lazy("商家未同意退款"),
}
# Moves whose recorded reason means something to the member (why it was cancelled, why refused…).
HISTORY_REASON_SHOWN = {OrderState.CANCELLED, OrderState.REFUND_REQUESTED, OrderState.REFUND_REJECTED}


def _new_idempotency_key() -> str:
    return uuid.uuid4().hex


def _allows(order: Order, to_state: str) -> bool:
    """Whether the state machine allows the move now (to show or hide a button; the service decides)."""
    return to_state in ALLOWED_TRANSITIONS[order.state]


def _add_service_errors(form, error: ValidationError) -> None:
    """A service's refusal on the form: dict errors on their fields when the form has them, the rest on top."""
    if hasattr(error, "error_dict"):
        for field, errors in error.error_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    else:
        form.add_error(None, error.messages)


def buying_in_group(view):
    """Signed-in active members of the group only: a stranger gets a 404, a pending member a notice."""

    @member_login_required
    @wraps(view)
    def wrapped(request: HttpRequest, group_id: int, *args, **kwargs):
        membership = group_selectors.memberships_for_member(request.user).filter(group_id=group_id).first()
        if membership is None:
            raise Http404
        if membership.status != MembershipStatus.ACTIVE:
            return render(request, "orders/member/not_active.html", {"group": membership.group}, status=403)
        return view(request, membership.group, *args, **kwargs)

    return wrapped


# --- The group's shop and a product ---------------------------------------------------------------


@require_GET
@buying_in_group
def group_shop(request: HttpRequest, group) -> HttpResponse:
    """What is for sale in this group: a constant number of queries whatever the number of products."""
    products = []
    for product in selectors.products_for_group(group):
        skus = list(product.skus.all())  # active SKUs, cheapest first
        if not skus:
            continue
        images = list(product.images.all())
        products.append(
            {
                "product": product,
                "image": images[0] if images else None,
                "price": skus[0].price,
                "price_varies": skus[0].price != skus[-1].price,
                "in_stock": any(sku.stock > 0 for sku in skus),
            }
        )
    # A campaign's price on a product's card (shequn.hooks.product_offers): its cheapest offer.
    offers = _product_offers(group, [item["product"].pk for item in products])
    for item in products:
        found = offers.get(item["product"].pk)
        item["offer"] = min(found, key=lambda offer: offer["price"]) if found else None
    return render(
        request,
        "orders/member/shop.html",
        {
            "group": group,
            "products": products,
            # What runs in the group (shequn.hooks.group_offers), with the member's own part in each.
            "campaigns": group_selectors.offers_for_member(group, request.user),
        },
    )


def _product_offers(group, product_ids: list[int]) -> dict[int, list[dict]]:
    """Every plug-in's offers on these products for the group's members, merged by product."""
    merged: dict[int, list[dict]] = {}
    for answer in hooks.product_offers.answers(group=group, product_ids=product_ids):
        for product_id, offers in (answer or {}).items():
            merged.setdefault(product_id, []).extend(offers)
    return merged


@require_GET
@buying_in_group
def product_page(request: HttpRequest, group, pk: int) -> HttpResponse:
    product = selectors.product_in_group(group, pk)
    skus = list(product.skus.all())
    chosen = next((sku for sku in skus if sku.stock > 0), None)
    return render(
        request,
        "orders/member/product.html",
        {
            "group": group,
            "product": product,
            "images": list(product.images.all()),
            "skus": skus,
            "chosen": chosen,
            # The running campaigns' prices for this product, each with a link into its campaign.
            "offers": _product_offers(group, [product.pk]).get(product.pk, []),
        },
    )


# --- Order confirmation and placing ---------------------------------------------------------------


def _priced_lines(group, lines) -> tuple[list[dict], bool]:
    """The requested lines with what they cost now, for display; and whether every SKU is for sale here."""
    wanted = {line.sku_id: line.quantity for line in lines}
    skus = (
        Sku.objects.filter(pk__in=wanted, is_active=True, product__in=selectors.products_for_group(group))
        .select_related("product")
        .prefetch_related("product__images")
        .order_by("product_id", "price", "pk")
    )
    priced = []
    for sku in skus:
        images = list(sku.product.images.all())
        priced.append(
            {
                "sku": sku,
                "product": sku.product,
                "image": images[0] if images else None,
                "quantity": wanted[sku.pk],
                "line_total": sku.price * wanted[sku.pk],
            }
        )
    return priced, len(priced) == len(wanted)


def _checkout_initial(request: HttpRequest) -> dict:
    """Last time's shipping details save the member typing them on a phone again."""
    last = (
        selectors.orders_for_member(request.user)
        .prefetch_related(None)
        .filter(delivery=Delivery.SHIPPING)
        .values("recipient_name", "recipient_phone", "address")
        .first()
    )
    if last:
        return {"delivery": Delivery.SHIPPING, **last}
    return {
        "delivery": Delivery.SHIPPING,
        "recipient_name": request.user.display_name,
        "recipient_phone": (request.user.phone or "").removeprefix("+86"),
    }


def _pricing_options(request, group, priced) -> list[dict]:
    lines = [
        pricing.PricedLine(line["sku"].pk, line["product"].pk, line["sku"].price, line["quantity"]) for line in priced
    ]
    return pricing.options_for(member=request.user, group=group, lines=lines)


def _quote(request, group, lines, form, *, report: bool = True) -> pricing.Priced | None:
    """The price with the member's choices; a plug-in's refusal goes on the form (when `report`: not when
    the page already shows why the order was refused) and no quote is shown."""
    try:
        return services.quote_order(member=request.user, group=group, lines=lines, choices=form.pricing_choices())
    except ValidationError as error:
        if report:
            _add_service_errors(form, error)
        return None


def _render_checkout(request, group, form, priced, key: str, *, quote=None, status: int = 200) -> HttpResponse:
    subtotal = sum((line["line_total"] for line in priced), start=services.ZERO)
    return render(
        request,
        "orders/member/checkout.html",
        {
            "group": group,
            "form": form,
            "lines": priced,
            "subtotal": subtotal,
            "adjustments": [
                {"reason": a.reason, "discount": a.amount < 0, "size": abs(a.amount)}
                for a in (quote.adjustments if quote else [])
            ],
            "total": quote.total if quote else subtotal,
            "idempotency_key": key,
        },
        status=status,
    )


def _sold_out_answer(request: HttpRequest, group, lines) -> HttpResponse | None:
    """A SKU flagged sold out (orders.soldout) is answered before pricing, the form or the SKU rows: the
    short sold-out page. A submit whose key already placed its order goes on to find that order."""
    name = soldout.first_sold_out(line.sku_id for line in lines)
    if name is None:
        return None
    key = request.POST.get("idempotency_key", "").strip() if request.method == "POST" else ""
    if key and selectors.orders_for_member(request.user).filter(idempotency_key=key).exists():
        return None
    return render(request, "orders/member/sold_out.html", {"group": group, "name": name}, status=409)


@require_http_methods(["GET", "POST"])
@buying_in_group
def checkout(request: HttpRequest, group) -> HttpResponse:
    """确认订单. GET shows the lines and renders a fresh idempotency key; POST places the order with it,
    so pressing "submit" twice (or a retry after a lost response) finds the same order."""
    data = request.POST if request.method == "POST" else request.GET
    try:
        lines = parse_lines(data)
    except ValidationError as error:
        messages.error(request, "；".join(error.messages))
        return redirect("orders:group_shop", group_id=group.pk)
    if sold_out := _sold_out_answer(request, group, lines):
        return sold_out
    priced, all_for_sale = _priced_lines(group, lines)

    if request.method == "GET":
        if not all_for_sale:
            messages.error(request, _("所选商品不存在或已下架，请重新选择。"))
            return redirect("orders:group_shop", group_id=group.pk)
        form = CheckoutForm(
            initial=_checkout_initial(request), shop=group.shop, options=_pricing_options(request, group, priced)
        )
        quote = _quote(request, group, lines, form)
        return _render_checkout(request, group, form, priced, _new_idempotency_key(), quote=quote)

    form = CheckoutForm(request.POST, shop=group.shop, options=_pricing_options(request, group, priced))
    key = request.POST.get("idempotency_key", "").strip()
    if not 0 < len(key) <= 64:
        key = _new_idempotency_key()  # a tampered or stale page: this submit gets a key of its own
    if not form.is_valid():
        return _render_checkout(request, group, form, priced, key, quote=_quote(request, group, lines, form))
    if "requote" in request.POST:  # the member changed a discount choice: show the new price, place nothing
        return _render_checkout(request, group, form, priced, key, quote=_quote(request, group, lines, form))
    soldout.note_submitted(key)  # a resubmit of this form must find its order, never the early answer
    try:
        order = services.place_order(
            member=request.user,
            group=group,
            lines=lines,
            delivery=form.delivery_request(),
            idempotency_key=key,
            note=form.cleaned_data["note"].strip(),
            choices=form.pricing_choices(),
        )
    except IdempotencyConflict:
        # This page's order was placed already, and the member then changed something and submitted again.
        placed = selectors.orders_for_member(request.user).filter(idempotency_key=key).first()
        form.add_error(
            None,
            _("这张确认单已经下过单了（订单号 %(number)s）。如需按修改后的内容再下一单，请再次提交。")
            % {"number": placed.number if placed else "—"},
        )
        return _render_checkout(request, group, form, priced, _new_idempotency_key())
    except ValidationError as error:
        _add_service_errors(form, error)
        quote = _quote(request, group, lines, form, report=False)
        return _render_checkout(request, group, form, priced, key, quote=quote)
    if order.state == OrderState.PENDING_PAYMENT:
        messages.success(
            request,
            _("下单成功！请在 %(deadline)s 前完成付款。")
            % {"deadline": timezone.localtime(order.pay_deadline).strftime("%H:%M")},
        )
    else:
        messages.success(request, _("下单成功！这笔订单无需付款。"))
    return redirect("orders:member_order", pk=order.pk)


# --- Paying -----------------------------------------------------------------------------------------


@require_POST
@member_login_required
def pay(request: HttpRequest, pk: int) -> HttpResponse:
    """Start (or resume) the order's payment with the method the member chose, and send them to pay."""
    order = selectors.order_for_member(request.user, pk)
    try:
        _payment, pay_url = services.start_payment(
            order=order, method=request.POST.get("method", ""), **paying_client(request)
        )
    except ValidationError as error:
        messages.error(request, "；".join(error.messages))
        return redirect("orders:member_order", pk=order.pk)
    return redirect(pay_url)


@require_GET
@member_login_required
def after_payment(request: HttpRequest, pk: int) -> HttpResponse:
    """Where the payment providers send the member back: the page that goes on from this order (a team
    page for a 拼团 seat, see shequn.hooks.order_page_after_payment), else the order itself."""
    order = selectors.order_for_member(request.user, pk)
    return redirect(hooks.order_page_after_payment.first(order) or reverse("orders:member_order", args=[order.pk]))


# --- My orders ------------------------------------------------------------------------------------


@require_GET
@member_login_required
def my_orders(request: HttpRequest) -> HttpResponse:
    """我的订单, with state tabs: a constant number of queries whatever the number of orders."""
    tab = request.GET.get("state", "")
    states = next((tab_states for value, _label, tab_states in TABS if value == tab), None)
    if states is None:
        tab, states = "", ()
    orders = selectors.orders_for_member(request.user)
    if states:
        orders = orders.filter(state__in=states)
    page = Paginator(orders, ORDERS_PER_PAGE).get_page(request.GET.get("page"))
    return render(
        request,
        "orders/member/my_orders.html",
        {
            "page": page,
            "tabs": [{"value": value, "label": label} for value, label, _states in TABS],
            "tab": tab,
        },
    )


def _shown_reason(move) -> str:
    if move.to_state not in HISTORY_REASON_SHOWN or not move.reason:
        return ""
    # Reasons the code wrote (a timeout, a reason chosen from a list) are msgids, stored in Chinese:
    # show them in the reader's language. A member's own words find no entry and stay as written.
    return _(move.reason)


def _history(order: Order) -> list[dict]:
    return [
        {"at": move.at, "text": HISTORY_WORDS[move.to_state], "reason": _shown_reason(move)}
        for move in order.transitions.all()
    ]


@require_GET
@member_login_required
def order_detail(request: HttpRequest, pk: int) -> HttpResponse:
    order = selectors.order_for_member(request.user, pk)
    payments = list(order.payments.all())  # newest first
    cases = list(order.after_sales_cases.all())
    has_open_case = any(case.state == CaseState.OPEN for case in cases)
    payable = order.state == OrderState.PENDING_PAYMENT and order.pay_deadline > timezone.now()
    return render(
        request,
        "orders/member/order_detail.html",
        {
            "order": order,
            "history": _history(order),
            "payment": payments[0] if payments else None,
            "awaiting_result": payable and any(p.state == PaymentState.CREATED for p in payments),
            "refunds": list(order.refunds.all()),
            "cases": cases,
            "can_pay": payable,
            "methods": available_methods(
                shop=order.shop,
                client=client_kind(request.META.get("HTTP_USER_AGENT", "")),
                openid=wechat_openid(request.user),
            )
            if payable
            else [],
            "can_cancel": _allows(order, OrderState.CANCELLED),
            "can_complete": _allows(order, OrderState.COMPLETED),
            "can_refund": _allows(order, OrderState.REFUND_REQUESTED),
            "can_open_case": order.state not in (OrderState.PENDING_PAYMENT, OrderState.CANCELLED)
            and not has_open_case,
        },
    )


# --- Member actions on an order -------------------------------------------------------------------


def _refused(request: HttpRequest, order: Order, error: ValidationError) -> HttpResponse:
    messages.error(request, "；".join(error.messages))
    return redirect("orders:member_order", pk=order.pk)


@require_http_methods(["GET", "POST"])
@member_login_required
def cancel(request: HttpRequest, pk: int) -> HttpResponse:
    """GET asks for confirmation; POST cancels an unpaid order (its stock goes back).

    The reason is recorded as its Chinese msgid whatever the member's language, and translated when shown."""
    order = selectors.order_for_member(request.user, pk)
    form = CancelForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            services.cancel_order(
                order=order, by=request.user, reason=form.cleaned_data["reason"] or gettext_noop("会员取消")
            )
        except ValidationError as error:
            return _refused(request, order, error)
        messages.success(request, _("订单已取消。"))
        return redirect("orders:member_order", pk=order.pk)
    return render(request, "orders/member/cancel.html", {"order": order, "form": form})


@require_POST
@member_login_required
def complete(request: HttpRequest, pk: int) -> HttpResponse:
    """确认收货: shipped → completed."""
    order = selectors.order_for_member(request.user, pk)
    try:
        services.complete_order(order=order, by=request.user)
    except ValidationError as error:
        return _refused(request, order, error)
    messages.success(request, _("已确认收货，感谢你的购买！"))
    return redirect("orders:member_order", pk=order.pk)


@require_http_methods(["GET", "POST"])
@member_login_required
def refund(request: HttpRequest, pk: int) -> HttpResponse:
    order = selectors.order_for_member(request.user, pk)
    form = RefundForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            services.request_refund(order=order, by=request.user, reason=form.cleaned_data["reason"].strip())
        except ValidationError as error:
            _add_service_errors(form, error)
        else:
            messages.success(request, _("退款申请已提交，商家处理后会原路退回。"))
            return redirect("orders:member_order", pk=order.pk)
    return render(
        request,
        "orders/member/refund.html",
        {"order": order, "form": form, "allowed": _allows(order, OrderState.REFUND_REQUESTED)},
    )


@require_http_methods(["GET", "POST"])
@member_login_required
def open_case(request: HttpRequest, pk: int) -> HttpResponse:
    """申请售后: a problem with the order, in words and photos."""
    order = selectors.order_for_member(request.user, pk)
    form = CaseForm(*((request.POST, request.FILES) if request.method == "POST" else ()))
    if request.method == "POST" and form.is_valid():
        try:
            services.open_case(
                order=order,
                member=request.user,
                reason=form.cleaned_data["reason"].strip(),
                photos=form.cleaned_data["photos"],
            )
        except ValidationError as error:
            _add_service_errors(form, error)
        else:
            messages.success(request, _("售后申请已提交，商家会尽快联系你。"))
            return redirect("orders:member_order", pk=order.pk)
    return render(request, "orders/member/case.html", {"order": order, "form": form})
