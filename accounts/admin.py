from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.utils.translation import gettext_lazy as _

from .models import User


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    list_display = ("username", "display_name", "phone", "phone_verified", "email", "is_staff", "date_joined")
    search_fields = ("username", "display_name", "phone", "email")
    fieldsets = DjangoUserAdmin.fieldsets + ((_("社群"), {"fields": ("display_name", "phone", "phone_verified")}),)
