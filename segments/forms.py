"""Dashboard forms for segments, automatic tags and broadcasts. They parse and bound input; the services decide."""

from decimal import Decimal

from django import forms
from django.utils.translation import gettext_lazy as _

from groups.models import Group, Tag
from orders.models import Product

from .models import MAX_AMOUNT, MAX_COUNT, MAX_DAYS, RuleKind, Segment


def _amount(label):
    return forms.DecimalField(
        label=label, required=False, min_value=Decimal("0"), max_value=MAX_AMOUNT, decimal_places=2, max_digits=12
    )


def _days(label):
    return forms.IntegerField(label=label, required=False, min_value=1, max_value=MAX_DAYS)


def _count(label):
    return forms.IntegerField(label=label, required=False, min_value=0, max_value=MAX_COUNT)


def _tags(label):
    return forms.ModelMultipleChoiceField(
        label=label, queryset=Tag.objects.none(), required=False, widget=forms.CheckboxSelectMultiple
    )


class SegmentForm(forms.Form):
    name = forms.CharField(label=_("名称"), max_length=Segment._meta.get_field("name").max_length)
    description = forms.CharField(
        label=_("说明"), max_length=Segment._meta.get_field("description").max_length, required=False
    )
    tags = _tags(_("带任一标签"))
    exclude_tags = _tags(_("排除带这些标签的成员"))
    groups = forms.ModelMultipleChoiceField(
        label=_("在任一群中"), queryset=Group.objects.none(), required=False, widget=forms.CheckboxSelectMultiple
    )
    min_spent = _amount(_("累计消费至少（元）"))
    max_spent = _amount(_("累计消费至多（元）"))
    min_orders = _count(_("已付订单至少"))
    max_orders = _count(_("已付订单至多"))
    ordered_within_days = _days(_("最近几天内下过单"))
    not_ordered_for_days = _days(_("超过几天没有下单"))
    joined_within_days = _days(_("最近几天内入群"))
    joined_before_days = _days(_("入群超过几天"))

    def __init__(self, *args, shop, **kwargs):
        super().__init__(*args, **kwargs)
        tags = Tag.objects.filter(shop=shop).order_by("name")
        self.fields["tags"].queryset = tags
        self.fields["exclude_tags"].queryset = tags
        self.fields["groups"].queryset = Group.objects.filter(shop=shop).order_by("-pk")


class TagRuleForm(forms.Form):
    tag_name = forms.CharField(label=_("标签名称"), max_length=Tag._meta.get_field("name").max_length)
    kind = forms.ChoiceField(label=_("规则"), choices=RuleKind.choices)
    product = forms.ModelChoiceField(label=_("商品（买过指定商品）"), queryset=Product.objects.none(), required=False)
    amount = _amount(_("金额（累计消费达到，元）"))
    count = forms.IntegerField(label=_("订单数（复购会员，默认 2）"), required=False, min_value=2, max_value=MAX_COUNT)
    days = forms.IntegerField(label=_("天数（潜水会员，默认 14）"), required=False, min_value=1, max_value=MAX_DAYS)
    percent = forms.IntegerField(
        label=_("消费前百分之几（大客户，默认 10）"), required=False, min_value=1, max_value=50
    )

    def __init__(self, *args, shop, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["product"].queryset = Product.objects.filter(shop=shop).order_by("name")


class TagRuleUpdateForm(forms.Form):
    is_active = forms.BooleanField(label=_("启用"), required=False)


class InviteForm(forms.Form):
    group = forms.ModelChoiceField(label=_("邀请进入的群"), queryset=Group.objects.none())

    def __init__(self, *args, shop, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["group"].queryset = Group.objects.filter(shop=shop).order_by("-pk")


class BroadcastForm(forms.Form):
    group = forms.ModelChoiceField(label=_("发给一个群"), queryset=Group.objects.none(), required=False)
    segment = forms.ModelChoiceField(label=_("或发给一个人群"), queryset=Segment.objects.none(), required=False)
    title = forms.CharField(label=_("标题"), max_length=60)
    body = forms.CharField(label=_("内容"), max_length=500, widget=forms.Textarea(attrs={"rows": 4}))

    def __init__(self, *args, shop, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["group"].queryset = Group.objects.filter(shop=shop).order_by("-pk")
        self.fields["segment"].queryset = Segment.objects.filter(shop=shop).order_by("name")

    def clean(self):
        cleaned = super().clean()
        if bool(cleaned.get("group")) == bool(cleaned.get("segment")):
            raise forms.ValidationError(_("请选择一个群或一个人群（二选一）。"))
        return cleaned
