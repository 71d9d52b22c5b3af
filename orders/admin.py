from django.contrib import admin

from .models import (
    AfterSalesCase,
    CasePhoto,
    FulfilmentItem,
    Order,
    OrderAdjustment,
    OrderLine,
    OrderTransition,
    Payment,
    PickupPoint,
    Product,
    ProductImage,
    ProviderNotification,
    Refund,
    RefundLine,
    SimulatedCharge,
    SimulatedNotificationOutbox,
    Sku,
)


class SkuInline(admin.TabularInline):
    model = Sku
    extra = 0
    readonly_fields = ("stock",)  # stock changes go through orders.catalog.adjust_stock


class ProductImageInline(admin.TabularInline):
    model = ProductImage
    extra = 0


@admin.register(Product)
class ProductAdmin(admin.ModelAdmin):
    list_display = ("name", "shop", "category", "is_active", "usage_cycle_days", "created_at")
    list_filter = ("is_active", "shop")
    search_fields = ("name", "category")
    inlines = [SkuInline, ProductImageInline]
    filter_horizontal = ("groups",)


@admin.register(Sku)
class SkuAdmin(admin.ModelAdmin):
    list_display = ("product", "spec", "price", "stock", "per_member_limit", "is_active")
    readonly_fields = ("stock",)
    list_select_related = ("product",)


@admin.register(PickupPoint)
class PickupPointAdmin(admin.ModelAdmin):
    list_display = ("name", "shop", "address", "is_active")


class ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class OrderLineInline(ReadOnlyInline):
    model = OrderLine


class OrderAdjustmentInline(ReadOnlyInline):
    model = OrderAdjustment


class OrderTransitionInline(ReadOnlyInline):
    model = OrderTransition


class PaymentInline(ReadOnlyInline):
    model = Payment


class RefundInline(ReadOnlyInline):
    model = Refund
    fk_name = "order"


@admin.register(Order)
class OrderAdmin(admin.ModelAdmin):
    """Read-only here: money and state change only through orders.services, which records every move."""

    list_display = ("number", "shop", "member", "group", "state", "total", "refunded_amount", "created_at")
    list_filter = ("state", "delivery", "shop")
    search_fields = ("number", "member__phone", "member__display_name", "recipient_name")
    list_select_related = ("shop", "member", "group")
    inlines = [OrderLineInline, OrderAdjustmentInline, OrderTransitionInline, PaymentInline, RefundInline]

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(Payment)
class PaymentAdmin(admin.ModelAdmin):
    list_display = ("provider_ref", "order", "provider", "amount", "state", "created_at", "succeeded_at")
    list_filter = ("state", "provider")

    def has_change_permission(self, request, obj=None):
        return False


class RefundLineInline(ReadOnlyInline):
    model = RefundLine


@admin.register(Refund)
class RefundAdmin(admin.ModelAdmin):
    list_display = ("key", "order", "amount", "state", "created_at", "succeeded_at")
    list_filter = ("state",)
    inlines = [RefundLineInline]

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(ProviderNotification)
class ProviderNotificationAdmin(admin.ModelAdmin):
    list_display = ("provider", "notification_id", "kind", "provider_ref", "received_at")

    def has_change_permission(self, request, obj=None):
        return False


class CasePhotoInline(admin.TabularInline):
    model = CasePhoto
    extra = 0


@admin.register(AfterSalesCase)
class AfterSalesCaseAdmin(admin.ModelAdmin):
    list_display = ("order", "member", "shop", "state", "created_at", "closed_at")
    list_filter = ("state", "shop")
    inlines = [CasePhotoInline]


admin.site.register(SimulatedCharge)
admin.site.register(SimulatedNotificationOutbox)


@admin.register(FulfilmentItem)
class FulfilmentItemAdmin(admin.ModelAdmin):
    """The fulfilment queue across shops, read only: items are owed by the plug-ins' services and handed
    over from the shop's dashboard (orders.fulfilment), where the hand-over is audited."""

    list_display = ("pk", "shop", "label", "quantity", "member", "delivery", "state", "owed_at", "handed_over_by")
    list_filter = ("state", "delivery")
    list_select_related = ("shop", "member", "handed_over_by")
    search_fields = ("key", "label", "member__phone")
    readonly_fields = [f.name for f in FulfilmentItem._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
