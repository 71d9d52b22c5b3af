from django.contrib import admin

from .models import (
    CampaignReferralRule,
    CommissionAccount,
    CommissionEntry,
    PointsAccount,
    PointsEntry,
    ReferralEdge,
    ReferralEvent,
    ReferralSettings,
    Reward,
    RewardRule,
    StewardReward,
    StewardRule,
    WithdrawalRequest,
)


class ReadOnlyAdmin(admin.ModelAdmin):
    """Append-only records: changed only through referrals.services, never by hand."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(ReferralEdge)
class ReferralEdgeAdmin(ReadOnlyAdmin):
    list_display = ("invitee", "inviter", "shop", "channel", "group", "created_at", "superseded_at", "qualified_at")
    list_filter = ("channel", "binding_rule", "shop")
    raw_id_fields = ("invitee", "inviter", "link", "group", "shop", "superseded_by", "qualifying_order")
    list_select_related = ("invitee", "inviter", "shop", "group")
    search_fields = ("invitee__phone", "inviter__phone", "invitee__display_name", "inviter__display_name")


@admin.register(ReferralEvent)
class ReferralEventAdmin(ReadOnlyAdmin):
    list_display = ("key", "kind", "inviter", "invitee", "shop", "amount", "occurred_at", "voided_at")
    list_filter = ("kind", "shop")
    list_select_related = ("inviter", "invitee", "shop")
    search_fields = ("key", "inviter__display_name", "invitee__display_name")
    date_hierarchy = "occurred_at"


@admin.register(Reward)
class RewardAdmin(ReadOnlyAdmin):
    list_display = ("inviter", "invitee", "kind", "amount", "status", "due_at", "granted_at", "shop")
    list_filter = ("status", "kind", "shop")
    list_select_related = ("inviter", "invitee", "shop")


@admin.register(CommissionEntry)
class CommissionEntryAdmin(ReadOnlyAdmin):
    list_display = ("account", "kind", "amount", "balance_after", "created_at")
    list_select_related = ("account__member", "account__shop")


@admin.register(CommissionAccount)
class CommissionAccountAdmin(ReadOnlyAdmin):
    list_display = ("member", "shop", "balance")
    list_select_related = ("member", "shop")


@admin.register(WithdrawalRequest)
class WithdrawalRequestAdmin(ReadOnlyAdmin):
    list_display = ("member", "shop", "amount", "status", "requested_at", "paid_at", "payout_reference")
    list_filter = ("status", "shop")
    list_select_related = ("member", "shop")


@admin.register(ReferralSettings)
class ReferralSettingsAdmin(admin.ModelAdmin):
    list_display = ("shop", "binding_rule", "binding_window_days", "qualify_on", "review_days", "points_per_yuan")


@admin.register(RewardRule)
class RewardRuleAdmin(admin.ModelAdmin):
    list_display = ("shop", "kind", "amount", "commission_rate", "cap_count", "cap_period", "is_active")
    list_filter = ("kind", "is_active")


@admin.register(CampaignReferralRule)
class CampaignReferralRuleAdmin(admin.ModelAdmin):
    list_display = ("shop", "campaign_id", "binding_rule", "binding_window_days")


@admin.register(PointsAccount)
class PointsAccountAdmin(ReadOnlyAdmin):
    list_display = ("member", "shop", "balance")
    list_select_related = ("member", "shop")
    raw_id_fields = ("member", "shop")
    search_fields = ("member__phone", "member__display_name")


@admin.register(PointsEntry)
class PointsEntryAdmin(ReadOnlyAdmin):
    list_display = ("key", "kind", "points", "balance_after", "account", "order", "created_at")
    list_filter = ("kind",)
    raw_id_fields = ("account", "reward", "order")
    search_fields = ("key",)


@admin.register(StewardRule)
class StewardRuleAdmin(ReadOnlyAdmin):
    """Changed on the stewards' page (audited), never here."""

    list_display = ("shop", "role", "kind", "rate", "is_active", "updated_by", "updated_at")
    list_filter = ("role", "kind", "is_active")
    raw_id_fields = ("shop", "updated_by")
    list_select_related = ("shop", "updated_by")


@admin.register(StewardReward)
class StewardRewardAdmin(ReadOnlyAdmin):
    list_display = ("steward", "role", "kind", "amount", "status", "order", "group", "shop", "due_at", "granted_at")
    list_filter = ("status", "kind", "role")
    raw_id_fields = ("shop", "rule", "steward", "group", "order")
    list_select_related = ("steward", "order", "group", "shop")
    search_fields = ("steward__phone", "steward__display_name", "order__number")
