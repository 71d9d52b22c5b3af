"""Dashboard: the shop's payment accounts (the owner sets them up) and the reconciliation of each day.

Everyone on the staff sees which providers are on and how the days reconcile; only the owner changes
an account, and secrets are never shown back (only whether one is stored, or the env reference).
"""

from datetime import date

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from shops.models import OperatorRole
from shops.tenancy import operator_required

from .models import PaymentAccount, ReconciliationRun
from .payment_accounts import REAL_PROVIDERS, fields_of, save_payment_account, secret_state
from .payments import provider_class
from .reconciliation import order_ledger_mismatches, reconcile_day

RUNS_SHOWN = 30


def _account_form(provider: str, account: PaymentAccount | None, data=None) -> forms.Form:
    stored = secret_state(account)
    form = forms.Form(data)
    form.fields["is_enabled"] = forms.BooleanField(
        label=gettext_lazy("启用"), required=False, initial=account.is_enabled if account else False
    )
    for field in fields_of(provider):
        if field.secret:
            widget = forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"})
            state = stored.get(field.name, "")
            if state.startswith("env:"):
                help_text = _("当前引用环境变量 %(name)s；留空则不修改。") % {"name": state[4:]}
            elif state:
                help_text = _("已加密保存；留空则不修改。")
            else:
                help_text = _("可粘贴密钥，或填写 env:变量名 从服务器环境变量读取。")
        else:
            widget = forms.Textarea(attrs={"rows": 4}) if field.multiline else forms.TextInput()
            help_text = field.help_text
        form.fields[field.name] = forms.CharField(
            label=field.label,
            required=False,
            widget=widget,
            help_text=help_text,
            initial=None if field.secret else (account.config.get(field.name, "") if account else ""),
        )
    return form


@operator_required(OperatorRole.VIEWER)
def payment_settings(request):
    accounts = {a.provider: a for a in PaymentAccount.objects.filter(shop=request.shop).select_related("updated_by")}
    providers = []
    for name in REAL_PROVIDERS:
        account = accounts.get(name)
        providers.append(
            {
                "name": name,
                "label": provider_class(name).label,
                "account": account,
                "shown": [(f.label, account.config.get(f.name, "")) for f in fields_of(name) if not f.secret]
                if account
                else [],
                "secrets": [(f.label, secret_state(account).get(f.name, "")) for f in fields_of(name) if f.secret],
                "changes": list(account.changes.select_related("by")[:10]) if account else [],
            }
        )
    runs = (
        ReconciliationRun.objects.filter(account__shop=request.shop)
        .select_related("account")
        .order_by("-day", "-pk")[:RUNS_SHOWN]
    )
    return render(
        request,
        "orders/dashboard/payments.html",
        {
            "providers": providers,
            "runs": runs,
            "is_owner": request.operator.can(OperatorRole.OWNER),
            "can_write": request.operator.can(OperatorRole.OPERATOR),
            "default_day": date.fromordinal(timezone.localdate().toordinal() - 1),
        },
    )


@operator_required(OperatorRole.OWNER)
def payment_account_edit(request, provider: str):
    if provider not in REAL_PROVIDERS:
        raise Http404
    account = PaymentAccount.objects.filter(shop=request.shop, provider=provider).first()
    form = _account_form(provider, account, request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        values = {name: value for name, value in form.cleaned_data.items() if name != "is_enabled"}
        try:
            save_payment_account(
                shop=request.shop,
                provider=provider,
                enabled=form.cleaned_data["is_enabled"],
                values=values,
                by=request.user,
            )
        except ValidationError as error:
            for field, errors in error.error_dict.items():
                form.add_error(field if field in form.fields else None, errors)
        else:
            messages.success(request, _("收款账户已保存。"))
            return redirect("dashboard:payment_settings")
    return render(
        request,
        "orders/dashboard/payment_account_form.html",
        {"form": form, "provider": provider, "label": provider_class(provider).label, "account": account},
    )


@operator_required(OperatorRole.OPERATOR)
@require_POST
def reconcile_now(request):
    raw = request.POST.get("account", "")
    account_id = int(raw) if raw.isascii() and raw.isdigit() and len(raw) <= 18 else 0
    account = get_object_or_404(PaymentAccount, shop=request.shop, pk=account_id)
    try:
        day = date.fromisoformat(request.POST.get("day", ""))
    except ValueError:
        messages.error(request, _("请选择有效的账单日期。"))
        return redirect("dashboard:payment_settings")
    if day >= timezone.localdate():
        messages.error(request, _("只能对已经结束的日期对账。"))
        return redirect("dashboard:payment_settings")
    run = reconcile_day(account=account, day=day, by=request.user)
    return redirect("dashboard:reconciliation", pk=run.pk)


@operator_required(OperatorRole.VIEWER)
def reconciliation(request, pk: int):
    run = get_object_or_404(
        ReconciliationRun.objects.select_related("account", "by"), account__shop=request.shop, pk=pk
    )
    return render(
        request,
        "orders/dashboard/reconciliation.html",
        {"run": run, "label": provider_class(run.account.provider).label, "differences": list(run.differences.all())},
    )


LEDGER_ROWS_SHOWN = 200


@operator_required(OperatorRole.VIEWER)
def ledger_check(request):
    """The shop's orders whose paid − refunded is not what their payments and refunds say (one query)."""
    rows = list(order_ledger_mismatches(shop_id=request.shop.pk)[: LEDGER_ROWS_SHOWN + 1])
    return render(
        request,
        "orders/dashboard/ledger_check.html",
        {"orders": rows[:LEDGER_ROWS_SHOWN], "more": len(rows) > LEDGER_ROWS_SHOWN},
    )
