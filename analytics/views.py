"""The operators' analytics pages (数据分析): funnel, repeat purchase, cohorts, campaign ROI, group ranking.

Read-only for every role, so any seat may open them (viewers included); each reads its own shop's fact
tables only, a group or campaign of another shop is a 404, and `?export=<table>` downloads a table as CSV.
The tables are the page: the charts are drawn from them in the browser, and without JavaScript the tables
remain. Each page runs a fixed number of queries, whatever the shop's volume.
"""

from django.http import Http404
from django.shortcuts import get_object_or_404, render
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_GET

from campaigns.models import Campaign
from shops.models import OperatorRole
from shops.tenancy import operator_required

from . import forms, reports, selectors
from .tables import csv_response

PAGES = [
    ("analytics_funnel", _("转化漏斗")),
    ("analytics_repeat", _("复购")),
    ("analytics_cohorts", _("同期群留存")),
    ("analytics_campaigns", _("活动投入产出")),
    ("analytics_groups", _("社群排行")),
]


def _render(request, *, title, form, build, slug, extra=None):
    report = build(form.cleaned_data) if form.is_valid() else None
    export = request.GET.get("export")
    if export:
        table = report.table(export) if report else None
        if table is None:
            raise Http404(_("没有这张表。"))
        return csv_response(table, f"{slug}-{table.key}-{form.cleaned_data['start']:%Y%m%d}")
    query = request.GET.copy()
    query.pop("export", None)
    if report is not None:
        # Show the dates actually used (the defaults fill empty fields) in the filter's inputs.
        shown = query.copy()
        for name in ("start", "end", "compare_start", "compare_end"):
            if form.cleaned_data.get(name) and not shown.get(name):
                shown[name] = form.cleaned_data[name].isoformat()
        form.data = shown
    return render(
        request,
        "analytics/report.html",
        {"title": title, "form": form, "report": report, "pages": PAGES, "query": query.urlencode(), **(extra or {})},
    )


@operator_required(OperatorRole.VIEWER)
@require_GET
def funnel(request):
    shop_id = request.shop.pk
    form = forms.FunnelForm(request.GET, shop=request.shop, groups=selectors.groups_of(shop_id))
    return _render(request, title=_("转化漏斗"), form=form, slug="funnel", build=lambda f: reports.funnel(shop_id, f))


@operator_required(OperatorRole.VIEWER)
@require_GET
def repeat(request):
    shop_id = request.shop.pk
    groups = selectors.groups_of(shop_id)
    form = forms.RepeatForm(request.GET, shop=request.shop)
    return _render(
        request, title=_("复购"), form=form, slug="repeat", build=lambda f: reports.repeat(shop_id, f, groups)
    )


@operator_required(OperatorRole.VIEWER)
@require_GET
def cohorts(request):
    shop_id = request.shop.pk
    form = forms.CohortForm(request.GET, shop=request.shop, groups=selectors.groups_of(shop_id))
    return _render(
        request, title=_("同期群留存"), form=form, slug="cohorts", build=lambda f: reports.cohorts(shop_id, f)
    )


@operator_required(OperatorRole.VIEWER)
@require_GET
def campaigns(request):
    shop_id = request.shop.pk
    form = forms.CampaignForm(request.GET, shop=request.shop)
    return _render(
        request,
        title=_("活动投入产出"),
        form=form,
        slug="campaigns",
        build=lambda f: reports.campaign_roi(shop_id, f),
    )


@operator_required(OperatorRole.VIEWER)
@require_GET
def campaign_detail(request, pk: int):
    campaign = get_object_or_404(Campaign, shop=request.shop, pk=pk)
    form = forms.CampaignLifeForm(request.GET, shop=request.shop)
    return _render(
        request,
        title=_("活动拉动：%(name)s") % {"name": campaign.name},
        form=form,
        slug=f"campaign-{campaign.pk}",
        build=lambda f: reports.campaign_daily(request.shop.pk, campaign, f),
        extra={"campaign": campaign},
    )


@operator_required(OperatorRole.VIEWER)
@require_GET
def groups(request):
    shop_id = request.shop.pk
    groups = selectors.groups_of(shop_id)
    form = forms.RankingForm(request.GET, shop=request.shop)
    return _render(
        request,
        title=_("社群排行"),
        form=form,
        slug="groups",
        build=lambda f: reports.group_ranking(shop_id, f, groups),
    )
