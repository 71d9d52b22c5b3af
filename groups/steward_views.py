"""Member pages (H5) for a group's 群主 and 管理员, and every member's own warnings.

Each steward page asks groups.powers for its power: a person for whom the group does not exist gets 404,
one who sees it without the power 403 (group_for_power). The shop's operators with a write role may use
them too. A membership is looked up inside the group, so another group's is a 404. Writes go through
groups.enforcement, which checks the power again, records the act and tells the member.
"""

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from shequn.decorators import member_login_required

from . import enforcement, selectors
from .models import MembershipStatus
from .powers import GroupPower, group_for_power, powers_of

LIST_LIMIT = 200  # a group holds at most MAX_GROUP_SIZE members; the page shows them all at that size


class RejectForm(forms.Form):
    reason = forms.CharField(label=gettext_lazy("拒绝原因"), max_length=200)


class WarnForm(forms.Form):
    rule = forms.ChoiceField(label=gettext_lazy("违反的群规"), required=False)
    other = forms.CharField(
        label=gettext_lazy("或写明其他原因"), max_length=enforcement.RULE_MAX_LENGTH, required=False
    )

    def __init__(self, *args, rules: list[str], **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["rule"].choices = [("", "—")] + [(rule, rule) for rule in rules]

    def clean(self):
        data = super().clean()
        data["chosen"] = (data.get("other") or "").strip() or data.get("rule") or ""
        if not data["chosen"] and not self.errors:
            raise ValidationError(_("请选择或写明违反的群规。"))
        return data


class AppealForm(forms.Form):
    text = forms.CharField(
        label=gettext_lazy("申诉理由"),
        max_length=enforcement.APPEAL_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 3}),
    )


def _errors(request: HttpRequest, error: ValidationError) -> None:
    for message in error.messages:
        messages.error(request, message)


def _form_errors(request: HttpRequest, form: forms.Form) -> None:
    for errors in form.errors.values():
        for message in errors:
            messages.error(request, message)


# --- Applicants ---------------------------------------------------------------------------------------


@require_GET
@member_login_required
def applicants(request: HttpRequest, pk: int) -> HttpResponse:
    group = group_for_power(request.user, pk, GroupPower.APPROVE_APPLICANTS)
    return render(
        request,
        "groups/member/steward_applicants.html",
        {
            "group": group,
            "applicants": list(selectors.applicants_of_group(group)[:LIST_LIMIT]),
            "reject_form": RejectForm(),
        },
    )


@require_POST
@member_login_required
def decide_applicant(request: HttpRequest, pk: int, membership_pk: int, action: str) -> HttpResponse:
    if action not in ("approve", "reject"):
        raise Http404
    group = group_for_power(request.user, pk, GroupPower.APPROVE_APPLICANTS)
    membership = selectors.membership_in_group(group, membership_pk, status=MembershipStatus.PENDING)
    name = membership.user.public_name
    try:
        if action == "approve":
            enforcement.approve(membership=membership, by=request.user)
            messages.success(request, _("已通过 %(name)s 的入群申请。") % {"name": name})
        else:
            form = RejectForm(request.POST)
            if not form.is_valid():
                _form_errors(request, form)
                return redirect("member:steward_applicants", pk=group.pk)
            enforcement.reject(membership=membership, by=request.user, reason=form.cleaned_data["reason"])
            messages.success(request, _("已拒绝 %(name)s 的入群申请。") % {"name": name})
    except ValidationError as error:
        _errors(request, error)
    return redirect("member:steward_applicants", pk=group.pk)


# --- Members: warn and remove -----------------------------------------------------------------------


@require_GET
@member_login_required
def members(request: HttpRequest, pk: int) -> HttpResponse:
    group = group_for_power(request.user, pk, GroupPower.WARN_MEMBERS)
    return render(
        request,
        "groups/member/steward_members.html",
        {
            "group": group,
            "members": list(selectors.members_with_warnings(group)[:LIST_LIMIT]),
            "limit": enforcement.warnings_before_removal(group.shop_id),
            "powers": powers_of(request.user, group),
            # Only the shop's operators act on a 管理员 (groups.enforcement).
            "is_operator": enforcement.is_shop_operator(request.user, group.shop_id),
        },
    )


@require_http_methods(["GET", "POST"])
@member_login_required
def warn(request: HttpRequest, pk: int, membership_pk: int) -> HttpResponse:
    group = group_for_power(request.user, pk, GroupPower.WARN_MEMBERS)
    membership = selectors.membership_in_group(group, membership_pk, status=MembershipStatus.ACTIVE)
    form = WarnForm(request.POST or None, rules=enforcement.rule_choices(group))
    if request.method == "POST" and form.is_valid():
        try:
            warning = enforcement.warn(membership=membership, by=request.user, rule=form.cleaned_data["chosen"])
        except ValidationError as error:
            _errors(request, error)
        else:
            if warning.removed_member:
                messages.success(request, _("已警告并移出 %(name)s。") % {"name": membership.user.public_name})
            else:
                messages.success(request, _("已警告 %(name)s。") % {"name": membership.user.public_name})
            return redirect("member:steward_members", pk=group.pk)
    return render(
        request,
        "groups/member/steward_warn.html",
        {
            "group": group,
            "membership": membership,
            "form": form,
            "count": enforcement.standing_warnings(membership).count(),
            "limit": enforcement.warnings_before_removal(group.shop_id),
        },
    )


@require_POST
@member_login_required
def remove(request: HttpRequest, pk: int, membership_pk: int) -> HttpResponse:
    group = group_for_power(request.user, pk, GroupPower.REMOVE_MEMBERS)
    membership = selectors.membership_in_group(group, membership_pk, status=MembershipStatus.ACTIVE)
    reason = (request.POST.get("reason") or "").strip()[:200]
    try:
        enforcement.remove(membership=membership, by=request.user, reason=reason)
    except ValidationError as error:
        _errors(request, error)
    else:
        messages.success(request, _("已移出 %(name)s。") % {"name": membership.user.public_name})
    return redirect("member:steward_members", pk=group.pk)


# --- Figures ------------------------------------------------------------------------------------------


@require_GET
@member_login_required
def figures(request: HttpRequest, pk: int) -> HttpResponse:
    group = group_for_power(request.user, pk, GroupPower.SEE_FIGURES)
    return render(
        request, "groups/member/steward_figures.html", {"group": group, "figures": selectors.group_figures(group)}
    )


# --- A member's own warnings and appeals --------------------------------------------------------------


@require_GET
@member_login_required
def my_warnings(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "groups/member/my_warnings.html",
        {"warnings": list(selectors.warnings_of_member(request.user)[:LIST_LIMIT]), "form": AppealForm()},
    )


@require_POST
@member_login_required
def appeal(request: HttpRequest, pk: int) -> HttpResponse:
    warning = selectors.warning_for_member(request.user, pk)
    form = AppealForm(request.POST)
    if not form.is_valid():
        _form_errors(request, form)
        return redirect("member:my_warnings")
    try:
        enforcement.appeal(warning=warning, member=request.user, text=form.cleaned_data["text"])
    except ValidationError as error:
        _errors(request, error)
    else:
        messages.success(request, _("申诉已提交，运营会尽快处理。"))
    return redirect("member:my_warnings")
