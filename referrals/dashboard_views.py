"""Operator dashboard pages for referrals: the viral funnel, members' referral trees, rewards, withdrawals
and the shop's referral rules.

Every view takes its shop from `operator_required` and reads through `referrals.selectors`, so another
shop's object is a 404. Viewers read; operators decide withdrawals; owners change rules (money is at stake).
"""

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from shops.models import OperatorRole
from shops.tenancy import operator_required

from . import selectors, services, stewards
from .forms import (
    EdgeFilterForm,
    ReferralSettingsForm,
    RewardFilterForm,
    RewardRuleForm,
    StewardRewardFilterForm,
    StewardRuleForm,
    ViralScopeForm,
    WithdrawalDecisionForm,
    WithdrawalFilterForm,
)
from .models import RewardRule, StewardRole, WithdrawalStatus

PAGE_SIZE = 50
MEMBER_EVENTS_SHOWN = 100
VIEWER, OPERATOR, OWNER = OperatorRole.VIEWER, OperatorRole.OPERATOR, OperatorRole.OWNER


def _add_service_errors(form, error: ValidationError) -> None:
    if hasattr(error, "error_dict"):
        for field, errors in error.error_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    else:
        form.add_error(None, error.messages)


def _cleaned(form) -> dict:
    return form.cleaned_data if form.is_valid() else {}


# --- Overview: funnel, viral coefficient, edges ----------------------------------------------------


@operator_required(VIEWER)
def overview(request):
    scope_form = ViralScopeForm(request.GET)
    by = _cleaned(scope_form).get("by") or "group"
    filter_form = EdgeFilterForm(request.GET)
    f = _cleaned(filter_form)
    qualified = {"yes": True, "no": False}.get(f.get("qualified") or "")
    edges = selectors.edges_for_shop(request.shop, q=f.get("q") or None, qualified=qualified)
    return render(
        request,
        "referrals/dashboard/overview.html",
        {
            "shop_viral": selectors.viral_stats(request.shop),
            "viral_rows": selectors.viral_table(request.shop, by),
            "by": by,
            "filter_form": filter_form,
            "page": Paginator(edges, PAGE_SIZE).get_page(request.GET.get("page")),
        },
    )


@operator_required(VIEWER)
def member_detail(request, user_id: int):
    member = selectors.member_for_shop(request.shop, user_id)
    return render(
        request,
        "referrals/dashboard/member.html",
        {
            "member": member,
            "inviter_edges": selectors.edges_for_shop(request.shop).filter(invitee=member),
            "tree": selectors.referral_tree(member, shop=request.shop, depth=2),
            "events": selectors.events_of_member(request.shop, member)[:MEMBER_EVENTS_SHOWN],
            "rewards": selectors.rewards_for_shop(request.shop, inviter_id=member.pk),
            "account": member.commission_accounts.filter(shop=request.shop).first(),
        },
    )


# --- Rewards ------------------------------------------------------------------------------------------


@operator_required(VIEWER)
def rewards(request):
    filter_form = RewardFilterForm(request.GET)
    status = _cleaned(filter_form).get("status") or None
    qs = selectors.rewards_for_shop(request.shop, status=status)
    return render(
        request,
        "referrals/dashboard/rewards.html",
        {
            "filter_form": filter_form,
            "page": Paginator(qs, PAGE_SIZE).get_page(request.GET.get("page")),
            "totals": selectors.reward_totals(selectors.rewards_for_shop(request.shop)),
            "commission": selectors.commission_summary(request.shop),
        },
    )


# --- Withdrawals --------------------------------------------------------------------------------------


@operator_required(VIEWER)
def withdrawals(request):
    filter_form = WithdrawalFilterForm(request.GET)
    status = _cleaned(filter_form).get("status") or None
    qs = selectors.withdrawals_for_shop(request.shop, status=status)
    return render(
        request,
        "referrals/dashboard/withdrawals.html",
        {
            "filter_form": filter_form,
            "page": Paginator(qs, PAGE_SIZE).get_page(request.GET.get("page")),
            "can_write": request.operator.can(OPERATOR),
            "commission": selectors.commission_summary(request.shop),
        },
    )


WITHDRAWAL_ACTIONS = {
    "approve": lambda w, by, data: services.approve_withdrawal(withdrawal=w, by=by, note=data["note"]),
    "reject": lambda w, by, data: services.reject_withdrawal(withdrawal=w, by=by, note=data["note"]),
    "mark_paid": lambda w, by, data: services.mark_withdrawal_paid(
        withdrawal=w, by=by, payout_reference=data["payout_reference"]
    ),
}
DONE = {
    "approve": WithdrawalStatus.APPROVED.label,
    "reject": WithdrawalStatus.REJECTED.label,
    "mark_paid": WithdrawalStatus.PAID.label,
}


