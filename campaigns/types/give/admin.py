"""Admin of 送 赠送, imported by campaigns/admin.py (the kind's `admin` module): gifts are read only — they are
made by a paid order or a treat, claimed by a friend and closed by the expiry job (kind.py), never by hand.
The owed items they make are in the fulfilment queue (orders' admin and the shop's dashboard)."""

from django.contrib import admin

from campaigns.models import Gift

from ..assisted.admin import ReadOnlyAdmin


@admin.register(Gift)
class GiftAdmin(ReadOnlyAdmin):
    list_display = ("pk", "campaign", "mode", "giver", "recipient", "state", "expires_at", "claimed_at")
    list_filter = ("mode", "state")
    list_select_related = ("campaign", "giver", "recipient")
    search_fields = ("giver__phone", "recipient__phone")
    exclude = ("token",)  # the link's secret stays out of the admin's pages
