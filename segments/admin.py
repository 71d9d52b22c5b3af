"""Platform admins' view of segments and broadcasts. What the jobs and sends write (tag holders, invitations,
recipients, a sent broadcast's counts) is read-only here: it is decided by the services, never edited by hand."""

from django.contrib import admin

from .models import Broadcast, BroadcastRecipient, GroupInvitation, MemberTag, Segment, TagRule


class ReadOnly(admin.ModelAdmin):
    def has_add_permission(self, request):  # noqa: ARG002 (the admin's signature)
        return False

    def has_change_permission(self, request, obj=None):  # noqa: ARG002
        return False


@admin.register(TagRule)
class TagRuleAdmin(admin.ModelAdmin):
    list_display = ("tag", "shop", "kind", "product", "amount", "count", "days", "percent", "is_active", "members")
    list_filter = ("kind", "is_active", "shop")
    raw_id_fields = ("tag", "product", "created_by")
    readonly_fields = ("computed_at", "members", "created_at")


@admin.register(MemberTag)
class MemberTagAdmin(ReadOnly):
    list_display = ("user", "tag", "shop", "tagged_at")
    list_filter = ("shop",)
    raw_id_fields = ("user", "tag", "rule")


@admin.register(Segment)
class SegmentAdmin(admin.ModelAdmin):
    list_display = ("name", "shop", "created_by", "updated_at")
    list_filter = ("shop",)
    search_fields = ("name",)
    raw_id_fields = ("created_by",)
    filter_horizontal = ("tags", "exclude_tags", "groups")


@admin.register(GroupInvitation)
class GroupInvitationAdmin(ReadOnly):
    list_display = ("user", "group", "segment", "invited_by", "invited_at")
    list_filter = ("shop",)
    raw_id_fields = ("user", "group", "segment", "link", "invited_by")


@admin.register(BroadcastRecipient)
class BroadcastRecipientAdmin(ReadOnly):
    list_display = ("broadcast", "user", "outcome", "notification_id")
    list_filter = ("outcome",)
    raw_id_fields = ("broadcast", "user")


@admin.register(Broadcast)
class BroadcastAdmin(ReadOnly):
    list_display = ("title", "shop", "group", "segment", "state", "sent_count", "sent_at")
    list_filter = ("state", "shop")
    raw_id_fields = ("group", "segment", "created_by", "sent_by")
