"""Forms for the member's message preferences and the shop's message rules. Services decide."""

from datetime import time

from django import forms
from django.utils.translation import gettext_lazy as _

from .models import Category, NotificationState, WechatFallback

QUIET_DEFAULT, QUIET_CUSTOM, QUIET_OFF = "default", "custom", "off"
TIME_WIDGET = forms.TimeInput(attrs={"type": "time"}, format="%H:%M")


class PreferenceForm(forms.Form):
    marketing = forms.BooleanField(label=_("优惠推广"), required=False, help_text=_("新品、折扣和店铺活动的推荐。"))
    reminder = forms.BooleanField(label=_("回购提醒"), required=False, help_text=_("买过的商品快用完时提醒你。"))
    campaign = forms.BooleanField(
        label=_("活动消息"), required=False, help_text=_("拼团、砍价等你参加的活动的新消息。")
    )
    quiet_mode = forms.ChoiceField(
        label=_("免打扰时段"),
        widget=forms.RadioSelect,
        initial=QUIET_DEFAULT,
        choices=[(QUIET_DEFAULT, _("使用店铺默认")), (QUIET_CUSTOM, _("自定义")), (QUIET_OFF, _("不设免打扰"))],
    )
    quiet_start = forms.TimeField(label=_("开始"), required=False, widget=TIME_WIDGET)
    quiet_end = forms.TimeField(label=_("结束"), required=False, widget=TIME_WIDGET)

    def clean(self):
        data = super().clean()
        mode = data.get("quiet_mode")
        if mode == QUIET_CUSTOM:
            start, end = data.get("quiet_start"), data.get("quiet_end")
            if start is None or end is None:
                self.add_error("quiet_end" if start else "quiet_start", _("请填写免打扰的开始和结束时间。"))
            elif start == end:
                self.add_error("quiet_end", _("结束时间不能与开始时间相同；不需要免打扰请选择「不设免打扰」。"))
        elif mode == QUIET_OFF:
            data["quiet_start"] = data["quiet_end"] = time(0, 0)  # start == end: no quiet window
        else:
            data["quiet_start"] = data["quiet_end"] = None
        return data

    @classmethod
    def initial_for(cls, preference) -> dict:
        if preference.quiet_start is None:
            mode = QUIET_DEFAULT
        elif preference.quiet_start == preference.quiet_end:
            mode = QUIET_OFF
        else:
            mode = QUIET_CUSTOM
        return {
            "marketing": preference.marketing,
            "reminder": preference.reminder,
            "campaign": preference.campaign,
            "quiet_mode": mode,
            "quiet_start": preference.quiet_start if mode == QUIET_CUSTOM else None,
            "quiet_end": preference.quiet_end if mode == QUIET_CUSTOM else None,
        }


class NotificationSettingsForm(forms.Form):
    daily_cap = forms.IntegerField(
        label=_("每日上限"),
        min_value=1,
        max_value=10,
        help_text=_("任意 24 小时内，每位会员最多收到的推广、提醒和活动消息数。"),
    )
    weekly_cap = forms.IntegerField(
        label=_("每周上限"),
        min_value=1,
        max_value=30,
        help_text=_("任意 7 天内，每位会员最多收到的推广、提醒和活动消息数。"),
    )
    quiet_start = forms.TimeField(label=_("免打扰开始"), widget=TIME_WIDGET)
    quiet_end = forms.TimeField(
        label=_("免打扰结束"),
        widget=TIME_WIDGET,
        help_text=_("这段时间内不发推广和提醒，到点后再发；交易通知不受影响。会员可自行调整。"),
    )
    wechat_fallback = forms.ChoiceField(
        label=_("微信消息发送失败时"),
        choices=WechatFallback.choices,
        required=False,
        help_text=_("会员能收到微信消息时先发微信；微信发送失败后，按此设置补发短信或只留在站内信。"),
    )


class FilterForm(forms.Form):
    """The operator list's filters."""

    state = forms.ChoiceField(
        label=_("状态"), required=False, choices=[("", _("全部状态")), *NotificationState.choices]
    )
    category = forms.ChoiceField(label=_("类别"), required=False, choices=[("", _("全部类别")), *Category.choices])
    failed = forms.BooleanField(label=_("只看投递失败"), required=False)
