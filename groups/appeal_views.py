"""The dashboard's warning appeals (群规申诉): operators read their shop's appeals and decide each once.

Scoped to the operator's shop through groups.selectors (another shop's appeal is a 404); deciding takes a
write role and goes through groups.enforcement.decide_appeal, which records it in the audit log.
"""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from shops.models import OperatorRole
from shops.tenancy import operator_required

from . import enforcement, selectors
from .models import AppealState

PAGE_SIZE = 50


@operator_required(OperatorRole.VIEWER)
@require_GET
def warning_appeals(request):
    state = request.GET.get("state") or AppealState.OPEN
    if state not in AppealState.values and state != "all":
        state = AppealState.OPEN
    appeals = selectors.appeals_for_shop(request.shop, state=None if state == "all" else state)
    page = Paginator(appeals, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "groups/dashboard/appeals.html",
        {
            "page": page,
            "state": state,
            "states": [*AppealState.choices, ("all", _("全部"))],
            "can_decide": request.operator.can(OperatorRole.OPERATOR),
            "limit": enforcement.warnings_before_removal(request.shop.pk),
        },
    )


@operator_required(OperatorRole.OPERATOR)
@require_POST
def decide_warning_appeal(request, pk: int):
    appeal = selectors.appeal_for_shop(request.shop, pk)
    decision = request.POST.get("decision")
    if decision not in ("withdraw", "uphold"):
        messages.error(request, _("请选择撤销警告或维持警告。"))
        return redirect("dashboard:warning_appeals")
    try:
        enforcement.decide_appeal(
            appeal=appeal, by=request.user, withdraw=decision == "withdraw", note=request.POST.get("note", "")
        )
    except ValidationError as error:
        messages.error(request, "；".join(error.messages))
    else:
        messages.success(request, _("申诉已处理。"))
    return redirect("dashboard:warning_appeals")