@operator_required(OPERATOR)
@require_POST
def withdrawal_action(request, pk: int, action: str):
    if action not in WITHDRAWAL_ACTIONS:
        raise Http404
    withdrawal = selectors.withdrawal_for_shop(request.shop, pk)
    form = WithdrawalDecisionForm(request.POST)
    if not form.is_valid():
        messages.error(request, "；".join(m for errors in form.errors.values() for m in errors))
    else:
        try:
            WITHDRAWAL_ACTIONS[action](withdrawal, request.user, form.cleaned_data)
        except ValidationError as error:
            messages.error(request, "；".join(error.messages))
        else:
            messages.success(request, _("提现申请 #%(pk)d：%(done)s") % {"pk": withdrawal.pk, "done": DONE[action]})
    back = request.POST.get("status_filter")
    return redirect(
        reverse("dashboard:referral_withdrawals") + (f"?status={back}" if back in WithdrawalStatus.values else "")
    )


# --- Rules (owner) ----------------------------------------------------------------------------------------


def _render_settings(request, *, settings_form=None, rule_form=None, status=200):
    rules = services.referral_settings(request.shop.pk)
    return render(
        request,
        "referrals/dashboard/settings.html",
        {
            "settings_form": settings_form or ReferralSettingsForm(instance=rules),
            "rule_form": rule_form or RewardRuleForm(),
            "current": rules,
            "rules": selectors.reward_rules_for_shop(request.shop),
            "can_write": request.operator.can(OWNER),
        },
        status=status,
    )


@operator_required(VIEWER)
def settings_page(request):
    if request.method != "POST":
        return _render_settings(request)
    if not request.operator.can(OWNER):
        raise PermissionDenied(_("只有店主可以修改推荐规则。"))
    form = ReferralSettingsForm(request.POST, instance=services.referral_settings(request.shop.pk))
    if form.is_valid():
        try:
            services.update_referral_settings(shop=request.shop, by=request.user, **form.cleaned_data)
        except ValidationError as error:
            _add_service_errors(form, error)
        else:
            messages.success(request, _("推荐规则已保存。"))
            return redirect("dashboard:referral_settings")
    return _render_settings(request, settings_form=form, status=400)


@operator_required(OWNER)
@require_POST
def rule_create(request):
    form = RewardRuleForm(request.POST)
    if form.is_valid():
        data = form.cleaned_data
        try:
            services.save_reward_rule(
                shop=request.shop,
                by=request.user,
                data=services.RewardRuleInput(
                    kind=data["kind"],
                    amount=data["amount"],
                    commission_rate=data["commission_rate"],
                    label=data["label"],
                    cap_count=data["cap_count"],
                    cap_period=data["cap_period"],
                ),
            )
        except ValidationError as error:
            _add_service_errors(form, error)
        else:
            messages.success(request, _("奖励规则已启用。"))
            return redirect("dashboard:referral_settings")
    return _render_settings(request, rule_form=form, status=400)


@operator_required(OWNER)
@require_POST
def rule_deactivate(request, pk: int):
    rule = get_object_or_404(RewardRule, shop=request.shop, pk=pk)
    services.deactivate_reward_rule(rule=rule, by=request.user)
    messages.success(request, _("奖励规则已停用，已产生的奖励不受影响。"))
    return redirect("dashboard:referral_settings")


# --- Stewards' rewards (群主 / 群管理) -------------------------------------------------------------------------

STEWARD_REWARDS_SHOWN = 50


def _steward_forms(request, data=None) -> list[tuple[str, StewardRuleForm]]:
    current = stewards.active_rules(request.shop.pk)
    forms = []
    for role in StewardRole.values:
        rule = current.get(role)
        initial = {
            "enabled": rule is not None,
            "kind": rule.kind if rule else None,
            "rate": rule.rate if rule else None,
        }
        forms.append((role, StewardRuleForm(data, prefix=role, initial=initial)))
    return forms


@operator_required(VIEWER)
def steward_rewards(request):
    """The two role rules (owners edit them) and the latest steward rewards."""
    forms = _steward_forms(request, request.POST if request.method == "POST" else None)
    status = 200
    if request.method == "POST":
        if not request.operator.can(OWNER):
            raise PermissionDenied(_("只有店主可以修改群管奖励规则。"))
        inputs = []
        for role, form in forms:
            if not form.is_valid():
                continue
            data = stewards.RuleInput(
                role=role,
                enabled=form.cleaned_data["enabled"],
                kind=form.cleaned_data["kind"],
                rate=form.cleaned_data["rate"],
            )
            for field, message in stewards.validate_rule(data).items():
                form.add_error(field if field in form.fields else None, message)
            inputs.append(data)
        if all(form.is_valid() for _role, form in forms):
            stewards.save_rules(shop=request.shop, by=request.user, rules=inputs)
            messages.success(request, _("群管奖励规则已保存。"))
            return redirect("dashboard:referral_stewards")
        status = 400
    rules = stewards.active_rules(request.shop.pk)
    filter_form = StewardRewardFilterForm(request.GET)
    rewards = stewards.rewards_for_shop(request.shop, status=_cleaned(filter_form).get("status") or None)
    return render(
        request,
        "referrals/dashboard/stewards.html",
        {
            "forms": [(StewardRole(role).label, form, rules.get(role)) for role, form in forms],
            "filter_form": filter_form,
            "rewards": rewards[:STEWARD_REWARDS_SHOWN],
            "can_write": request.operator.can(OWNER),
        },
        status=status,
    )
