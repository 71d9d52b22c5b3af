"""Forms for choosing a leaderboard (dashboard, platform and member pages)."""

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from groups.models import Group, GroupSeries
from shequn import hooks
from shops.models import Shop

from .leaderboards.boards import Board, BoardError, Metric, Period, Scope

MEMBER_PERIODS = [(p, label) for p, label in Period.choices if p != Period.CUSTOM]


class BoardForm(forms.Form):
    """Which board: metric, scope (with its group, series or campaign) and period. Always yields a board:
    with no choices (or invalid ones, whose errors the page shows) the shop's all-time qualified board."""

    metric = forms.ChoiceField(label=_("指标"), choices=Metric.choices, initial=Metric.QUALIFIED, required=False)
    scope = forms.ChoiceField(label=_("范围"), choices=Scope.choices, initial=Scope.SHOP, required=False)
    group = forms.ModelChoiceField(
        label=_("群"), queryset=Group.objects.none(), required=False, empty_label=_("选择群")
    )
    series = forms.ModelChoiceField(
        label=_("群活码系列"), queryset=GroupSeries.objects.none(), required=False, empty_label=_("选择系列")
    )
    campaign = forms.TypedChoiceField(label=_("活动"), coerce=int, required=False, empty_value=None)
    period = forms.ChoiceField(label=_("周期"), choices=Period.choices, initial=Period.ALL, required=False)
    day = forms.DateField(
        label=_("日期"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text=_("日榜、周榜、月榜：所在的那一天、那一周、那一月；留空为今天。"),
    )
    start = forms.DateField(label=_("开始日期"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    end = forms.DateField(label=_("结束日期"), required=False, widget=forms.DateInput(attrs={"type": "date"}))

    def __init__(self, data=None, *, shop: Shop, **kwargs):
        super().__init__(data, **kwargs)
        self.shop = shop
        self.fields["group"].queryset = Group.objects.filter(shop=shop).order_by("name", "pk")
        self.fields["series"].queryset = GroupSeries.objects.filter(shop=shop).order_by("name", "pk")
        # The campaigns app answers with the shop's campaigns (the campaign_choices hook): referrals knows
        # nothing of campaigns, and the board's campaign is picked from a list, not typed as a number.
        campaigns = [choice for answer in hooks.campaign_choices.answers(shop.pk) for choice in answer]
        self.fields["campaign"].choices = [("", _("选择活动")), *campaigns]

    def clean(self):
        data = super().clean()
        if self.errors:
            return data
        scope = data.get("scope") or Scope.SHOP
        scope_id = {
            Scope.GROUP: getattr(data.get("group"), "pk", None),
            Scope.SERIES: getattr(data.get("series"), "pk", None),
            Scope.CAMPAIGN: data.get("campaign"),
        }.get(scope)
        try:
            data["board"] = Board.of(
                shop_id=self.shop.pk,
                metric=data.get("metric") or Metric.QUALIFIED,
                scope=scope,
                scope_id=scope_id,
                period=data.get("period") or Period.ALL,
                day=data.get("day"),
                start=data.get("start"),
                end=data.get("end"),
            )
        except BoardError as error:
            raise forms.ValidationError(str(error.args[0])) from error
        return data

    def board(self) -> Board:
        if self.is_bound and self.is_valid():
            return self.cleaned_data["board"]
        return Board.of(shop_id=self.shop.pk)

    def query(self) -> str:
        """The chosen board as a query string, for links to the export and back."""
        return self.data.urlencode() if self.is_bound and hasattr(self.data, "urlencode") else ""


class PlatformShopForm(forms.Form):
    shop = forms.ModelChoiceField(
        label=_("店铺"), queryset=Shop.objects.order_by("name", "pk"), required=False, empty_label=None
    )


class MemberBoardForm(forms.Form):
    """A member's choice on the phone page: which of their shops (or groups), what, over when."""

    metric = forms.ChoiceField(choices=Metric.choices, initial=Metric.QUALIFIED, required=False)
    period = forms.ChoiceField(choices=MEMBER_PERIODS, initial=Period.WEEK, required=False)

    def board(self, *, shop_id: int, group_id: int | None) -> Board:
        data = self.cleaned_data if self.is_bound and self.is_valid() else {}
        return Board.of(
            shop_id=shop_id,
            metric=data.get("metric") or Metric.QUALIFIED,
            scope=Scope.GROUP if group_id else Scope.SHOP,
            scope_id=group_id,
            period=data.get("period") or Period.WEEK,
            day=timezone.localdate(),
        )
