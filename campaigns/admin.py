"""Platform admin for campaigns. Reading only: campaigns change state through campaigns.services (the
dashboard), and acts, seats and teams are written by the services alone, so the admin offers no path
around their rules (no self-help, no duplicate act, no seat above a team's size)."""

import importlib

from django.contrib import admin

from . import registry
from .models import Campaign, CampaignAct, CampaignOrder, CampaignTransition


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


@admin.register(CampaignAct)
class CampaignActAdmin(ReadOnlyAdmin):
    list_display = ("campaign", "kind", "actor", "inviter", "occurred_at", "new_member", "flagged")
    list_filter = ("kind", "flagged", "new_member")
    list_select_related = ("campaign", "actor", "inviter")


@admin.register(CampaignOrder)
class CampaignOrderAdmin(ReadOnlyAdmin):
    list_display = ("campaign", "order", "member", "units", "unit_price", "subsidy", "released_at")
    list_select_related = ("campaign", "order", "member")


# Each type's own admin (its kind's `admin` module, e.g. campaigns/types/help/admin.py) registers
# itself when imported; Django only imports campaigns.admin, so the registry's are imported from here. The
# admin app is readied before this one, so the types are discovered first (importing them twice is a no-op).
registry.autodiscover()
for _module in registry.modules("admin"):
    importlib.import_module(_module)
