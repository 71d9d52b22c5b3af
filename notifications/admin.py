from django.contrib import admin

from .models import Delivery, Notification, NotificationSettings, Preference


class DeliveryInline(admin.TabularInline):
    model = Delivery
    extra = 0
    readonly_fields = ("channel", "state", "attempts", "deliver_after", "lease_until", "last_error", "sent_at")
    can_delete = False


@admin.register(Notification)
class NotificationAdmin(admin.ModelAdmin):
    list_display = ("title", "shop", "user", "category", "kind", "state", "reason", "created_at", "sent_at", "read_at")
    list_filter = ("state", "category", "reason", "shop")
    search_fields = ("key", "title", "kind")
    raw_id_fields = ("user",)
    readonly_fields = ("key", "state", "reason", "sent_at", "read_at", "created_at")
    inlines = [DeliveryInline]


@admin.register(Delivery)
class DeliveryAdmin(admin.ModelAdmin):
    """Failed deliveries are listed here (filter state = failed) as well as on the shop's dashboard."""

    list_display = ("notification", "channel", "state", "attempts", "deliver_after", "last_error", "sent_at")
    list_filter = ("state", "channel")
    raw_id_fields = ("notification",)
    readonly_fields = ("attempts", "lease_until", "sent_at", "created_at")


@admin.register(Preference)
class PreferenceAdmin(admin.ModelAdmin):
    list_display = ("user", "shop", "marketing", "reminder", "campaign", "quiet_start", "quiet_end", "updated_at")
    list_filter = ("shop",)
    raw_id_fields = ("user",)


@admin.register(NotificationSettings)
class NotificationSettingsAdmin(admin.ModelAdmin):
    list_display = ("shop", "daily_cap", "weekly_cap", "quiet_start", "quiet_end")
