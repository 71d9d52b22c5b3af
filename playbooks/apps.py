from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _

from shequn import hooks


class PlaybooksConfig(AppConfig):
    name = "playbooks"
    verbose_name = _("新群培育")

    def ready(self) -> None:
        from .services import assign_on_creation

        # A new group gets the shop's matching playbook in the transaction that creates it.
        hooks.group_created.connect(assign_on_creation, priority=hooks.RECORD)
