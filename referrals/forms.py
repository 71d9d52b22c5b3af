"""Forms for the referral pages. They parse and check input shape only; the services decide what is allowed."""

from decimal import Decimal

from django import forms
from django.utils.translation import gettext_lazy as _

from shequn.bounds import MAX_REWARD_CAP

from .models import (
    CapPeriod,
    ReferralSettings,
    RewardKind,
    RewardStatus,
    StewardRewardKind,
    StewardRewardStatus,
    WithdrawalStatus,
)

MONEY_LIMITS = {"max_digits": 12, "decimal_places": 2}


class ReferralSettingsForm(forms.ModelForm):
    class Meta:
        model = ReferralSettings
        fields = [
            "binding_rule",
            "binding_window_days",
            "qualify_on",
            "qualifying_min_amount",
            "review_days",
            "points_per_yuan",
        ]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["points_per_yuan"].required = False  # left empty: points stay as they are set

    def clean_points_per_yuan(self) -> int:
        value = self.cleaned_data.get("points_per_yuan")
        return self.instance.points_per_yuan if value is None else value


class RewardRuleForm(forms.Form):
    kind = forms.ChoiceField(label=_("奖励类型"), choices=RewardKind.choices)
    amount = forms.DecimalField(
        label=_("数额"),
        min_value=Decimal("0"),
        initial=Decimal("0"),
        **MONEY_LIMITS,
        help_text=_("积分数、优惠券面额或每位合格好友的固定佣金（元）"),
    )
    commission_rate = forms.DecimalField(
        label=_("佣金比例"),
        required=False,
        min_value=Decimal("0"),
        max_value=Decimal("1"),
        max_digits=5,
        decimal_places=4,
        help_text=_("仅佣金：按合格订单金额计，如 0.05 表示 5%"),
    )
    label = forms.CharField(label=_("名称"), max_length=60, required=False, help_text=_("优惠券或赠品的名称"))
    cap_count = forms.IntegerField(
        label=_("每人上限"),
        required=False,
        min_value=1,
        max_value=MAX_REWARD_CAP,
        help_text=_("每位邀请人每个周期最多获得几次，不限请留空"),
    )
    cap_period = forms.ChoiceField(label=_("上限周期"), choices=CapPeriod.choices, initial=CapPeriod.MONTH)


class WithdrawalForm(forms.Form):
    shop = forms.TypedChoiceField(label=_("店铺"), coerce=int)
    amount = forms.DecimalField(label=_("提现金额（元）"), min_value=Decimal("0.01"), **MONEY_LIMITS)
    account_note = forms.CharField(
        label=_("收款方式"), max_length=120, help_text=_("如 微信号、支付宝账号，运营打款时使用")
    )

    def __init__(self, *args, accounts=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["shop"].choices = [(a.shop_id, f"{a.shop.name}（¥{a.balance}）") for a in accounts]


class WithdrawalDecisionForm(forms.Form):
    note = forms.CharField(label=_("说明"), max_length=200, required=False)
    payout_reference = forms.CharField(label=_("打款凭证号"), max_length=80, required=False)


class RewardFilterForm(forms.Form):
    status = forms.ChoiceField(label=_("状态"), required=False, choices=[("", _("全部"))] + RewardStatus.choices)


class WithdrawalFilterForm(forms.Form):
    status = forms.ChoiceField(label=_("状态"), required=False, choices=[("", _("全部"))] + WithdrawalStatus.choices)


class EdgeFilterForm(forms.Form):
    q = forms.CharField(label=_("搜索"), required=False, max_length=40)
    qualified = forms.ChoiceField(
        label=_("合格"), required=False, choices=[("", _("全部")), ("yes", _("已合格")), ("no", _("未合格"))]
    )


class ViralScopeForm(forms.Form):
    by = forms.ChoiceField(
        required=False, choices=[("group", _("按群")), ("series", _("按系列")), ("campaign", _("按活动"))]
    )


class StewardRuleForm(forms.Form):
    """One role's rule on the stewards' page (prefixed by the role); the range checks are stewards.validate_rule."""

    enabled = forms.BooleanField(label=_("启用"), required=False)
    kind = forms.ChoiceField(label=_("奖励类型"), choices=StewardRewardKind.choices)
    rate = forms.DecimalField(
        label=_("比例"),
        required=False,
        max_digits=7,
        decimal_places=2,
        help_text=_("佣金：订单实付金额的百分比（2 表示 2%）；积分：每实付 1 元给多少积分。"),
        error_messages={
            "invalid": _("请输入数字。"),
            "max_digits": _("比例太大。"),
            "max_decimal_places": _("比例最多两位小数。"),
            "max_whole_digits": _("比例太大。"),
        },
    )


class StewardRewardFilterForm(forms.Form):
    status = forms.ChoiceField(
        label=_("状态"), required=False, choices=[("", _("全部"))] + list(StewardRewardStatus.choices)
    )
