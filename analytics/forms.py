"""The analytics filters, read from the query string by the pages and the API alike.

Each form takes the operator's shop: a group or campaign of another shop is a 404, as everywhere else.
Empty fields take defaults (the last 30 days; the range before it to compare with).
"""

from datetime import timedelta

from django import forms
from django.core.exceptions import ValidationError
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from campaigns.models import Campaign, CampaignType
from groups.models import Channel
from shequn.bounds import MAX_ID

MAX_DAYS = 366


class RangeForm(forms.Form):
    start = forms.DateField(label=_("开始日期"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    end = forms.DateField(label=_("结束日期"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    default_days = 30

    def __init__(self, data, *, shop, groups=None):
        super().__init__(data)
        self.shop = shop
        self.groups = groups or {}
        if "group" in self.fields:
            choices = [("", _("全部群")), *((pk, g.name) for pk, g in self.groups.items())]
            self.fields["group"].widget = forms.Select(choices=choices)

    def clean(self):
        data = super().clean()
        end = data.get("end") or timezone.localdate()
        start = data.get("start") or end - timedelta(days=self.default_days - 1)
        if start > end:
            raise ValidationError(_("开始日期不能晚于结束日期。"))
        if (end - start).days >= MAX_DAYS:
            raise ValidationError(_("日期范围不能超过 %(n)d 天。") % {"n": MAX_DAYS})
        data["start"], data["end"] = start, end
        return data

    def group_or_404(self, value):
        if value is None:
            return None
        if value not in self.groups:
            raise Http404(_("本店没有这个群。"))
        return self.groups[value]


class GroupFilterMixin(forms.Form):
    group = forms.IntegerField(label=_("群"), required=False, min_value=1, max_value=MAX_ID)

    def clean_group(self):
        return self.group_or_404(self.cleaned_data.get("group"))


class FunnelForm(GroupFilterMixin, RangeForm):
    channel = forms.ChoiceField(label=_("渠道"), required=False, choices=[("", _("全部渠道")), *Channel.choices])
    campaign = forms.IntegerField(label=_("活动"), required=False, min_value=1, max_value=MAX_ID)
    compare_start = forms.DateField(label=_("对比开始"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    compare_end = forms.DateField(label=_("对比结束"), required=False, widget=forms.DateInput(attrs={"type": "date"}))

    def __init__(self, data, *, shop, groups=None):
        super().__init__(data, shop=shop, groups=groups)
        self.campaigns = {c.pk: c for c in Campaign.objects.filter(shop=shop).only("pk", "name", "type", "shop_id")}
        choices = [("", _("全部活动")), *((pk, c.name) for pk, c in self.campaigns.items())]
        self.fields["campaign"].widget = forms.Select(choices=choices)

    def clean_campaign(self):
        value = self.cleaned_data.get("campaign")
        if value is None:
            return None
        if value not in self.campaigns:
            raise Http404(_("本店没有这个活动。"))
        return self.campaigns[value]

    def clean(self):
        data = super().clean()
        if self.errors:
            return data
        length = data["end"] - data["start"]
        compare_end = data.get("compare_end") or data["start"] - timedelta(days=1)
        compare_start = data.get("compare_start") or compare_end - length
        if compare_start > compare_end:
            raise ValidationError(_("对比开始日期不能晚于对比结束日期。"))
        if (compare_end - compare_start).days >= MAX_DAYS:
            raise ValidationError(_("日期范围不能超过 %(n)d 天。") % {"n": MAX_DAYS})
        data["compare_start"], data["compare_end"] = compare_start, compare_end
        return data


class RepeatForm(RangeForm):
    default_days = 90
    reminder_days = forms.IntegerField(
        label=_("提醒后几天内算作提醒带来"), required=False, min_value=1, max_value=90, initial=7
    )

    def clean_reminder_days(self):
        return self.cleaned_data.get("reminder_days") or 7


class CohortForm(GroupFilterMixin, RangeForm):
    default_days = 84
    basis = forms.ChoiceField(
        label=_("分组依据"),
        required=False,
        choices=[("join", _("入群周")), ("first_order", _("首单周"))],
    )
    measure = forms.ChoiceField(
        label=_("留存口径"),
        required=False,
        choices=[("order", _("有付款订单")), ("activity", _("有任何互动"))],
    )
    weeks = forms.IntegerField(label=_("观察周数"), required=False, min_value=1, max_value=26, initial=8)

    def clean_basis(self):
        return self.cleaned_data.get("basis") or "join"

    def clean_measure(self):
        return self.cleaned_data.get("measure") or "order"

    def clean_weeks(self):
        return self.cleaned_data.get("weeks") or 8


class CampaignForm(RangeForm):
    default_days = 90
    type = forms.ChoiceField(label=_("活动类型"), required=False, choices=[("", _("全部类型")), *CampaignType.choices])


RANKINGS = [
    ("revenue", _("成交额")),
    ("activity", _("活跃度")),
    ("repeat_rate", _("复购率")),
    ("trend", _("健康趋势")),
]


class RankingForm(RangeForm):
    sort = forms.ChoiceField(label=_("排序"), required=False, choices=RANKINGS)

    def clean_sort(self):
        return self.cleaned_data.get("sort") or "revenue"


class CampaignLifeForm(RangeForm):
    """One campaign's days: by default the whole longest range, which a campaign's life fits in."""

    default_days = MAX_DAYS
