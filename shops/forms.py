"""Dashboard forms for the shop's settings and staff. Limits are checked by shops.services."""

from django import forms
from django.utils.translation import gettext_lazy as _

from shequn.bounds import (
    MAX_COUPON_NOTICE_HOURS,
    MAX_GROUP_SIZE,
    MAX_ID,
    MAX_JOIN_WINDOW_HOURS,
    MAX_MINUTES,
    MAX_NEAR_FLOOR_PERCENT,
)

from .models import OperatorRole


class ShopSettingsForm(forms.Form):
    group_hard_cap = forms.IntegerField(
        label=_("群人数上限"), min_value=2, max_value=MAX_GROUP_SIZE, help_text=_("任何群的容量都不能超过此值。")
    )
    default_group_capacity = forms.IntegerField(
        label=_("默认群容量"), min_value=2, max_value=MAX_GROUP_SIZE, help_text=_("新建群时默认填入的容量。")
    )
    default_rotation_threshold = forms.IntegerField(
        label=_("默认轮换阈值"),
        min_value=1,
        max_value=MAX_GROUP_SIZE,
        help_text=_("群活码：新成员进入第一个低于此人数的群。"),
    )
    payment_timeout_minutes = forms.IntegerField(
        label=_("付款时限（分钟）"),
        min_value=1,
        max_value=MAX_MINUTES,
        help_text=_("下单后未在此时间内付款的订单自动取消，库存退回。"),
    )
    sms_sign_name = forms.CharField(
        label=_("短信签名"),
        max_length=20,
        required=False,
        help_text=_("在短信服务商处审核通过的签名，例如“好物社”；留空则用平台签名。"),
    )
    bargain_pay_within_minutes = forms.IntegerField(
        label=_("砍价到底后付款期限（分钟）"),
        min_value=5,
        max_value=MAX_MINUTES,
        help_text=_("砍价砍到底价后须在此时间内下单付款，否则失效；单个活动可另设。"),
    )
    campaign_join_window_hours = forms.IntegerField(
        label=_("活动带来入群的归因时限（小时）"),
        min_value=1,
        max_value=MAX_JOIN_WINDOW_HOURS,
        required=False,  # left as it is when empty
        help_text=_("登录后打开活动分享页、在此时间内首次入群的，算作该活动带来的入群。"),
    )
    bargain_near_floor_percent = forms.IntegerField(
        label=_("砍价接近底价提醒（百分比）"),
        min_value=0,
        max_value=MAX_NEAR_FLOOR_PERCENT,
        required=False,  # left as it is when empty
        help_text=_("只剩一刀，或剩下可砍的不超过全程的此百分比时，告诉发起人一次；0 表示只在只剩一刀时。"),
    )
    coupon_expiry_notice_hours = forms.IntegerField(
        label=_("优惠券到期提醒提前（小时）"),
        min_value=1,
        max_value=MAX_COUPON_NOTICE_HOURS,
        required=False,  # left as it is when empty
        help_text=_("可用的优惠券在到期前此时间内提醒领券人一次；领取不到此时长的券不提醒。"),
    )


class OperatorAddForm(forms.Form):
    email = forms.EmailField(label=_("邮箱"))
    display_name = forms.CharField(label=_("昵称"), max_length=40, required=False)
    role = forms.ChoiceField(label=_("角色"), choices=OperatorRole.choices, initial=OperatorRole.OPERATOR)


class OperatorRoleForm(forms.Form):
    role = forms.ChoiceField(label=_("角色"), choices=OperatorRole.choices)


class SwitchShopForm(forms.Form):
    shop = forms.IntegerField(min_value=1, max_value=MAX_ID)


class AuditFilterForm(forms.Form):
    """The audit log's filters: who, what kind of object, from and to which day (both included).

    The people and object types offered are the ones the shop's log names, set per request."""

    person = forms.ChoiceField(label=_("操作人"), required=False)
    type = forms.ChoiceField(label=_("对象类型"), required=False)
    since = forms.DateField(label=_("开始日期"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    until = forms.DateField(label=_("结束日期"), required=False, widget=forms.DateInput(attrs={"type": "date"}))

    def __init__(self, *args, people=(), types=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["person"].choices = [("", _("全部人员")), *people]
        self.fields["type"].choices = [("", _("全部对象")), *types]

    def clean(self):
        cleaned = super().clean()
        since, until = cleaned.get("since"), cleaned.get("until")
        if since and until and since > until:
            self.add_error("until", _("结束日期不能早于开始日期。"))
        return cleaned
