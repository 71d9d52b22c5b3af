"""Operator pages: segments (list, edit, members, invite into a group), automatic tags, broadcasts (compose,
preview, send, history). Every lookup goes through segments.selectors with the operator's shop (another shop's
object is a 404); viewers read, operators and owners write."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from shops.models import OperatorRole
from shops.tenancy import operator_required

from . import selectors, services
from .forms import BroadcastForm, InviteForm, SegmentForm, TagRuleForm, TagRuleUpdateForm
from .models import BroadcastState, RuleKind

PAGE_SIZE = 20
MEMBERS_PAGE_SIZE = 50


def _add_errors(form, error: ValidationError) -> None:
    if hasattr(error, "error_dict"):
        for name, errors in error.message_dict.items():
            form.add_error(name if name in form.fields else None, errors)
    else:
        form.add_error(None, error.messages)


@require_GET
@operator_required(OperatorRole.VIEWER)
def segment_list(request):
    page = Paginator(selectors.segments_for_shop(request.shop), PAGE_SIZE).get_page(request.GET.get("page"))
    counts = selectors.segment_counts(list(page))
    rows = [(segment, counts.get(segment.pk, 0)) for segment in page]
    return render(
        request,
        "segments/dashboard/segment_list.html",
        {"page": page, "rows": rows, "can_write": request.operator.can(OperatorRole.OPERATOR)},
    )


def _segment_form_page(request, segment=None):
    initial = {}
    if segment is not None:
        initial = {name: getattr(segment, name) for name in services.SEGMENT_FIELDS}
        initial |= {
            "tags": segment.tags.all(),
            "exclude_tags": segment.exclude_tags.all(),
            "groups": segment.groups.all(),
        }
    form = SegmentForm(request.POST or None, shop=request.shop, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            saved = services.save_segment(shop=request.shop, by=request.user, segment=segment, **form.cleaned_data)
        except ValidationError as error:
            _add_errors(form, error)
        else:
            messages.success(request, _("人群已保存。"))
            return redirect("dashboard:segment_detail", saved.pk)
    return render(request, "segments/dashboard/segment_form.html", {"form": form, "segment": segment})


@require_http_methods(["GET", "POST"])
@operator_required(OperatorRole.OPERATOR)
def segment_create(request):
    return _segment_form_page(request)


@require_http_methods(["GET", "POST"])
@operator_required(OperatorRole.OPERATOR)
def segment_edit(request, pk: int):
    return _segment_form_page(request, selectors.segment_for_shop(request.shop, pk))


@require_GET
@operator_required(OperatorRole.VIEWER)
def segment_detail(request, pk: int):
    segment = selectors.segment_for_shop(request.shop, pk)
    page = Paginator(selectors.segment_members(segment), MEMBERS_PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "segments/dashboard/segment_detail.html",
        {
            "segment": segment,
            "page": page,
            "invite_form": InviteForm(shop=request.shop),
            "can_write": request.operator.can(OperatorRole.OPERATOR),
        },
    )


@require_POST
@operator_required(OperatorRole.OPERATOR)
def segment_invite(request, pk: int):
    segment = selectors.segment_for_shop(request.shop, pk)
    form = InviteForm(request.POST, shop=request.shop)
    if not form.is_valid():
        messages.error(request, _("请选择本店的一个群。"))
        return redirect("dashboard:segment_detail", segment.pk)
    try:
        tally = services.invite_segment(segment=segment, group=form.cleaned_data["group"], by=request.user)
    except ValidationError as error:
        messages.error(request, "；".join(error.messages))
    else:
        messages.success(
            request,
            _("已邀请 %(sent)d 人；按规则未发 %(excluded)d 人；已邀请过或已在群中 %(already)d 人。")
            % {
                "sent": tally["send"],
                "excluded": sum(v for k, v in tally.items() if k not in ("send", "already")),
                "already": tally["already"],
            },
        )
    return redirect("dashboard:segment_detail", segment.pk)


# --- Automatic tags -----------------------------------------------------------------------------------


@require_GET
@operator_required(OperatorRole.VIEWER)
def tag_rules(request):
    return render(
        request,
        "segments/dashboard/tag_rules.html",
        {
            "rules": selectors.rules_for_shop(request.shop),
            "form": TagRuleForm(shop=request.shop),
            "can_write": request.operator.can(OperatorRole.OPERATOR),
        },
    )


@require_POST
@operator_required(OperatorRole.OPERATOR)
def tag_rule_create(request):
    form = TagRuleForm(request.POST, shop=request.shop)
    if form.is_valid():
        values = dict(form.cleaned_data)
        try:
            services.create_tag_rule(
                shop=request.shop, by=request.user, tag_name=values.pop("tag_name"), kind=values.pop("kind"), **values
            )
        except ValidationError as error:
            _add_errors(form, error)
        else:
            messages.success(request, _("自动标签已创建，下一次计算后生效。"))
            return redirect("dashboard:tag_rules")
    return render(
        request,
        "segments/dashboard/tag_rules.html",
        {"rules": selectors.rules_for_shop(request.shop), "form": form, "can_write": True},
        status=400,
    )


@require_POST
@operator_required(OperatorRole.OPERATOR)
def tag_rule_update(request, pk: int):
    rule = selectors.rule_for_shop(request.shop, pk)
    form = TagRuleUpdateForm(request.POST)
    form.is_valid()
    parameter = services.RULE_PARAMETER[RuleKind(rule.kind)]
    services.update_tag_rule(
        rule=rule,
        by=request.user,
        is_active=form.cleaned_data.get("is_active", False),
        **{parameter: getattr(rule, parameter)},
    )
    messages.success(request, _("自动标签已更新。"))
    return redirect("dashboard:tag_rules")


# --- Broadcasts ---------------------------------------------------------------------------------------


@require_GET
@operator_required(OperatorRole.VIEWER)
def broadcast_list(request):
    page = Paginator(selectors.broadcasts_for_shop(request.shop), PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "segments/dashboard/broadcast_list.html",
        {"page": page, "can_write": request.operator.can(OperatorRole.OPERATOR)},
    )


@require_http_methods(["GET", "POST"])
@operator_required(OperatorRole.OPERATOR)
def broadcast_create(request):
    initial = {}
    if request.method == "GET" and request.GET.get("segment", "").isdigit():
        initial["segment"] = request.GET["segment"]
    form = BroadcastForm(request.POST or None, shop=request.shop, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            broadcast = services.create_broadcast(shop=request.shop, by=request.user, **form.cleaned_data)
        except ValidationError as error:
            _add_errors(form, error)
        else:
            return redirect("dashboard:broadcast_detail", broadcast.pk)
    return render(request, "segments/dashboard/broadcast_form.html", {"form": form})


@require_GET
@operator_required(OperatorRole.VIEWER)
def broadcast_detail(request, pk: int):
    broadcast = selectors.broadcast_for_shop(request.shop, pk)
    preview = services.preview(broadcast) if broadcast.state == BroadcastState.DRAFT else None
    return render(
        request,
        "segments/dashboard/broadcast_detail.html",
        {
            "broadcast": broadcast,
            "preview": preview,
            "can_write": request.operator.can(OperatorRole.OPERATOR),
        },
    )


@require_POST
@operator_required(OperatorRole.OPERATOR)
def broadcast_send(request, pk: int):
    broadcast = selectors.broadcast_for_shop(request.shop, pk)
    try:
        sent = services.send_broadcast(broadcast=broadcast, by=request.user)
    except ValidationError as error:
        messages.error(request, "；".join(error.messages))
    else:
        messages.success(request, _("群发已发送给 %(n)d 人。") % {"n": sent.sent_count})
    return redirect("dashboard:broadcast_detail", broadcast.pk)
