"""送 赠送 forms: the settings in the dashboard's campaign editor, and where a claimed gift goes."""

from django import forms
from django.utils.translation import gettext_lazy as _

from orders.member_forms import CheckoutForm
from orders.models import Delivery


class GiveSettingsForm(forms.Form):
    """赠送 settings as the dashboard shows them; clean_give_settings (GiveKind.validate_settings) decides."""

    mode = forms.ChoiceField(
        label=_("送法"),
        initial="gift",
        choices=[("gift", _("买一送一：会员买一份送好友")), ("treat", _("请好友喝一杯：好友领取时两人都免费得"))],
        error_messages={
            "invalid_choice": _("请选择送法：买一送一，或请好友喝一杯。"),
            "required": _("请选择送法：买一送一，或请好友喝一杯。"),
        },
    )
    claim_days = forms.CharField(
        label=_("领取期限（天）"),
        required=False,
        initial=7,
        help_text=_("礼物发出后好友需在此期限内领取，1–30 天。"),
    )
    on_expiry = forms.ChoiceField(
        label=_("过期未领取"),
        initial="refund",
        choices=[("refund", _("退款给送礼人")), ("return", _("退回送礼人，由其自己领取"))],
        error_messages={
            "invalid_choice": _("请选择过期未领取的处理方式：退款给送礼人，或退回送礼人。"),
            "required": _("请选择过期未领取的处理方式：退款给送礼人，或退回送礼人。"),
        },
    )


class ClaimForm(CheckoutForm):
    """Where the claimed item goes: a pickup point of the shop or an address (no note, nothing else)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["delivery"].choices = [
            choice for choice in self.fields["delivery"].choices if choice[0] != Delivery.NONE
        ]
        del self.fields["note"]
