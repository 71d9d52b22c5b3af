"""The operators' jobs page: each periodic job's last run, duration, items processed and failures, and
each outbox's backlog and failures.

Runs serve every shop at once: an operator sees the counts of their own shop (`JobRun.shop_items`) and the
job's health (status, duration, failures); error texts, which may name anything, only platform staff see.
Outbox figures are the shop's own rows (with their last error, which is about the shop's own messages and
payments); platform staff see every shop's.
"""

from django.core.paginator import Paginator
from django.shortcuts import render
from django.utils.translation import ngettext
from django.views.decorators.http import require_GET

from shops.models import OperatorRole
from shops.tenancy import operator_required

from . import jobs, outboxes

PAGE_SIZE = 50


UNITS = (
    (86400, lambda n: ngettext("每 %(n)d 天", "每 %(n)d 天", n)),
    (3600, lambda n: ngettext("每 %(n)d 小时", "每 %(n)d 小时", n)),
    (60, lambda n: ngettext("每 %(n)d 分钟", "每 %(n)d 分钟", n)),
    (1, lambda n: ngettext("每 %(n)d 秒", "每 %(n)d 秒", n)),
)


def every_text(every) -> str:
    """A job's interval in the largest whole unit: 每 6 小时, not 每 21600 秒."""
    seconds = int(every.total_seconds())
    for size, words in UNITS:
        if seconds >= size and seconds % size == 0:
            return words(seconds // size) % {"n": seconds // size}
    return UNITS[-1][1](seconds) % {"n": seconds}


@operator_required(OperatorRole.VIEWER)
@require_GET
def job_list(request):
    shop_key = str(request.shop.pk)
    platform_wide = request.user.is_staff
    page = Paginator(jobs.recent_runs(), PAGE_SIZE).get_page(request.GET.get("page"))
    overview = jobs.job_overview(shop_id=request.shop.pk)
    for job in overview:
        job["every_text"] = every_text(job["every"]) if job["every"] else ""
    for run in page:
        run.label = jobs.JOB_LABELS.get(run.job, run.job)
        run.this_shop = run.shop_items.get(shop_key, 0)
    return render(
        request,
        "shequn/dashboard/jobs.html",
        {
            "jobs": overview,
            "outboxes": outboxes.outboxes(shop_id=None if platform_wide else request.shop.pk),
            "platform_wide": platform_wide,
            "page": page,
            "show_errors": request.user.is_staff,
        },
    )
