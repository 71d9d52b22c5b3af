from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.utils.translation import gettext_lazy as _

from .models import SmsRecord, User


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    list_display = ("username", "display_name", "phone", "phone_verified", "email", "is_staff", "date_joined")
    search_fields = ("username", "display_name", "phone", "email")
    fieldsets = DjangoUserAdmin.fieldsets + ((_("社群"), {"fields": ("display_name", "phone", "phone_verified")}),)


@admin.register(SmsRecord)
class SmsRecordAdmin(admin.ModelAdmin):
    """Every SMS asked of a provider; filter on 发送失败 to see the deliveries that did not go out."""

    list_display = ("at", "phone", "kind", "backend", "sign_name", "status", "error_code", "provider_id")
    list_filter = ("status", "kind", "backend")
    search_fields = ("phone", "provider_id", "error_code")
    readonly_fields = [f.name for f in SmsRecord._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
