"""Serializers of 秒杀's member API: its rules, the campaign API's `flash_sale` field."""

from rest_framework import serializers


class FlashSaleRulesSerializer(serializers.Serializer):
    """The campaign API's `flash_sale` field."""

    flash_price = serializers.DecimalField(max_digits=12, decimal_places=2)
    original_price = serializers.DecimalField(max_digits=12, decimal_places=2, allow_null=True)
    stock_cap = serializers.IntegerField(help_text="限量：本活动最多售出的件数。")
    units_left = serializers.IntegerField(help_text="剩余件数（含待付款占用之外的）。")
    sold_out = serializers.BooleanField()
    per_member_limit = serializers.IntegerField(help_text="每人限购件数（每单 1 件）。")
    pay_minutes = serializers.IntegerField(help_text="抢到后的付款时限（分钟）。")
    starts_at = serializers.DateTimeField(help_text="开抢时间。")
    open_now = serializers.BooleanField(help_text="现在可以抢购。")
