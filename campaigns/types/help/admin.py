"""Admin of 帮 助力, imported by campaigns/admin.py (the kind's `admin` module): help tasks are read only; a help
added by hand goes through the same service as a member's tap (campaigns/types/assisted/admin.py)."""

from django.contrib import admin

from campaigns.models import Help, HelpTask

from ..assisted.admin import ActAddForm, ActAdmin, ReadOnlyAdmin, ReadOnlyInline
from . import kind as helping


class HelpInline(ReadOnlyInline):
    model = Help
    fields = ("number", "helper", "flagged", "created_at")
    readonly_fields = fields


@admin.register(HelpTask)
class HelpTaskAdmin(ReadOnlyAdmin):
    list_display = (
        "pk",
        "campaign",
        "starter",
        "state",
        "help_count",
        "helps_needed",
        "expires_at",
        "reward_granted_at",
    )
    list_filter = ("state",)
    list_select_related = ("campaign", "starter")
    search_fields = ("starter__phone", "starter__display_name")
    inlines = [HelpInline]


class HelpAddForm(ActAddForm):
    target_field, person_field = "task", "helper"

    class Meta:
        model = Help
        fields = ("task", "helper")

    def act(self, task, helper):
        return helping.give_help(task=task, helper=helper)


@admin.register(Help)
class HelpAdmin(ActAdmin):
    add_form = HelpAddForm
    list_display = ("task", "number", "helper", "starter", "flagged", "created_at")
    list_select_related = ("task", "helper", "starter")
    raw_id_fields = ("task", "helper")
