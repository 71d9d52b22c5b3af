from django.contrib import admin

from .models import AuditEntry, Operator, Shop, ShopSettings


class ShopSettingsInline(admin.StackedInline):
    model = ShopSettings
    can_delete = False


class OperatorInline(admin.TabularInline):
    model = Operator
    extra = 0
    raw_id_fields = ("user",)


@admin.register(Shop)
class ShopAdmin(admin.ModelAdmin):
    list_display = ("name", "slug", "created_at")
    search_fields = ("name", "slug")
    inlines = [ShopSettingsInline, OperatorInline]


@admin.register(Operator)
class OperatorAdmin(admin.ModelAdmin):
    list_display = ("user", "shop", "role", "created_at")
    list_filter = ("role",)
    raw_id_fields = ("user", "shop")
    list_select_related = ("user", "shop")


@admin.register(AuditEntry)
class AuditEntryAdmin(admin.ModelAdmin):
    """The audit log is append-only: written by the services that make the changes, never here."""

    list_display = ("at", "shop", "actor_name", "action", "target_type", "target_label")
    list_filter = ("action", "target_type")
    search_fields = ("actor_name", "target_label", "action")
    list_select_related = ("shop", "target_type")
    raw_id_fields = ("shop", "actor")
    date_hierarchy = "at"

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
