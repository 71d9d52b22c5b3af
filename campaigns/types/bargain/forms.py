"""砍价 settings in the dashboard's campaign editor."""

from django import forms
from django.utils.translation import gettext_lazy as _


class BargainSettingsForm(forms.Form):
    """砍价 settings as the dashboard shows them; clean_bargain_settings (BargainKind.validate_settings) decides."""

    original_price = forms.CharField(
        label=_("原价（元）"), required=False, help_text=_("砍价的起点；留空则为商品价格，不能高于商品价格。")
    )
    floor_price = forms.CharField(label=_("底价（元）"), required=False, help_text=_("砍到此价为止，必须低于原价。"))
    min_cuts = forms.CharField(
        label=_("砍到底价所需人数"), required=False, initial=5, help_text=_("至少要几位好友各砍一刀才能砍到底价。")
    )
    max_cuts = forms.CharField(
        label=_("最多人数（选填）"),
        required=False,
        help_text=_("填写后所需人数在上面的人数与此数之间随机；留空则固定。"),
    )
    time_limit_minutes = forms.CharField(
        label=_("砍价时限（分钟）"),
        required=False,
        initial=24 * 60,
        help_text=_("发起后开始计时，例如 1440 = 24 小时；不能长于活动时长。"),
    )
    may_buy_before_floor = forms.BooleanField(label=_("允许未砍到底价时按当前价购买"), required=False)
    first_cut_share = forms.CharField(
        label=_("首刀比例"),
        required=False,
        initial="0.50",
        help_text=_("第一刀砍掉差价的比例，0–0.90，如 0.50 表示首刀砍掉一半。"),
    )
    pay_within_minutes = forms.CharField(
        label=_("付款期限（分钟）"),
        required=False,
        help_text=_("砍到底价后须在此时间内付款，例如 1440 = 24 小时；留空则用店铺设置。"),
    )
