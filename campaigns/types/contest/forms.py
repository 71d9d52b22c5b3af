"""比 contest settings in the dashboard's campaign editor; clean_contest_settings (ContestKind.validate_settings)
decides, so this form only shows the fields and their choices."""

from django import forms
from django.utils.translation import gettext_lazy as _

from .choices import Metric, PrizeTo, Scope


class ContestSettingsForm(forms.Form):
    metric = forms.ChoiceField(
        label=_("排行指标"),
        choices=Metric.CHOICES,
        initial=Metric.QUALIFIED,
        error_messages={"invalid_choice": _("请选择排行指标。"), "required": _("请选择排行指标。")},
    )
    scope = forms.ChoiceField(
        label=_("比赛范围"),
        choices=Scope.CHOICES,
        initial=Scope.SHOP,
        error_messages={"invalid_choice": _("请选择比赛范围。"), "required": _("请选择比赛范围。")},
    )
    tags = forms.CharField(
        label=_("成员标签"), required=False, help_text=_("范围为「带指定标签的成员」时填写，逗号分隔。")
    )
    tiers = forms.CharField(
        label=_("奖品档位"),
        required=False,
        initial="1 现金 100\n2-3 积分 500",
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=_(
            "每行一档：名次 类型 奖品。例如「1 现金 100」「2-3 积分 500」「4-10 券 满100减20」「1 实物 蓝牙音箱 199」"
            "（实物最后的数字是成本）。"
        ),
    )
    minimum = forms.CharField(
        label=_("获奖最低门槛"), required=False, initial="1", help_text=_("成绩达到此数才能领奖（成交额以元计）。")
    )
    prize_to = forms.ChoiceField(label=_("群比拼奖品发给"), choices=PrizeTo.CHOICES, initial=PrizeTo.OWNER)
    pickup_point = forms.CharField(
        label=_("实物领奖自提点"), required=False, help_text=_("自提点名称；有实物奖品时必填。")
    )
    rules = forms.CharField(
        label=_("比赛规则"), required=False, widget=forms.Textarea(attrs={"rows": 4}), help_text=_("显示在活动落地页。")
    )
