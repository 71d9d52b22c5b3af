from django.apps import AppConfig
from django.core import checks
from django.utils.translation import gettext_lazy as _


class OrdersConfig(AppConfig):
    name = "orders"
    verbose_name = _("订单")

    def ready(self) -> None:
        from groups.jobs import register_health_figures

        from .checks import check_simulated_payments

        checks.register(check_simulated_payments)

        from . import hooks
        from .health import order_figures
        from .reminders import RepurchasePlugin

        # Repeat-purchase due dates, reminder conversions and the member's "order" activity.
        hooks.register(RepurchasePlugin())
        # Paid group entry: the fee is an order; its payment becomes a seat or a refund.
        from groups import entry as group_entry

        from .entry import EntryOrders, PaidEntryCheckout

        hooks.register(EntryOrders())
        group_entry.register(PaidEntryCheckout())
        register_health_figures(order_figures)
