from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class NotificationsConfig(AppConfig):
    name = "notifications"
    verbose_name = _("消息通知")

    def ready(self) -> None:
        # Orders know nothing of notifications: we plug into their lifecycle hooks (orders/hooks.py).
        from orders import hooks

        from .order_hooks import ORDER_NOTIFICATIONS

        hooks.register(ORDER_NOTIFICATIONS)
