"""Admin of 换物, imported by campaigns/admin.py (the kind's `admin` module): listings, swaps, their moves,
reports and removals are read only here (they are written through the rules in kind.py)."""

from django.contrib import admin

from campaigns.models import Swap, SwapBan, SwapListing, SwapMove, SwapReport

from ..assisted.admin import ReadOnlyAdmin


@admin.register(SwapListing)
class SwapListingAdmin(ReadOnlyAdmin):
    list_display = ("pk", "campaign", "group", "owner", "title", "state", "price", "created_at", "hidden_at")
    list_filter = ("state", "handover")
    list_select_related = ("campaign", "group", "owner")
    search_fields = ("title", "owner__phone", "owner__display_name")
    exclude = ("share_token",)


@admin.register(Swap)
class SwapAdmin(ReadOnlyAdmin):
    list_display = ("pk", "campaign", "listing", "owner", "offerer", "offered_listing", "price", "state", "created_at")
    list_filter = ("state",)
    list_select_related = ("campaign", "listing", "owner", "offerer", "offered_listing")


@admin.register(SwapMove)
class SwapMoveAdmin(ReadOnlyAdmin):
    list_display = ("listing", "swap", "of_swap", "from_state", "to_state", "by", "at", "note")
    list_select_related = ("listing", "swap", "by")


@admin.register(SwapReport)
class SwapReportAdmin(ReadOnlyAdmin):
    list_display = ("pk", "campaign", "group", "member", "reporter", "listing", "state", "created_at", "handled_by")
    list_filter = ("state",)
    list_select_related = ("campaign", "group", "member", "reporter", "listing", "handled_by")


@admin.register(SwapBan)
class SwapBanAdmin(ReadOnlyAdmin):
    list_display = ("campaign", "member", "reason", "by", "at")
    list_select_related = ("campaign", "member", "by")
