"""Django admin of the complaints and suggestions box (imported by groups/admin.py): read-mostly; routing,
answers and closing go through groups.feedback, which records each in the shop's audit log."""

from django.contrib import admin

from .feedback_models import Feedback, FeedbackDepartment


@admin.register(Feedback)
class FeedbackAdmin(admin.ModelAdmin):
    list_display = ("pk", "shop", "group", "member", "kind", "state", "department", "created_at", "answered_at")
    list_filter = ("kind", "state")
    search_fields = ("body", "answer", "group__name")
    raw_id_fields = ("shop", "group", "member", "department", "answered_by")
    readonly_fields = ("state", "department", "routed_at", "answer", "answered_at", "answered_by", "closed_at")
    list_select_related = ("shop", "group", "member", "department")


@admin.register(FeedbackDepartment)
class FeedbackDepartmentAdmin(admin.ModelAdmin):
    list_display = ("name", "shop", "active", "created_at")
    list_filter = ("active",)
    raw_id_fields = ("shop",)
    list_select_related = ("shop",)
