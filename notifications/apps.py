from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class NotificationsConfig(AppConfig):
    name = "notifications"
    verbose_name = _("消息通知")

    def ready(self) -> None:
        # Orders know nothing of notifications: the member's order messages answer the order hooks. They
        # tell the outcome, so they run after every receiver that decides it (hooks.TELL).
        from shequn import hooks

        from .order_hooks import ORDER_NOTIFICATIONS

        hooks.order_paid.connect(ORDER_NOTIFICATIONS.after_paid, priority=hooks.TELL)
        hooks.order_shipping.connect(ORDER_NOTIFICATIONS.before_ship, priority=hooks.TELL)
        hooks.order_refunded.connect(ORDER_NOTIFICATIONS.after_refund, priority=hooks.TELL)
