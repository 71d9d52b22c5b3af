"""打卡 settings in the dashboard's campaign editor, and the member's check-in form."""

from django import forms
from django.utils.translation import gettext_lazy as _


class CheckinSettingsForm(forms.Form):
    """打卡 settings as the dashboard shows them; clean_checkin_settings (CheckinKind.validate_settings) decides."""

    window_start = forms.CharField(
        label=_("每日开始时间"), required=False, initial="06:00", help_text=_("店铺时间（北京时间），例如 06:00。")
    )
    window_end = forms.CharField(
        label=_("每日结束时间"), required=False, initial="23:00", help_text=_("例如 23:00；24:00 表示到午夜。")
    )
    proof = forms.ChoiceField(
        label=_("打卡凭证"),
        initial="text",
        choices=[("photo", _("照片")), ("text", _("文字")), ("none", _("无需凭证"))],
        error_messages={
            "invalid_choice": _("请选择打卡凭证：照片、文字或无需凭证。"),
            "required": _("请选择打卡凭证：照片、文字或无需凭证。"),
        },
    )
    min_length = forms.CharField(
        label=_("文字最少字数"), required=False, initial=10, help_text=_("凭证为文字时生效，0–500。")
    )
    milestones = forms.CharField(
        label=_("连续打卡奖励"),
        required=False,
        initial="7:10,21:30",
        help_text=_("「连续天数:积分」，逗号分隔，例如 7:10,21:30；每档每人只发一次。"),
    )
    milestone_coupons = forms.CharField(
        label=_("连续打卡奖励优惠券"),
        required=False,
        help_text=_("「连续天数:券模板编号」，逗号分隔，例如 7:12；券从该优惠券活动发放，每档每人只发一次。"),
    )
    makeup_cards = forms.CharField(label=_("初始补卡数"), required=False, initial=1)
    makeup_every_days = forms.CharField(
        label=_("每打卡多少天奖励一张补卡"), required=False, initial=7, help_text=_("0 表示不奖励补卡。")
    )
    makeup_days_back = forms.CharField(
        label=_("可补最近几天的卡"), required=False, initial=3, help_text=_("1–30 天，不含今天。")
    )
    remind_before_minutes = forms.CharField(
        label=_("结束前多少分钟提醒未打卡成员"),
        required=False,
        initial=180,
        help_text=_("0 表示不提醒；此时段内、不在免打扰时段的成员每天最多收到一次提醒，并计入频次上限。"),
    )


class CheckInForm(forms.Form):
    """The member's check-in: a text and/or a photo (the campaign's rules decide which is required)."""

    text = forms.CharField(label=_("打卡内容"), required=False, widget=forms.Textarea(attrs={"rows": 3}))
    photo = forms.FileField(label=_("照片"), required=False)
