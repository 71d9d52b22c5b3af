"""Django admin of the group space (imported by groups/admin.py): read-mostly, the rules live in groups.space."""

from django.contrib import admin

from .space_models import GroupContact, SpaceComment, SpacePhoto, SpacePost, SpaceSettings


class SpaceCommentInline(admin.TabularInline):
    model = SpaceComment
    extra = 0
    fields = ("author", "body", "created_at")
    readonly_fields = fields
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False  # replies go through groups.space, which sets a question's first reply once


@admin.register(SpacePost)
class SpacePostAdmin(admin.ModelAdmin):
    list_display = ("pk", "group", "kind", "author", "created_at", "first_reply_at", "answered_at", "hidden_at")
    list_filter = ("kind",)
    search_fields = ("body", "group__name")
    raw_id_fields = ("group", "author", "hidden_by", "first_responder", "answered_by")
    readonly_fields = ("first_reply_at", "first_responder", "answered_at", "answered_by", "hidden_at", "hidden_by")
    list_select_related = ("group", "author")
    inlines = [SpaceCommentInline]


@admin.register(SpacePhoto)
class SpacePhotoAdmin(admin.ModelAdmin):
    list_display = ("pk", "post", "comment", "image")
    raw_id_fields = ("post", "comment")


@admin.register(GroupContact)
class GroupContactAdmin(admin.ModelAdmin):
    list_display = ("group", "service_contact", "wechat_qr_expires_at", "updated_at", "updated_by")
    raw_id_fields = ("group", "updated_by")
    list_select_related = ("group", "updated_by")


@admin.register(SpaceSettings)
class SpaceSettingsAdmin(admin.ModelAdmin):
    list_display = ("shop", "reply_target_minutes", "qr_reminder_days")
