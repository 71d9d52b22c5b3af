from django.apps import AppConfig
from django.core import checks
from django.utils.translation import gettext_lazy as _

from shequn import hooks


def checkout_sold_out_route():
    from .member_forms import parse_lines
    from .soldout import SKU, EarlyRoute

    return EarlyRoute(
        url_name="orders:checkout",
        back_name="orders:group_shop",
        scope=SKU,
        subjects=lambda _group_id, data: [line.sku_id for line in parse_lines(data)],
        template="orders/member/sold_out_early.html",
        show_name=False,  # the group's shop is its members' only, and the answer checks no membership
    )


class OrdersConfig(AppConfig):
    name = "orders"
    verbose_name = _("订单")

    def ready(self) -> None:
        from .checks import check_simulated_payments

        checks.register(check_simulated_payments)

        from .entry import EntryOrders, PaidEntryCheckout
        from .health import order_figures
        from .messages import ORDER_NOTIFICATIONS
        from .reminders import RepurchasePlugin
        from .selectors import outboxes
        from .services import do_not_market, do_not_market_among

        # Repeat-purchase due dates, reminder conversions and the member's "order" activity: records of the
        # payment, kept before any plug-in decides what the payment leads to.
        repurchase = RepurchasePlugin()
        hooks.order_paid.connect(repurchase.after_paid, priority=hooks.RECORD + 10)
        hooks.order_refunded.connect(repurchase.after_refund, priority=hooks.RECORD + 10)
        # The checkout's POST for a SKU flagged sold out is answered before the session (orders.early).
        hooks.sold_out_routes.connect(checkout_sold_out_route, priority=hooks.DECIDE)
        # Paid group entry: the fee is an order; its payment becomes a seat or a refund.
        entry_orders = EntryOrders()
        hooks.order_paid.connect(entry_orders.after_paid, priority=hooks.DECIDE)
        hooks.order_shipping.connect(entry_orders.before_ship, priority=hooks.DECIDE)
        hooks.paid_entry_checkout.connect(PaidEntryCheckout().checkout, priority=hooks.DECIDE)
        # Orders' figures in the groups' weekly health snapshot.
        hooks.group_health_figures.connect(order_figures, priority=hooks.RECORD)
        # The member's order messages tell the outcome, so they run after every receiver that decides it.
        hooks.order_paid.connect(ORDER_NOTIFICATIONS.after_paid, priority=hooks.TELL)
        hooks.order_shipping.connect(ORDER_NOTIFICATIONS.before_ship, priority=hooks.TELL)
        hooks.order_refunded.connect(ORDER_NOTIFICATIONS.after_refund, priority=hooks.TELL)
        # Payment callbacks and refunds to providers, on the jobs page and /healthz, before notifications'.
        hooks.outboxes.connect(outboxes, priority=hooks.RECORD)
        # No marketing to a member with an open after-sales case (notifications asks when releasing).
        hooks.marketing_held.connect(do_not_market, priority=hooks.DECIDE)
        hooks.marketing_held_among.connect(do_not_market_among, priority=hooks.DECIDE)
