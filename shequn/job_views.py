"""The operators' jobs page: each periodic job's last run, duration, items processed and failures, and
each outbox's backlog and failures.

Runs serve every shop at once: an operator sees the counts of their own shop (`JobRun.shop_items`) and the
job's health (status, duration, failures); error texts, which may name anything, only platform staff see.
Outbox figures are the shop's own rows (with their last error, which is about the shop's own messages and
payments); platform staff see every shop's.
"""

from django.core.paginator import Paginator
from django.shortcuts import render
from django.views.decorators.http import require_GET

from shops.models import OperatorRole
from shops.tenancy import operator_required

from . import jobs, outboxes

PAGE_SIZE = 50


@operator_required(OperatorRole.VIEWER)
@require_GET
def job_list(request):
    shop_key = str(request.shop.pk)
    platform_wide = request.user.is_staff
    page = Paginator(jobs.recent_runs(), PAGE_SIZE).get_page(request.GET.get("page"))
    for run in page:
        run.label = jobs.JOB_LABELS.get(run.job, run.job)
        run.this_shop = run.shop_items.get(shop_key, 0)
    return render(
        request,
        "shequn/dashboard/jobs.html",
        {
            "jobs": jobs.job_overview(shop_id=request.shop.pk),
            "outboxes": outboxes.outboxes(shop_id=None if platform_wide else request.shop.pk),
            "platform_wide": platform_wide,
            "page": page,
            "show_errors": request.user.is_staff,
        },
    )
