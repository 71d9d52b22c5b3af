"""Platform admin for campaigns. Reading only: campaigns change state through campaigns.services (the
dashboard), and acts, seats and teams are written by the services alone, so the admin offers no path
around their rules (no self-help, no duplicate act, no seat above a team's size)."""

import importlib
import importlib.util

from django.contrib import admin

from .models import Campaign, CampaignAct, CampaignOrder, CampaignTransition, Team, TeamSeat


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class TransitionInline(ReadOnlyInline):
    model = CampaignTransition
    fields = ("at", "from_state", "to_state", "by", "reason")
    readonly_fields = fields


@admin.register(Campaign)
class CampaignAdmin(ReadOnlyAdmin):
    list_display = ("name", "shop", "type", "state", "starts_at", "ends_at", "stock_used", "stock_cap")
    list_filter = ("type", "state")
    search_fields = ("name", "shop__name")
    list_select_related = ("shop",)
    inlines = [TransitionInline]


class SeatInline(ReadOnlyInline):
    model = TeamSeat
    fields = ("member", "role", "state", "order", "unit_price", "paid_at", "price_refund", "refund_started_at")
    readonly_fields = fields


@admin.register(Team)
class TeamAdmin(ReadOnlyAdmin):
    list_display = ("pk", "campaign", "leader", "state", "seats_taken", "size", "simulated", "expires_at")
    list_filter = ("state", "simulated")
    list_select_related = ("campaign", "leader")
    inlines = [SeatInline]


@admin.register(CampaignAct)
class CampaignActAdmin(ReadOnlyAdmin):
    list_display = ("campaign", "kind", "actor", "inviter", "occurred_at", "new_member", "flagged")
    list_filter = ("kind", "flagged", "new_member")
    list_select_related = ("campaign", "actor", "inviter")


@admin.register(CampaignOrder)
class CampaignOrderAdmin(ReadOnlyAdmin):
    list_display = ("campaign", "order", "member", "units", "unit_price", "subsidy", "released_at")
    list_select_related = ("campaign", "order", "member")


# Each type's own admin (e.g. campaigns/social_admin.py for 帮 and 砍) registers itself when imported; Django
# only imports campaigns.admin, so it is imported from here when it exists.
for _module in ("social_admin", "help_admin", "bargain_admin"):
    if importlib.util.find_spec(f"campaigns.{_module}") is not None:
        importlib.import_module(f"campaigns.{_module}")
