"""Admin of 比 contests, imported by campaigns/admin.py (the kind's `admin` module): the settlement, the frozen
ranking and the prizes are read only here (written by the settlement and the operators' review in kind.py)."""

from django.contrib import admin

from campaigns.models import ContestEntry, ContestPrize, ContestSettlement

from ..assisted.admin import ReadOnlyAdmin


@admin.register(ContestSettlement)
class ContestSettlementAdmin(ReadOnlyAdmin):
    list_display = ("campaign", "settled_at", "entries", "prizes")
    list_select_related = ("campaign",)


@admin.register(ContestEntry)
class ContestEntryAdmin(ReadOnlyAdmin):
    list_display = ("campaign", "rank", "name", "member", "group", "score", "reached_at", "qualified")
    list_select_related = ("campaign", "member", "group")
    search_fields = ("name", "member__phone")


@admin.register(ContestPrize)
class ContestPrizeAdmin(ReadOnlyAdmin):
    list_display = ("key", "campaign", "member", "kind", "label", "cost", "state", "granted_at", "reviewed_by")
    list_filter = ("state", "kind")
    list_select_related = ("campaign", "member", "reviewed_by")
    search_fields = ("key", "member__phone")
