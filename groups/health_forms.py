"""Dashboard forms for the automation settings and a group's planned start. Shape only: groups.jobs decides."""

from django import forms
from django.utils.translation import gettext_lazy as _

from .jobs import AUTOMATION_LIMITS
from .models import AutomationSettings


def _number(name: str) -> forms.IntegerField:
    model_field = AutomationSettings._meta.get_field(name)
    least, most = AUTOMATION_LIMITS[name]
    return forms.IntegerField(
        label=model_field.verbose_name,
        help_text=model_field.help_text,
        min_value=least,
        max_value=most,
        error_messages={"required": _("请填写此项。"), "invalid": _("请填写整数。")},
    )


class AutomationSettingsForm(forms.Form):
    reminder_lead_days = _number("reminder_lead_days")
    quiet_days = _number("quiet_days")
    quiet_active_percent = _number("quiet_active_percent")
    archive_after_days = _number("archive_after_days")
    lurker_days = _number("lurker_days")
    lurker_follow_up_days = _number("lurker_follow_up_days")
    lurker_follow_up_enabled = forms.BooleanField(
        label=AutomationSettings._meta.get_field("lurker_follow_up_enabled").verbose_name, required=False
    )
    warnings_before_removal = _number("warnings_before_removal")


class PlannedStartForm(forms.Form):
    planned_start_at = forms.DateTimeField(
        label=_("计划开营时间"),
        required=False,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S"],
        error_messages={"invalid": _("请填写有效的日期和时间。")},
        help_text=_("到时招募中的群自动转为活跃；留空则由运营手动开营。"),
    )
