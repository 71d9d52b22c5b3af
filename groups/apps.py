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

        from notifications.services import on_first_read

        from .activity import record_message_opened

        on_first_read(record_message_opened)
