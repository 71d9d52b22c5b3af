"""打卡 settings in the dashboard's campaign editor, and the member's check-in form."""

from django import forms
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext_lazy as _

from campaigns.types.coupon.forms import template_choices

MILESTONE_ROWS = 10  # kind.MAX_MILESTONES: one row each


class MilestoneCouponsWidget(forms.Widget):
    """One row per milestone: the streak's days and a select of the shop's own coupon templates. What it
    gives the form is the stored text "7:12,21:13" (a row half filled stays visible to the validation: "7:"),
    so the type's validation and messages are unchanged; a plain "7:12" posted under the field's own name
    (the API, a script) is taken as it is."""

    def __init__(self, *, shop=None, attrs=None):
        super().__init__(attrs)
        self.choices = [("", _("请选择优惠券"))] + template_choices(shop)

    def value_from_datadict(self, data, files, name):  # noqa: ARG002 - Widget signature
        if name in data:
            return data.get(name)
        rows = []
        for i in range(MILESTONE_ROWS):
            days = str(data.get(f"{name}-days-{i}", "")).strip()[:8]
            template = str(data.get(f"{name}-template-{i}", "")).strip()[:18]
            if days or template:
                rows.append(f"{days}:{template}")
        return ",".join(rows)

    @staticmethod
    def _rows(value) -> list[tuple[str, str]]:
        if isinstance(value, list):
            return [(str(days), str(template)) for days, template in value]
        rows = []
        for part in str(value or "").replace("，", ",").replace("：", ":").split(","):
            if part.strip():
                days, _sep, template = part.partition(":")
                rows.append((days.strip(), template.strip()))
        return rows

    def render(self, name, value, attrs=None, renderer=None):  # noqa: ARG002 - Widget.render signature
        rows = self._rows(value)
        rows += [("", "")] * max(min(3, MILESTONE_ROWS - len(rows)), 0)

        def options(chosen):
            return format_html_join(
                "",
                '<option value="{}"{}>{}</option>',
                ((v, " selected" if v == chosen else "", words) for v, words in self.choices),
            )

        return format_html(
            '<div class="milestone-coupons" id="id_{}">{}</div>',
            name,
            format_html_join(
                "",
                '<div class="milestone-row"><label>{} <input type="number" min="1" max="366" inputmode="numeric" '
                'name="{}-days-{}" value="{}" aria-label="{}"></label> '
                '<select name="{}-template-{}" aria-label="{}">{}</select></div>',
                (
                    (_("连续天数"), name, i, days, _("连续天数"), name, i, _("奖励优惠券"), options(template))
                    for i, (days, template) in enumerate(rows[:MILESTONE_ROWS])
                ),
            ),
        )


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
        widget=MilestoneCouponsWidget(),
        help_text=_("每行一档：连续打卡天数和本店的一个优惠券活动；券从该活动发放，每档每人只发一次。"),
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

    takes_shop = True  # the editor passes the shop: its own coupon templates are the rows' choices

    def __init__(self, *args, shop=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["milestone_coupons"].widget = MilestoneCouponsWidget(shop=shop)


class CheckInForm(forms.Form):
    """The member's check-in: a text and/or a photo (the campaign's rules decide which is required)."""

    text = forms.CharField(label=_("打卡内容"), required=False, widget=forms.Textarea(attrs={"rows": 3}))
    photo = forms.FileField(label=_("照片"), required=False)
