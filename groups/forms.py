"""Dashboard forms. They parse and check input shape only; the services decide what is allowed."""

import re

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from shequn import images
from shequn.bounds import MAX_GROUP_SIZE, MAX_LINK_USES
from shops.models import Shop

from .models import Channel, GroupSeries, GroupState, MemberRole, MembershipStatus, Purpose, Tag, Threshold
from .selectors import series_for_shop, tags_for_shop
from .services import validate_group_settings

TAG_NAME_MAX = Tag._meta.get_field("name").max_length
# Operators type tags with ASCII or Chinese commas (or the enumeration comma).
TAG_SEPARATORS = re.compile(r"[,，、;；]")
# Channels an operator may pick for a new link: the series code is made with the series, and
# "direct" means added by hand, not through a link.
LINK_CHANNELS = [
    (value, label) for value, label in Channel.choices if value not in (Channel.SERIES_CODE, Channel.DIRECT)
]


def parse_tag_names(raw: str) -> list[str]:
    """Distinct, trimmed names in the order typed."""
    names: list[str] = []
    for part in TAG_SEPARATORS.split(raw or ""):
        name = part.strip()
        if name and name not in names:
            names.append(name)
    return names


class ShopTagsMixin:
    """A `tags` choice of the shop's tags plus `new_tags`, a comma-separated text of names to add."""

    def _setup_tags(self, shop: Shop) -> None:
        self.fields["tags"].queryset = tags_for_shop(shop)

    def clean_new_tags(self) -> list[str]:
        names = parse_tag_names(self.cleaned_data.get("new_tags", ""))
        too_long = [n for n in names if len(n) > TAG_NAME_MAX]
        if too_long:
            raise forms.ValidationError(
                _("标签名最多 %(n)d 个字：%(names)s") % {"n": TAG_NAME_MAX, "names": "、".join(too_long)}
            )
        return names


def _tags_field():
    return forms.ModelMultipleChoiceField(
        label=_("标签"), queryset=Tag.objects.none(), required=False, widget=forms.CheckboxSelectMultiple
    )


def _new_tags_field():
    return forms.CharField(
        label=_("新增标签"),
        required=False,
        max_length=300,
        help_text=_("用逗号分隔多个标签名，保存时自动创建。"),
        widget=forms.TextInput(attrs={"placeholder": _("例如：宝妈，复购客户")}),
    )


class GroupSettingsForm(ShopTagsMixin, forms.Form):
    """The settings a group and a series template share (GroupSettingsFields)."""

    purpose = forms.ChoiceField(label=_("目的"), choices=Purpose.choices, initial=Purpose.SALES)
    kind = forms.CharField(label=_("类型"), max_length=30, required=False, help_text=_("如 兴趣、产品、学习、品牌"))
    description = forms.CharField(label=_("介绍"), required=False, widget=forms.Textarea(attrs={"rows": 3}))
    rules = forms.CharField(label=_("群规"), required=False, widget=forms.Textarea(attrs={"rows": 3}))
    capacity = forms.IntegerField(label=_("容量"), min_value=2, max_value=MAX_GROUP_SIZE)
    tags = _tags_field()
    new_tags = _new_tags_field()
    threshold = forms.ChoiceField(label=_("入群门槛"), choices=Threshold.choices, initial=Threshold.OPEN)
    entry_price = forms.DecimalField(
        label=_("入群费（元）"), required=False, max_digits=10, decimal_places=2, help_text=_("仅付费入群需要填写。")
    )
    entry_question = forms.CharField(
        label=_("审核问题/提交要求"),
        max_length=200,
        required=False,
        help_text=_("运营审核或提交审核的群，申请人需要回答此问题。"),
    )
    welcome_message = forms.CharField(
        label=_("入群欢迎语"),
        max_length=1000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("成员入群（或申请通过）时收到的消息；留空则不发送。"),
    )

    SETTINGS_FIELDS = (
        "purpose",
        "kind",
        "description",
        "rules",
        "capacity",
        "threshold",
        "entry_price",
        "entry_question",
        "welcome_message",
    )

    def __init__(self, *args, shop: Shop, active_member_count: int = 0, **kwargs):
        super().__init__(*args, **kwargs)
        self.shop = shop
        self.active_member_count = active_member_count
        self._setup_tags(shop)
        if not self.is_bound and "capacity" not in self.initial:
            self.initial["capacity"] = shop.settings.default_group_capacity

    def clean(self):
        """Ask the service's own rule early, so every problem shows at once (the service checks again)."""
        data = super().clean()
        checked = ("capacity", "threshold", "entry_price", "entry_question")
        if any(name in self.errors for name in checked):
            return data
        try:
            validate_group_settings(
                shop=self.shop,
                active_member_count=self.active_member_count,
                **{name: data.get(name) for name in checked},
            )
        except ValidationError as error:
            for field, errors in error.error_dict.items():
                self.add_error(field if field in self.fields else None, errors)
        return data

    def settings_values(self) -> dict:
        return {name: self.cleaned_data[name] for name in self.SETTINGS_FIELDS}


