from django.apps import AppConfig
from django.core import checks
from django.utils.translation import gettext_lazy as _

from shequn import hooks


class GroupsConfig(AppConfig):
    name = "groups"
    verbose_name = _("社群")

    def ready(self) -> None:
        from .checks import check_poster_font

        # A missing CJK font is reported at start-up, never drawn as boxes on posters.
        checks.register(check_poster_font)

        from .activity import record_message_opened
        from .selectors import hard_cap_refusal, member_shop_ties

        # Opening a message of the shop is activity in the member's groups of that shop.
        hooks.notification_first_read.connect(record_message_opened, priority=hooks.RECORD)
        # No group may sit above its shop's hard cap.
        hooks.hard_cap_refusal.connect(hard_cap_refusal, priority=hooks.DECIDE)
        # A member's shops, for their message preferences: those of the groups they are (or ask to be) in.
        hooks.member_shop_ties.connect(member_shop_ties, priority=hooks.RECORD)
