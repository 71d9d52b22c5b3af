"""The analytics figures as JSON for a mini-program or BI tool: /api/v1/shop/analytics/….

The same filters (query string) and the same tables as the dashboard pages, with raw values: money in fen,
percentages as numbers. Any seat of the shop may read (the reports are read-only); another shop's group or
campaign is a 404; an invalid filter is a 400 with one message per field.
"""

from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response
from rest_framework.views import APIView

from campaigns.models import Campaign
from shequn.api import DENIED, INVALID, NOT_FOUND
from shequn.shop_api import IsShopOperator

from . import forms, reports, selectors
from .tables import as_json

_COLUMN = inline_serializer(
    "AnalyticsColumn",
    {
        "key": serializers.CharField(),
        "label": serializers.CharField(),
        "kind": serializers.ChoiceField(choices=["int", "fen", "pct", "ratio", "days", "text", "date"]),
    },
)
REPORT = inline_serializer(
    "AnalyticsReport",
    {
        "tables": inline_serializer(
            "AnalyticsTable",
            {
                "key": serializers.CharField(),
                "title": serializers.CharField(),
                "columns": _COLUMN.__class__(many=True),
                "rows": serializers.ListField(child=serializers.DictField(), help_text="One object per row, by key."),
                "chart": serializers.DictField(allow_null=True),
            },
            many=True,
        )
    },
)


def _parameters(form_class) -> list[OpenApiParameter]:
    types = {"DateField": OpenApiTypes.DATE, "IntegerField": OpenApiTypes.INT}
    found = []
    for name, field in form_class.base_fields.items():
        choices = [value for value, _label in getattr(field, "choices", []) if value]
        found.append(
            OpenApiParameter(
                name,
                types.get(type(field).__name__, OpenApiTypes.STR),
                description=str(field.label),
                enum=choices or None,
            )
        )
    return found


class _ReportView(APIView):
    permission_classes = [IsShopOperator]
    http_method_names = ["get", "head", "options"]
    form_class = forms.RangeForm
    with_groups = False

    def build(self, request, data, **kwargs):
        raise NotImplementedError

    def get(self, request, **kwargs):
        groups = selectors.groups_of(request.shop.pk) if self.with_groups else None
        form = self.form_class(request.query_params, shop=request.shop, groups=groups)
        if not form.is_valid():
            raise ValidationError({("non_field_errors" if k == "__all__" else k): v for k, v in form.errors.items()})
        return Response(as_json(self.build(request, form.cleaned_data, groups=groups, **kwargs)))


def _documented(operation_id: str, form_class, summary: str, path_params=()):
    """Give the view its own GET, documented with its form's query parameters."""

    def decorate(view_class):
        def get(self, request, **kwargs):
            return _ReportView.get(self, request, **kwargs)

        view_class.get = extend_schema(
            operation_id=operation_id,
            summary=summary,
            parameters=[*path_params, *_parameters(form_class)],
            responses={200: REPORT, 400: INVALID, 403: DENIED, 404: NOT_FOUND},
            tags=["analytics"],
        )(get)
        return view_class

    return decorate


@_documented("shop_analytics_funnel", forms.FunnelForm, "Funnel: opens → joins → orders → referrals")
class FunnelView(_ReportView):
    form_class = forms.FunnelForm
    with_groups = True

    def build(self, request, data, **kwargs):
        return reports.funnel(request.shop.pk, data)


@_documented("shop_analytics_repeat", forms.RepeatForm, "Repeat rate, purchase intervals, reminders")
class RepeatView(_ReportView):
    form_class = forms.RepeatForm

    def build(self, request, data, **kwargs):
        return reports.repeat(request.shop.pk, data, selectors.groups_of(request.shop.pk))


@_documented("shop_analytics_cohorts", forms.CohortForm, "Cohort retention by week")
class CohortView(_ReportView):
    form_class = forms.CohortForm
    with_groups = True

    def build(self, request, data, **kwargs):
        return reports.cohorts(request.shop.pk, data)


@_documented("shop_analytics_campaigns", forms.CampaignForm, "Campaign ROI and decay")
class CampaignRoiView(_ReportView):
    form_class = forms.CampaignForm

    def build(self, request, data, **kwargs):
        return reports.campaign_roi(request.shop.pk, data)


@_documented(
    "shop_analytics_campaign",
    forms.CampaignLifeForm,
    "One campaign's daily pull",
    path_params=[OpenApiParameter("id", OpenApiTypes.INT, OpenApiParameter.PATH)],
)
class CampaignDailyView(_ReportView):
    form_class = forms.CampaignLifeForm

    def build(self, request, data, *, pk: int, **kwargs):
        campaign = get_object_or_404(Campaign, shop=request.shop, pk=pk)
        return reports.campaign_daily(request.shop.pk, campaign, data)


@_documented("shop_analytics_groups", forms.RankingForm, "Groups ranked, with health history")
class GroupRankingView(_ReportView):
    form_class = forms.RankingForm

    def build(self, request, data, **kwargs):
        return reports.group_ranking(request.shop.pk, data, selectors.groups_of(request.shop.pk))
