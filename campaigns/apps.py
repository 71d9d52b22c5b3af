from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _

from shequn import hooks


class CampaignsConfig(AppConfig):
    name = "campaigns"
    verbose_name = _("营销活动")

    def ready(self):
        # One receiver per order hook for every campaign type: it dispatches each to the kind that owns the
        # order's campaign (orders never learn about campaigns). A kind decides what a payment leads to.

        from . import registry
        from .plugins import CampaignOrders

        registry.autodiscover()
        hooks.order_placing.connect(CampaignOrders.before_insert, priority=hooks.DECIDE + 10)
        hooks.order_created.connect(CampaignOrders.after_create, priority=hooks.DECIDE + 10)
        hooks.order_paid.connect(CampaignOrders.after_paid, priority=hooks.DECIDE + 10)
        hooks.order_cancelled.connect(CampaignOrders.after_cancel, priority=hooks.DECIDE + 10)
        hooks.order_shipping.connect(CampaignOrders.before_ship, priority=hooks.DECIDE + 10)
        hooks.order_refunded.connect(CampaignOrders.after_refund, priority=hooks.DECIDE + 10)
        hooks.order_source_label.connect(CampaignOrders.source_label, priority=hooks.DECIDE + 10)
        hooks.order_page_after_payment.connect(CampaignOrders.page_after_payment, priority=hooks.DECIDE + 10)
        # A campaign's free items (a treat, a help reward) are priced to zero in the order core's pricing step.
        hooks.order_pricing.connect(CampaignOrders.pricing, priority=hooks.PRICE_GIFT)

        from .selectors import campaign_choices, group_offers, product_offers
        from .visits import attribute_join

        # A join that a campaign's share page brought carries the campaign (the funnel per campaign).
        hooks.member_joined.connect(attribute_join, priority=hooks.RECORD + 10)

        hooks.audit_value_words.connect(registry.audit_settings_words, priority=hooks.DECIDE + 10)

        hooks.campaign_choices.connect(campaign_choices, priority=hooks.DECIDE + 10)
        hooks.group_offers.connect(group_offers, priority=hooks.DECIDE + 10)
        hooks.product_offers.connect(product_offers, priority=hooks.DECIDE + 10)
