"""拼团's forms: its settings in the dashboard's campaign editor, and the member's team checkout."""

from django import forms
from django.utils.translation import gettext_lazy as _

from groups.models import Group
from orders.member_forms import CheckoutForm


class TeamCheckoutForm(CheckoutForm):
    """The order confirmation of opening or joining a team: delivery (as any order) and, when the member
    is in several of the campaign's groups, which one the order belongs to."""

    group = forms.ModelChoiceField(
        label=_("下单群"),
        queryset=Group.objects.none(),
        empty_label=None,
        error_messages={"invalid_choice": _("请选择你所在的活动群。"), "required": _("请选择你所在的活动群。")},
    )

    def __init__(self, *args, shop, groups: list[Group], **kwargs):
        super().__init__(*args, shop=shop, **kwargs)
        self.fields["group"].queryset = Group.objects.filter(pk__in=[g.pk for g in groups])
        if groups:
            self.fields["group"].initial = groups[0].pk
        self.single_group = len(groups) == 1


class TierField(forms.CharField):
    """Tiers typed as lines "人数 价格" (e.g. "3 39" / "5 35"); validated by the type."""

    def to_python(self, value):
        tiers = []
        for line in (value or "").splitlines():
            parts = line.replace("，", " ").replace(",", " ").replace("人", " ").replace("¥", " ").split()
            if not parts:
                continue
            tiers.append({"size": parts[0], "price": parts[1] if len(parts) > 1 else ""})
        return tiers


class GroupBuySettingsForm(forms.Form):
    """拼团 settings as the dashboard shows them; GroupBuy.validate_settings decides."""

    team_size = forms.CharField(label=_("成团人数"), required=False, initial=3, help_text=_("至少 2 人。"))
    group_price = forms.CharField(label=_("拼团价（元）"), required=False, help_text=_("必须低于商品原价。"))
    time_limit_minutes = forms.CharField(
        label=_("成团时限（分钟）"),
        required=False,
        initial=24 * 60,
        help_text=_("团长付款后开始计时，例如 1440 = 24 小时。"),
    )
    leader_discount = forms.CharField(label=_("团长优惠（元）"), required=False, help_text=_("选填：团长少付的金额。"))
    new_members_only = forms.BooleanField(label=_("仅限新人参团（未在本店下过单）"), required=False)
    simulate_fill = forms.BooleanField(
        label=_("模拟成团"),
        required=False,
        help_text=_("到期未满员时自动成团。默认关闭；使用后会在活动数据中如实标注。"),
    )
    tiers = TierField(
        label=_("阶梯价（选填）"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_(
            "每行「人数 价格」，如「3 39」「5 35」。填写后按第一档价格付款，"
            "成团时按达到的档位自动退差价，最后一档人数即成团人数。"
        ),
    )

    @classmethod
    def initial_from(cls, settings: dict) -> dict:
        initial = dict(settings or {})
        initial["tiers"] = "\n".join(f"{t['size']} {t['price']}" for t in settings.get("tiers") or [])
        return initial
