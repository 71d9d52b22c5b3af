from django.contrib import admin

from .models import Group, GroupSeries, GroupTransition, InviteLink, Membership, MemberWarning, Tag, WarningAppeal


@admin.register(Tag)
class TagAdmin(admin.ModelAdmin):
    list_display = ("name", "shop")
    list_filter = ("shop",)
    search_fields = ("name",)


class GroupTransitionInline(admin.TabularInline):
    model = GroupTransition
    extra = 0
    can_delete = False
    readonly_fields = ("from_state", "to_state", "by", "reason", "at")

    def has_add_permission(self, request, obj=None):
        return False  # moves go through groups.lifecycle so they are checked and recorded


@admin.register(Group)
class GroupAdmin(admin.ModelAdmin):
    list_display = ("name", "shop", "series", "state", "active_member_count", "capacity", "threshold", "created_at")
    list_filter = ("state", "purpose", "threshold", "shop")
    search_fields = ("name",)
    raw_id_fields = ("owner", "series", "shop")
    readonly_fields = ("state", "active_member_count")
    filter_horizontal = ("tags",)
    list_select_related = ("shop", "series")
    inlines = [GroupTransitionInline]


@admin.register(GroupSeries)
class GroupSeriesAdmin(admin.ModelAdmin):
    list_display = ("name", "shop", "rotation_threshold", "capacity", "threshold", "created_at")
    list_filter = ("shop",)
    search_fields = ("name",)
    filter_horizontal = ("tags",)


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ("user", "group", "role", "status", "channel", "inviter", "joined_at", "last_active_at")
    list_filter = ("status", "role", "channel")
    search_fields = ("user__phone", "user__display_name", "group__name")
    raw_id_fields = ("user", "group", "invite_link", "inviter", "decided_by")
    # Status and seats change only through groups.services, which keeps the seat count exact.
    readonly_fields = ("status", "joined_at", "first_joined_at", "left_at")
    list_select_related = ("user", "group", "inviter")
    filter_horizontal = ("tags",)


@admin.register(InviteLink)
class InviteLinkAdmin(admin.ModelAdmin):
    list_display = (
        "code",
        "shop",
        "group",
        "series",
        "inviter",
        "channel",
        "use_count",
        "max_uses",
        "open_count",
        "sign_in_count",
        "join_count",
        "expires_at",
        "revoked_at",
    )
    list_filter = ("channel", "is_personal", "shop")
    search_fields = ("code", "label")
    raw_id_fields = ("shop", "group", "series", "inviter")
    readonly_fields = ("code", "use_count", "open_count", "sign_in_count", "join_count")
    list_select_related = ("shop", "group", "series", "inviter")


@admin.register(GroupTransition)
class GroupTransitionAdmin(admin.ModelAdmin):
    list_display = ("group", "from_state", "to_state", "by", "reason", "at")
    list_filter = ("to_state",)
    list_select_related = ("group", "by")

    def has_change_permission(self, request, obj=None):
        return False

    def has_add_permission(self, request):
        return False


@admin.register(MemberWarning)
class MemberWarningAdmin(admin.ModelAdmin):
    """Read-only: warnings are given through groups.enforcement (counted, audited, messaged)."""

    list_display = ("member", "group", "rule", "by", "at", "removed_member", "withdrawn_at")
    list_filter = ("removed_member",)
    raw_id_fields = ("group", "membership", "member", "by")

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(WarningAppeal)
class WarningAppealAdmin(admin.ModelAdmin):
    """Read-only: operators decide appeals on the dashboard (audited)."""

    list_display = ("warning", "shop", "state", "submitted_at", "decided_by", "decided_at")
    list_filter = ("state",)
    raw_id_fields = ("warning", "shop", "decided_by")

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


# The group space's admin and the complaints and suggestions box's.
from . import feedback_admin, space_admin  # noqa: E402, F401
