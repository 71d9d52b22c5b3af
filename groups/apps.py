from django.apps import AppConfig
from django.core import checks
from django.utils.translation import gettext_lazy as _


class GroupsConfig(AppConfig):
    name = "groups"
    verbose_name = _("社群")

    def ready(self) -> None:
        from .checks import check_poster_font

        # A missing CJK font is reported at start-up, never drawn as boxes on posters.
        checks.register(check_poster_font)

        from shequn import hooks

        from .activity import record_message_opened

        # Opening a message of the shop is activity in the member's groups of that shop.
        hooks.notification_first_read.connect(record_message_opened, priority=hooks.RECORD)
