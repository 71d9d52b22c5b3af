"""秒杀 keeps no rows of its own: its orders are the engine's CampaignOrder rows (the cap and the
per-member limit are the engine's). The proxy below only gives the platform admin their own list."""

from django.utils.translation import gettext_lazy as _

from campaigns.models.engine import CampaignOrder

__all__ = ["FlashSaleOrder"]


class FlashSaleOrder(CampaignOrder):
    class Meta:
        proxy = True
        app_label = "campaigns"
        verbose_name = _("秒杀订单")
        verbose_name_plural = _("秒杀订单")
