"""Members' mobile (H5) page "我的推荐": who I brought (and whom they brought), my rewards, my commission
balance and withdrawal requests. A member only ever sees their own; the rules live in referrals.services.
"""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from shequn.decorators import member_login_required

from . import selectors, services
from .forms import WithdrawalForm

REWARDS_SHOWN = 50
WITHDRAWALS_SHOWN = 20


def _page(request: HttpRequest, *, form: WithdrawalForm | None = None, status: int = 200) -> HttpResponse:
    member = request.user
    accounts = list(selectors.commission_accounts_for_member(member))
    rewards = selectors.rewards_for_member(member)
    return render(
        request,
        "referrals/member/my_referrals.html",
        {
            "tree": selectors.referral_tree(member, depth=2),
            "counts": selectors.invitee_counts(member),
            "rewards": rewards[:REWARDS_SHOWN],
            "reward_totals": selectors.reward_totals(rewards),
            "accounts": accounts,
            "points_accounts": selectors.points_accounts_for_member(member),
            "withdrawals": selectors.withdrawals_for_member(member)[:WITHDRAWALS_SHOWN],
            "form": form or WithdrawalForm(accounts=[a for a in accounts if a.balance > 0]),
        },
        status=status,
    )


@require_GET
@member_login_required
def my_referrals(request: HttpRequest) -> HttpResponse:
    return _page(request)


@require_POST
@member_login_required
def withdraw(request: HttpRequest) -> HttpResponse:
    """Ask for commission money; the amount is held at once and an operator pays it out."""
    accounts = [a for a in selectors.commission_accounts_for_member(request.user) if a.balance > 0]
    form = WithdrawalForm(request.POST, accounts=accounts)
    if form.is_valid():
        data = form.cleaned_data
        try:
            services.request_withdrawal(
                member=request.user, shop_id=data["shop"], amount=data["amount"], account_note=data["account_note"]
            )
        except ValidationError as error:
            if hasattr(error, "error_dict"):
                for field, errors in error.error_dict.items():
                    form.add_error(field if field in form.fields else None, errors)
            else:
                form.add_error(None, error.messages)
        else:
            messages.success(request, _("提现申请已提交，运营审核后会打款给你。"))
            return redirect("member:referrals")
    return _page(request, form=form, status=400)
