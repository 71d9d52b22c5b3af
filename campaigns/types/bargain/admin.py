"""Admin of 砍 砍价, imported by campaigns/admin.py (the kind's `admin` module): bargains are read only; a cut
added by hand goes through the same service as a member's tap (campaigns/types/assisted/admin.py).
The stored cut sequence and its seed are shown for audit."""

from django.contrib import admin

from campaigns.models import BargainCut, BargainTask

from ..assisted.admin import ActAddForm, ActAdmin, ReadOnlyAdmin, ReadOnlyInline
from . import kind as bargaining


class CutInline(ReadOnlyInline):
    model = BargainCut
    fields = ("number", "cutter", "amount", "price_after", "flagged", "created_at")
    readonly_fields = fields


@admin.register(BargainTask)
class BargainTaskAdmin(ReadOnlyAdmin):
    list_display = (
        "pk",
        "campaign",
        "starter",
        "state",
        "current_price",
        "floor_price",
        "cuts_done",
        "cuts_planned",
        "expires_at",
        "pay_deadline",
    )
    list_filter = ("state",)
    list_select_related = ("campaign", "starter")
    search_fields = ("starter__phone", "starter__display_name")
    readonly_fields = ("seed", "plan")
    inlines = [CutInline]


class CutAddForm(ActAddForm):
    target_field, person_field = "task", "cutter"

    class Meta:
        model = BargainCut
        fields = ("task", "cutter")

    def act(self, task, cutter):
        return bargaining.cut(task=task, cutter=cutter)


@admin.register(BargainCut)
class BargainCutAdmin(ActAdmin):
    add_form = CutAddForm
    list_display = ("task", "number", "cutter", "amount", "price_after", "flagged", "created_at")
    list_select_related = ("task", "cutter")
    raw_id_fields = ("task", "cutter")
