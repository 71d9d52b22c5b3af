from django.contrib import admin

from .models import Operator, Shop, ShopSettings


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
