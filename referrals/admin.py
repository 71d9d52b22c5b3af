from django.contrib import admin

from .models import ReferralEdge


@admin.register(ReferralEdge)
class ReferralEdgeAdmin(admin.ModelAdmin):
    list_display = ("invitee", "inviter", "shop", "channel", "group", "created_at")
    list_filter = ("channel", "shop")
    raw_id_fields = ("invitee", "inviter", "link", "group", "shop")
    list_select_related = ("invitee", "inviter", "shop", "group")
    search_fields = ("invitee__phone", "inviter__phone", "invitee__display_name", "inviter__display_name")

    def has_change_permission(self, request, obj=None):
        return False  # append-only record
