"""Platform admin of 秒杀's orders, imported by campaigns/admin.py (the kind's `admin` module). Reading only,
as the engine's: a flash-sale order is written by the order pipeline and the engine's cap alone."""

from django.contrib import admin

from campaigns.admin import ReadOnlyAdmin
from campaigns.models import CampaignType, FlashSaleOrder


@admin.register(FlashSaleOrder)
class FlashSaleOrderAdmin(ReadOnlyAdmin):
    list_display = ("pk", "campaign", "order", "member", "units", "unit_price", "created_at", "released_at")
    list_filter = ("released_at",)
    list_select_related = ("campaign", "order", "member")
    search_fields = ("order__number",)

    def get_queryset(self, request):
        return super().get_queryset(request).filter(campaign__type=CampaignType.FLASH_SALE)
