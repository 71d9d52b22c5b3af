"""Reads for orders. Operator reads take the shop; member reads take the member. A miss is a 404."""

from datetime import date, datetime, timedelta

from django.db.models import Count, F, Min, OuterRef, Prefetch, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _

from accounts.models import User
from groups.models import Group
from shequn.outboxes import FAILURE_WINDOW, OutboxFigures
from shops.models import Shop

from .models import (
    AfterSalesCase,
    DueState,
    Order,
    OrderLine,
    Payment,
    PickupPoint,
    Product,
    Refund,
    RefundState,
    RepurchaseDue,
    RepurchaseReminder,
    SimulatedNotificationOutbox,
    Sku,
)


def products_for_shop(shop: Shop) -> QuerySet[Product]:
    return Product.objects.filter(shop=shop).prefetch_related("skus", "images", "groups").order_by("-created_at", "-pk")


def product_for_shop(shop: Shop, pk: int) -> Product:
    return get_object_or_404(Product.objects.prefetch_related("skus", "images", "groups"), shop=shop, pk=pk)


def sku_for_shop(shop: Shop, pk: int) -> Sku:
    return get_object_or_404(Sku.objects.select_related("product"), product__shop=shop, pk=pk)


def products_for_group(group: Group) -> QuerySet[Product]:
    """What a member sees for sale in a group: active products offered to it, with their active SKUs."""
    return (
        Product.objects.filter(shop_id=group.shop_id, is_active=True)
        .filter(Q(offered_to_all_groups=True) | Q(groups=group))
        .prefetch_related(
            Prefetch("skus", queryset=Sku.objects.filter(is_active=True).order_by("price", "pk")), "images"
        )
        .distinct()
        .order_by("-created_at", "-pk")
    )


def product_in_group(group: Group, pk: int) -> Product:
    return get_object_or_404(products_for_group(group), pk=pk)


def pickup_points_for_shop(shop: Shop, *, active_only: bool = False) -> QuerySet[PickupPoint]:
    qs = PickupPoint.objects.filter(shop=shop).order_by("name")
    return qs.filter(is_active=True) if active_only else qs


def orders_for_shop(
    shop: Shop,
    *,
    state: str | None = None,
    group_id: int | None = None,
    date_from: date | None = None,
    date_to: date | None = None,
    member: str | None = None,
    product_id: int | None = None,
) -> QuerySet[Order]:
    """The operator's order list and CSV export: a constant number of queries for any number of orders."""
    qs = (
        Order.objects.filter(shop=shop)
        .select_related("member", "group", "referrer", "pickup_point")
        .prefetch_related(Prefetch("lines", queryset=OrderLine.objects.order_by("pk")))
        .order_by("-created_at", "-pk")
    )
    if state:
        qs = qs.filter(state=state)
    if group_id:
        qs = qs.filter(group_id=group_id)
    if date_from:
        qs = qs.filter(created_at__date__gte=date_from)
    if date_to:
        qs = qs.filter(created_at__date__lte=date_to)
    if member:
        qs = qs.filter(
            Q(member__display_name__icontains=member)
            | Q(member__phone__endswith=member)
            | Q(recipient_name__icontains=member)
        )
    if product_id:
        qs = qs.filter(lines__product_id=product_id).distinct()
    return qs


def order_for_shop(shop: Shop, pk: int) -> Order:
    return get_object_or_404(
        Order.objects.select_related("member", "group", "referrer", "pickup_point").prefetch_related(
            "lines", "adjustments", "transitions__by", "payments", "refunds", "after_sales_cases"
        ),
        shop=shop,
        pk=pk,
    )


def orders_for_member(user: User) -> QuerySet[Order]:
    """ "My orders": only the member's own, across shops."""
    return (
        Order.objects.filter(member=user)
        .select_related("group", "shop")
        .prefetch_related(Prefetch("lines", queryset=OrderLine.objects.order_by("pk")))
        .order_by("-created_at", "-pk")
    )


def order_for_member(user: User, pk: int) -> Order:
    return get_object_or_404(
        Order.objects.select_related("group", "shop", "pickup_point").prefetch_related(
            "lines", "adjustments", "transitions", "payments", "refunds", "after_sales_cases__photos"
        ),
        member=user,
        pk=pk,
    )


def cases_for_shop(shop: Shop, *, state: str | None = None) -> QuerySet[AfterSalesCase]:
    qs = (
        AfterSalesCase.objects.filter(shop=shop)
        .select_related("order", "member", "resolved_by")
        .prefetch_related("photos")
        .order_by("-created_at", "-pk")
    )
    return qs.filter(state=state) if state else qs


def case_for_shop(shop: Shop, pk: int) -> AfterSalesCase:
    return get_object_or_404(
        AfterSalesCase.objects.select_related("order", "member").prefetch_related("photos"), shop=shop, pk=pk
    )


# --- Repeat purchase: the reminders dashboard and the one-tap re-order page -------------------------


def repurchase_due_for_member(user: User, product_id: int) -> RepurchaseDue:
    """The member's own due date for a product (the re-order page); anyone else's is a 404."""
    return get_object_or_404(
        RepurchaseDue.objects.select_related("product", "group", "group__shop"), member=user, product_id=product_id
    )


def _count_per_product(qs: QuerySet) -> Coalesce:
    return Coalesce(
        Subquery(
            qs.filter(product=OuterRef("pk")).order_by().values("product").annotate(n=Count("pk")).values("n")[:1]
        ),
        0,
    )


