from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _

from shequn import hooks


class NotificationsConfig(AppConfig):
    name = "notifications"
    verbose_name = _("消息通知")

    def ready(self) -> None:
        from .selectors import outboxes

        # The outbox of messages, on the jobs page and /healthz, after orders' outboxes.
        hooks.outboxes.connect(outboxes, priority=hooks.RECORD + 10)
