"""Admin of 券 coupons, imported by campaigns/admin.py (the kind's `admin` module): coupons are read only
(they are issued by claims and rules, used by orders, through kind.py)."""

from django.contrib import admin

from campaigns.models import Coupon

from ..assisted.admin import ReadOnlyAdmin


@admin.register(Coupon)
class CouponAdmin(ReadOnlyAdmin):
    list_display = ("pk", "campaign", "member", "state", "channel", "valid_until", "order", "claimed_at")
    list_filter = ("state", "channel")
    list_select_related = ("campaign", "member", "order")
    search_fields = ("member__phone", "member__display_name", "grant_key")
    raw_id_fields = ("campaign", "member", "order")
