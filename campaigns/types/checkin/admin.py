"""Admin of 打卡, imported by campaigns/admin.py (the kind's `admin` module): check-ins, standings and
milestone rewards are read only here (they are written through the check-in rules in kind.py)."""

from django.contrib import admin

from campaigns.models import CheckIn, CheckinMilestone, CheckinStanding

from ..assisted.admin import ReadOnlyAdmin


@admin.register(CheckIn)
class CheckInAdmin(ReadOnlyAdmin):
    list_display = ("pk", "campaign", "group", "member", "day", "at", "made_up", "hidden_at")
    list_filter = ("made_up",)
    list_select_related = ("campaign", "group", "member")
    search_fields = ("member__phone", "member__display_name")
    date_hierarchy = "day"


@admin.register(CheckinStanding)
class CheckinStandingAdmin(ReadOnlyAdmin):
    list_display = ("campaign", "member", "streak", "best_streak", "total_days", "last_day", "cards_used")
    list_select_related = ("campaign", "member")
    search_fields = ("member__phone", "member__display_name")


@admin.register(CheckinMilestone)
class CheckinMilestoneAdmin(ReadOnlyAdmin):
    list_display = ("campaign", "member", "days", "kind", "points", "granted_at", "coupon_issued_at")
    list_select_related = ("campaign", "member")
