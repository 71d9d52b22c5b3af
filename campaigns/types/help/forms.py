"""助力 settings in the dashboard's campaign editor."""

from django import forms
from django.utils.translation import gettext_lazy as _

from campaigns.types.coupon.forms import CouponTemplateSelect


class HelpSettingsForm(forms.Form):
    """助力 settings as the dashboard shows them; clean_help_settings (HelpKind.validate_settings) decides."""

    helps_needed = forms.CharField(
        label=_("需要助力人数"), required=False, initial=3, help_text=_("好友助力达到此人数即完成，1–100 人。")
    )
    time_limit_minutes = forms.CharField(
        label=_("助力时限（分钟）"),
        required=False,
        initial=24 * 60,
        help_text=_("发起后开始计时，例如 1440 = 24 小时；不能长于活动时长。"),
    )
    reward_kind = forms.ChoiceField(
        label=_("奖励方式"),
        initial="price",
        choices=[
            ("price", _("助力价购买活动商品")),
            ("free_item", _("赠品（商家发放）")),
            ("coupon", _("优惠券（集齐后自动发到券包）")),
        ],
        error_messages={
            "invalid_choice": _("请选择奖励方式：助力价购买或赠品。"),
            "required": _("请选择奖励方式：助力价购买或赠品。"),
        },
    )
    reward_price = forms.CharField(
        label=_("助力价（元）"), required=False, help_text=_("奖励为助力价购买时填写，必须低于商品原价。")
    )
    reward_label = forms.CharField(
        label=_("赠品名称"),
        required=False,
        widget=forms.TextInput(attrs={"maxlength": 60}),
        help_text=_("奖励为赠品时填写；留空则用活动商品的名称。"),
    )
    reward_coupon = forms.CharField(
        label=_("奖励优惠券"),
        required=False,
        widget=CouponTemplateSelect(),
        help_text=_("奖励为优惠券时选择本店的一个优惠券活动，从该券的发放总量中发放。"),
    )
    new_users_only = forms.BooleanField(label=_("仅限新用户助力（未在本店下过单）"), required=False)
    helps_per_helper = forms.CharField(
        label=_("每人可助力次数"),
        required=False,
        initial=1,
        help_text=_("同一好友在本活动中最多能为几位发起人助力，默认 1 次。"),
    )

    takes_shop = True  # the editor passes the shop: its own coupon templates are the picker's choices

    def __init__(self, *args, shop=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["reward_coupon"].widget = CouponTemplateSelect(shop=shop)