class GroupForm(GroupSettingsForm):
    name = forms.CharField(label=_("群名称"), max_length=60)
    # A plain file input: leaving it empty keeps the current cover (no "clear" box to misread).
    # A plain file field: shequn.images decides what an image is (clean_cover), here so that its error
    # shows with the others.
    cover = forms.FileField(
        label=_("封面"),
        required=False,
        widget=forms.FileInput(attrs={"accept": "image/*"}),
        help_text=_("JPG/PNG 图片，用于分享海报。"),
    )

    field_order = [
        "name",
        "purpose",
        "kind",
        "description",
        "rules",
        "cover",
        "capacity",
        "tags",
        "new_tags",
        "threshold",
        "entry_price",
        "entry_question",
        "welcome_message",
    ]

    def clean_cover(self):
        """The cover as it will be stored: checked, stripped, renamed, no larger than pages and posters need."""
        cover = self.cleaned_data.get("cover")
        return images.clean_image(cover, bounds=images.COVER) if cover else cover


class SeriesForm(GroupSettingsForm):
    name = forms.CharField(label=_("系列名称"), max_length=60)
    rotation_threshold = forms.IntegerField(
        label=_("轮换阈值"),
        min_value=1,
        max_value=MAX_GROUP_SIZE,
        required=False,
        help_text=_("新成员进入第一个人数低于此值的群；全部达到时自动开新群。留空则用本店默认值。"),
    )

    field_order = [
        "name",
        "rotation_threshold",
        "purpose",
        "kind",
        "description",
        "rules",
        "capacity",
        "tags",
        "new_tags",
        "threshold",
        "entry_price",
        "entry_question",
        "welcome_message",
    ]


class GroupFilterForm(forms.Form):
    """GET filters of the group list; an invalid value is ignored rather than refused."""

    q = forms.CharField(label=_("搜索群名"), required=False, max_length=60)
    state = forms.ChoiceField(label=_("状态"), required=False, choices=[("", _("全部状态"))] + GroupState.choices)
    tag = forms.ModelChoiceField(
        label=_("标签"), required=False, queryset=Tag.objects.none(), empty_label=_("全部标签")
    )
    series = forms.ModelChoiceField(
        label=_("系列"), required=False, queryset=GroupSeries.objects.none(), empty_label=_("全部系列")
    )

    def __init__(self, *args, shop: Shop, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["tag"].queryset = tags_for_shop(shop)
        # Only names are needed here: drop the selector's prefetches.
        self.fields["series"].queryset = series_for_shop(shop).prefetch_related(None)

    def filters(self) -> dict:
        if not self.is_valid():
            return {}
        data = self.cleaned_data
        return {
            "q": data["q"].strip() or None,
            "state": data["state"] or None,
            "tag_id": data["tag"].pk if data["tag"] else None,
            "series_id": data["series"].pk if data["series"] else None,
        }


class MemberFilterForm(forms.Form):
    status = forms.ChoiceField(
        label=_("状态"), required=False, choices=[("", _("全部状态"))] + MembershipStatus.choices
    )


class TransitionForm(forms.Form):
    to_state = forms.ChoiceField(label=_("新状态"), choices=GroupState.choices)
    reason = forms.CharField(label=_("原因"), max_length=200, required=False)


class LinkForm(forms.Form):
    channel = forms.ChoiceField(label=_("渠道"), choices=LINK_CHANNELS, initial=Channel.OPERATOR)
    label = forms.CharField(
        label=_("备注"),
        max_length=60,
        required=False,
        widget=forms.TextInput(attrs={"placeholder": _("例如：6月包裹卡")}),
    )
    expires_at = forms.DateTimeField(
        label=_("过期时间"),
        required=False,
        input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%Y-%m-%d"],
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        help_text=_("留空则长期有效。"),
    )
    max_uses = forms.IntegerField(
        label=_("最多使用次数"), min_value=1, max_value=MAX_LINK_USES, required=False, help_text=_("留空则不限。")
    )


class MemberActionForm(forms.Form):
    """Optional parameters of a member action; which ones matter depends on the action."""

    reason = forms.CharField(label=_("原因"), max_length=200, required=False)
    role = forms.ChoiceField(label=_("角色"), choices=MemberRole.choices, required=False)
    tags = forms.ModelMultipleChoiceField(label=_("标签"), queryset=Tag.objects.none(), required=False)

    def __init__(self, *args, shop: Shop, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["tags"].queryset = tags_for_shop(shop)
