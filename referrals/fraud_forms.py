"""Forms for the fraud review queue and a shop's fraud thresholds."""

from django import forms
from django.utils.translation import gettext_lazy as _

from .fraud.thresholds import SETTINGS_FIELDS
from .fraud_models import FlagKind, FlagStatus, FraudSettings


class FlagFilterForm(forms.Form):
    status = forms.ChoiceField(
        label=_("状态"), required=False, choices=[("", _("全部状态")), *FlagStatus.choices], initial=FlagStatus.OPEN
    )
    kind = forms.ChoiceField(label=_("类型"), required=False, choices=[("", _("全部类型")), *FlagKind.choices])

    def filters(self) -> dict:
        if not self.is_bound:
            return {"status": FlagStatus.OPEN, "kind": None}
        if not self.is_valid():
            return {"status": FlagStatus.OPEN, "kind": None}
        return {"status": self.cleaned_data["status"] or None, "kind": self.cleaned_data["kind"] or None}


class DecisionForm(forms.Form):
    action = forms.ChoiceField(
        label=_("处理"),
        choices=[("confirm", _("确认作弊（作废相关事件）")), ("clear", _("排除（属实，不作废）"))],
        widget=forms.RadioSelect,
        error_messages={"required": _("请选择确认或排除。"), "invalid_choice": _("请选择确认或排除。")},
    )
    reason = forms.CharField(
        label=_("理由"),
        max_length=200,
        strip=True,
        widget=forms.Textarea(attrs={"rows": 2}),
        error_messages={"required": _("请写明处理理由。"), "max_length": _("理由最多 200 个字。")},
    )


class FraudSettingsForm(forms.ModelForm):
    class Meta:
        model = FraudSettings
        fields = SETTINGS_FIELDS
        help_texts = {
            "young_account_minutes": _(
                "注册不满这些分钟的账号只是一个信号：几个这样的新账号共用同一设备或 IP 为同一人参与活动时才标记。"
            ),
        }
