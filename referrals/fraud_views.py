"""Fraud review pages: the queue of flags, a flag with its events and the decision, the shop's thresholds.

Operators see and decide their own shop's flags (viewers read only); platform admins see every shop's.
A flag of another shop is a 404. Deciding goes through `fraud.decide`, which records who and why.
"""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from shops.models import OperatorRole
from shops.tenancy import operator_required

from . import fraud
from .board_views import staff_required
from .fraud_forms import DecisionForm, FlagFilterForm, FraudSettingsForm
from .fraud_models import FlagStatus

PAGE_SIZE = 50
VIEWER, OPERATOR, OWNER = OperatorRole.VIEWER, OperatorRole.OPERATOR, OperatorRole.OWNER


def _list(request, flags, *, platform: bool, filter_form: FlagFilterForm):
    page = Paginator(flags, PAGE_SIZE).get_page(request.GET.get("page"))
    for flag in page:
        flag.explanation = fraud.explain(flag)
        flag.url = (
            reverse("platform:fraud_flag", args=[flag.pk])
            if platform
            else reverse("dashboard:fraud_flag", args=[flag.pk])
        )
    return render(
        request,
        "referrals/fraud/flag_list.html",
        {
            "page": page,
            "filter_form": filter_form,
            "platform": platform,
            "list_url": reverse("platform:fraud_flags" if platform else "dashboard:fraud_flags"),
        },
    )


def _detail(request, flag, *, platform: bool, can_decide: bool, form: DecisionForm | None = None, status=200):
    events = Paginator(fraud.flag_events(flag), PAGE_SIZE).get_page(request.GET.get("page"))
    if platform:
        member_url = reverse("platform:member", args=[flag.shop_id, flag.member_id]) if flag.member_id else ""
        decide_url, list_url = reverse("platform:fraud_decide", args=[flag.pk]), reverse("platform:fraud_flags")
    else:
        member_url = reverse("dashboard:leaderboard_member", args=[flag.member_id]) if flag.member_id else ""
        decide_url, list_url = reverse("dashboard:fraud_decide", args=[flag.pk]), reverse("dashboard:fraud_flags")
    return render(
        request,
        "referrals/fraud/flag_detail.html",
        {
            "flag": flag,
            "explanation": fraud.explain(flag),
            "events": events,
            "platform": platform,
            "can_decide": can_decide and flag.status == FlagStatus.OPEN,
            "form": form or DecisionForm(),
            "member_url": member_url,
            "decide_url": decide_url,
            "list_url": list_url,
        },
        status=status,
    )


def _add_errors(form, error: ValidationError) -> None:
    if hasattr(error, "error_dict"):
        for field, errors in error.error_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    else:
        form.add_error(None, error.messages)


def _decide(request, flag, *, platform: bool):
    form = DecisionForm(request.POST)
    if form.is_valid():
        try:
            flag = fraud.decide(
                flag=flag, action=form.cleaned_data["action"], by=request.user, reason=form.cleaned_data["reason"]
            )
        except ValidationError as error:
            _add_errors(form, error)
        else:
            if flag.status == FlagStatus.CONFIRMED:
                messages.success(
                    request, _("已确认，作废了 %(n)d 条事件，它们已离开所有榜单。") % {"n": flag.voided_count}
                )
            else:
                messages.success(request, _("已排除该标记。"))
            return redirect(reverse("platform:fraud_flag" if platform else "dashboard:fraud_flag", args=[flag.pk]))
    return _detail(request, flag, platform=platform, can_decide=True, form=form, status=400)


# --- Operators -------------------------------------------------------------------------------------


@operator_required(VIEWER)
@require_GET
def flag_list(request):
    filter_form = FlagFilterForm(request.GET or None)
    return _list(
        request, fraud.flags_for_shop(request.shop, **filter_form.filters()), platform=False, filter_form=filter_form
    )


@operator_required(VIEWER)
@require_GET
def flag_detail(request, pk: int):
    flag = fraud.flag_for_shop(request.shop, pk)
    return _detail(request, flag, platform=False, can_decide=request.operator.can(OPERATOR))


@operator_required(OPERATOR)
@require_POST
def flag_decide(request, pk: int):
    return _decide(request, fraud.flag_for_shop(request.shop, pk), platform=False)


@operator_required(VIEWER)
def fraud_settings_page(request):
    current = fraud.fraud_settings(request.shop.pk)
    can_edit = request.operator.can(OWNER)
    form = FraudSettingsForm(request.POST or None, instance=current)
    if request.method == "POST":
        if not can_edit:
            return render(request, "referrals/fraud/settings.html", {"form": form, "can_edit": False}, status=403)
        if form.is_valid():
            try:
                values = {name: form.cleaned_data[name] for name in fraud.SETTINGS_FIELDS}
                fraud.update_fraud_settings(shop=request.shop, by=request.user, **values)
            except ValidationError as error:
                _add_errors(form, error)
            else:
                messages.success(request, _("风控设置已保存。"))
                return redirect("dashboard:fraud_settings")
    return render(
        request,
        "referrals/fraud/settings.html",
        {"form": form, "can_edit": can_edit},
        status=400 if form.errors else 200,
    )


# --- Platform admins -------------------------------------------------------------------------------


@staff_required
@require_GET
def platform_flag_list(request):
    filter_form = FlagFilterForm(request.GET or None)
    return _list(request, fraud.flags_for_platform(**filter_form.filters()), platform=True, filter_form=filter_form)


@staff_required
@require_GET
def platform_flag_detail(request, pk: int):
    return _detail(request, fraud.flag_for_platform(pk), platform=True, can_decide=True)


@staff_required
@require_POST
def platform_flag_decide(request, pk: int):
    return _decide(request, fraud.flag_for_platform(pk), platform=True)