def reminder_stats_for_shop(
    shop: Shop, *, since: datetime | None, now: datetime, due_within: timedelta = timedelta(days=7)
) -> QuerySet[Product]:
    """Per product of the shop: reminders sent since `since` (None: ever), how many led to a re-order within
    the conversion window, and how many members are due within `due_within`. A constant number of queries."""
    sent = RepurchaseReminder.objects.filter(shop=shop)
    if since is not None:
        sent = sent.filter(sent_at__gte=since)
    due_soon = RepurchaseDue.objects.filter(shop=shop, state=DueState.WAITING, due_at__lte=now + due_within)
    return (
        Product.objects.filter(shop=shop)
        .annotate(
            reminders_sent=_count_per_product(sent),
            reorders=_count_per_product(sent.filter(converted_order__isnull=False)),
            due_soon=_count_per_product(due_soon),
        )
        .order_by("-reminders_sent", "-due_soon", "name", "pk")
    )


def product_reminder_stats(shop: Shop, pk: int, *, since: datetime | None, now: datetime) -> Product:
    return get_object_or_404(reminder_stats_for_shop(shop, since=since, now=now), pk=pk)


def dues_for_product(product: Product) -> QuerySet[RepurchaseDue]:
    """Members waiting for a reminder of this product, soonest due first."""
    return (
        RepurchaseDue.objects.filter(product=product, state=DueState.WAITING)
        .select_related("member", "group")
        .order_by("due_at", "pk")
    )


def reminders_for_product(product: Product) -> QuerySet[RepurchaseReminder]:
    return (
        RepurchaseReminder.objects.filter(product=product)
        .select_related("member", "converted_order")
        .order_by("-sent_at", "-pk")
    )


# --- Outboxes: the simulated provider's callbacks and refunds waiting to reach a provider ----------


def _callbacks_of_shop(shop_id: int | None) -> QuerySet[SimulatedNotificationOutbox]:
    rows = SimulatedNotificationOutbox.objects.order_by()
    if shop_id is None:
        return rows
    return rows.filter(
        Q(reference__in=Payment.objects.filter(order__shop_id=shop_id).values("provider_ref"))
        | Q(reference__in=Refund.objects.filter(order__shop_id=shop_id).values("key"))
    )


def outboxes(*, shop_id: int | None, now: datetime) -> list:
    """Orders' outboxes for the jobs page and /healthz (the outboxes hook, connected in OrdersConfig.ready)."""
    return [
        ("payment-callbacks", _("模拟支付：支付/退款回调通知"), callback_outbox_figures(shop_id=shop_id, now=now)),
        ("refunds-to-providers", _("退款：提交给支付渠道"), refund_outbox_figures(shop_id=shop_id, now=now)),
    ]


def callback_outbox_figures(*, shop_id: int | None, now: datetime):
    """The simulated provider's callbacks still to deliver (shequn.outboxes): 2 queries."""
    from .payments.simulated import MAX_ATTEMPTS

    rows = _callbacks_of_shop(shop_id)
    undelivered = Q(delivered_at__isnull=True)
    in_hands = Q(lease_until__gt=now)
    live = undelivered & (Q(attempts__lt=MAX_ATTEMPTS) | in_hands)
    due = live & ~in_hands & Q(deliver_after__lte=now)
    given_up = undelivered & Q(attempts__gte=MAX_ATTEMPTS) & ~in_hands
    figures = rows.aggregate(
        pending=Count("pk", filter=live),
        due=Count("pk", filter=due),
        oldest_due_at=Min("deliver_after", filter=due),
        retrying=Count("pk", filter=live & ~Q(last_error="")),
        failed_24h=Count("pk", filter=given_up & Q(last_attempt_at__gte=now - FAILURE_WINDOW)),
    )
    failing = rows.filter(undelivered & ~Q(last_error=""))
    last = failing.order_by(F("last_attempt_at").desc(nulls_last=True), "-pk").first()
    return OutboxFigures(
        **figures, last_error=last.last_error if last else "", last_error_at=last.last_attempt_at if last else None
    )


def refund_outbox_figures(*, shop_id: int | None, now: datetime):  # noqa: ARG001 (every outbox's signature)
    """Refunds approved but not yet accepted by their provider (shequn.outboxes): 2 queries. The recovery
    job hands them over again for as long as it takes, so none is ever given up."""
    rows = Refund.objects.filter(state=RefundState.PENDING, provider_ref="").order_by()
    if shop_id is not None:
        rows = rows.filter(order__shop_id=shop_id)
    figures = rows.aggregate(
        pending=Count("pk"), oldest_due_at=Min("created_at"), retrying=Count("pk", filter=~Q(send_error=""))
    )
    last = rows.exclude(send_error="").order_by(F("last_send_at").desc(nulls_last=True), "-pk").first()
    return OutboxFigures(
        due=figures["pending"],
        **figures,
        last_error=last.send_error if last else "",
        last_error_at=last.last_send_at if last else None,
    )


def callbacks_for_order(order: Order) -> list[SimulatedNotificationOutbox]:
    """The provider's callbacks about this order's payments and refunds (the caller scoped the order): 1
    query, with the order's payments and refunds prefetched."""
    references = [p.provider_ref for p in order.payments.all()] + [r.key for r in order.refunds.all()]
    return list(SimulatedNotificationOutbox.objects.filter(reference__in=references).order_by("created_at", "pk"))
