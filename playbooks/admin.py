from django.contrib import admin

from .models import Playbook, PlaybookRun, PlaybookStep, RunStep


class PlaybookStepInline(admin.TabularInline):
    model = PlaybookStep
    extra = 0
    fields = ("day", "at_time", "action", "title", "body", "campaign_template", "campaign_days", "author")
    raw_id_fields = ("campaign_template", "author")


@admin.register(Playbook)
class PlaybookAdmin(admin.ModelAdmin):
    list_display = ("name", "shop", "match_tag", "match_kind", "is_default", "is_active", "updated_at")
    list_filter = ("is_default", "is_active")
    search_fields = ("name", "shop__name")
    raw_id_fields = ("shop", "match_tag", "created_by")
    inlines = [PlaybookStepInline]


class RunStepInline(admin.TabularInline):
    model = RunStep
    extra = 0
    can_delete = False
    fields = ("position", "day", "action", "title", "due_at", "state", "done_at", "done_by", "result", "note")
    readonly_fields = fields


@admin.register(PlaybookRun)
class PlaybookRunAdmin(admin.ModelAdmin):
    """Read-only: a run moves through playbooks.services (the job, the operators' pages), never by hand here."""

    list_display = ("group", "playbook", "day0", "created_at")
    search_fields = ("group__name", "playbook__name")
    raw_id_fields = ("shop", "group", "playbook", "assigned_by")
    readonly_fields = ("shop", "group", "playbook", "day0", "assigned_by", "created_at")
    inlines = [RunStepInline]

    def has_add_permission(self, request) -> bool:
        return False
