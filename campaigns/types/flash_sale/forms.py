"""秒杀's forms: its settings in the dashboard's campaign editor, and the member's order confirmation."""

from django import forms
from django.utils.translation import gettext_lazy as _

from campaigns.checkout import ServerDecidesChoices
from groups.models import Group
from orders.member_forms import CheckoutForm


class FlashSaleSettingsForm(forms.Form):
    """秒杀 settings as the dashboard shows them; FlashSale.validate_settings decides. The start time, the
    stock cap (限量) and the per-member limit (每人限购) are the campaign's own fields."""

    flash_price = forms.CharField(label=_("秒杀价（元）"), required=False, help_text=_("必须低于商品原价。"))
    pay_minutes = forms.CharField(
        label=_("付款时限（分钟）"),
        required=False,
        initial=15,
        help_text=_("抢到后须在此时间内付款，超时未付订单自动取消、名额放回。"),
    )


class FlashCheckoutForm(ServerDecidesChoices, CheckoutForm):
    """The order confirmation of a flash sale: delivery (as any order), when the member is in several of the
    campaign's groups which one the order belongs to, and the pricing step's choices (coupon, points)."""

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
