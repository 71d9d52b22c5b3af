from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CampaignsConfig(AppConfig):
    name = "campaigns"
    verbose_name = _("营销活动")

    def ready(self):
        # One orders plug-in for every campaign type: it dispatches each hook to the kind that owns the
        # order's campaign (orders.hooks never learns about campaigns).
        from orders import hooks as order_hooks

        from . import registry
        from .plugins import CampaignOrders

        registry.autodiscover()
        order_hooks.register(CampaignOrders)

        from referrals.board_forms import register_campaign_choices

        from .selectors import campaign_choices

        register_campaign_choices(campaign_choices)
