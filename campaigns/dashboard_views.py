"""Operator dashboard pages for campaigns: list, create/edit with live validation, schedule, cancel, and the
per-campaign page with its live figures and teams.

Every view takes its shop from `operator_required` and reads through `campaigns.selectors`, so another
shop's campaign is a 404; viewers read, operators and owners write. Views parse forms and call services.
"""

import json
from datetime import timedelta

from django import forms
from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.template import TemplateDoesNotExist
from django.template.loader import select_template
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_POST

from groups import posters, qr
from shops.models import OperatorRole
from shops.tenancy import operator_required

from . import posters as campaign_posters
from . import registry, selectors, services
from .forms import CampaignForm
from .lifecycle import ALLOWED_TRANSITIONS, EDITABLE_STATES
from .models import CampaignState, CampaignType

VIEWER, OPERATOR = OperatorRole.VIEWER, OperatorRole.OPERATOR
PAGE_SIZE = 50
SETTINGS_PREFIX = "s"


class JsonSettingsForm(forms.Form):
    """For a type without a settings form of its own: its settings as JSON."""

    settings = forms.CharField(
        label=gettext_lazy("类型设置（JSON）"), required=False, widget=forms.Textarea(attrs={"rows": 6})
    )

    @classmethod
    def initial_from(cls, settings: dict) -> dict:
        return {"settings": json.dumps(settings or {}, ensure_ascii=False, indent=2)}


def kind_or_404(code: str):
    try:
        return registry.get(code)
    except registry.UnknownCampaignType:
        raise Http404 from None


def settings_form_class(kind):
    return kind.settings_form or JsonSettingsForm


def make_settings_form(kind, shop, *args, **kwargs):
    """The type's settings form; given the shop when it asks for it (`takes_shop`: a picker of the shop's
    own coupon templates)."""
    form_class = settings_form_class(kind)
    if getattr(form_class, "takes_shop", False):
        kwargs["shop"] = shop
    return form_class(*args, **kwargs)


def editor_forms(request, *, shop, kind, campaign=None):
    """The engine's form and the type's settings form, bound to POST or filled from the campaign."""
    settings_class = settings_form_class(kind)
    if request.method == "POST":
        form = CampaignForm(request.POST, shop=shop)
        settings_form = make_settings_form(kind, shop, request.POST, prefix=SETTINGS_PREFIX)
    else:
        initial = {"type": kind.code}
        settings_initial = None
        if campaign is not None:
            initial.update(
                {
                    name: getattr(campaign, name)
                    for name in services.ENGINE_FIELDS
                    if name not in ("groups", "series", "product", "reward")
                }
            )
            initial.update(groups=list(campaign.groups.all()), series=list(campaign.series.all()))
            initial["starts_at"] = timezone.localtime(campaign.starts_at)
            initial["ends_at"] = timezone.localtime(campaign.ends_at) if campaign.ends_at else None
            settings_initial = (
                settings_class.initial_from(campaign.settings)
                if hasattr(settings_class, "initial_from")
                else campaign.settings
            )
        else:
            now = timezone.localtime().replace(second=0, microsecond=0)
            initial.update(starts_at=now, ends_at=now + timedelta(days=7))
        form = CampaignForm(initial=initial, shop=shop)
        settings_form = make_settings_form(kind, shop, initial=settings_initial, prefix=SETTINGS_PREFIX)
    form.fields["type"].widget = forms.HiddenInput()
    return form, settings_form


def settings_from(settings_form) -> dict:
    """What the operator typed for the type's settings: cleaned values where a field cleaned, else the raw
    input, so the type's own validation speaks (in Chinese) about every setting."""
    settings_form.is_valid()
    if isinstance(settings_form, JsonSettingsForm):
        raw = settings_form.data.get(f"{SETTINGS_PREFIX}-settings", "") or "{}"
        try:
            value = json.loads(raw)
        except ValueError:
            raise ValidationError({"settings": _("设置格式不正确（需要 JSON）。")}) from None
        if not isinstance(value, dict):
            raise ValidationError({"settings": _("设置格式不正确（需要 JSON）。")})
        return value
    cleaned = getattr(settings_form, "cleaned_data", {})
    return {
        name: cleaned[name] if name in cleaned else settings_form.data.get(f"{SETTINGS_PREFIX}-{name}")
        for name in settings_form.fields
    }


def engine_fields_from(form) -> dict:
    """The engine's fields as typed (a field that did not clean is passed raw: the service reports it)."""
    cleaned = getattr(form, "cleaned_data", {})
    data = {}
    for name in services.ENGINE_FIELDS:
        if name in ("product", "reward"):
            continue
        if name in cleaned:
            data[name] = cleaned[name]
        elif name in form.fields and name not in form.errors:
            data[name] = None
    return data


def put_errors(form, settings_form, error: ValidationError) -> None:
    if not hasattr(error, "error_dict"):
        form.add_error(None, error.messages)
        return
    for field, errors in error.message_dict.items():
        if field in form.fields:
            if field not in form.errors:
                form.add_error(field, errors)
        elif field in settings_form.fields:
            if field not in settings_form.errors:
                settings_form.add_error(field, errors)
        else:
            form.add_error(None, errors)


def save_forms(request, *, form, settings_form, kind, campaign=None):
    """Save the editor's two bound forms through the services (a new draft, or a change to `campaign`: all
    of it before it runs, the live-editable fields while it runs). The saved campaign, or None with every
    message of the rules put on the forms' fields."""
    form.is_valid()
    try:
        settings = settings_from(settings_form)
        fields = engine_fields_from(form)
        if form.errors:  # shape errors first (a date that is not a date…), with the rules' messages too
            services.validate_campaign(
                shop=request.shop, type=kind.code, fields=fields, settings=settings, campaign=campaign
            )
            raise ValidationError({})
        if campaign is None:
            return services.create_campaign(
                shop=request.shop, by=request.user, type=kind.code, settings=settings, **fields
            )
        running = campaign.state == CampaignState.RUNNING
        return services.update_campaign(
            campaign=campaign,
            by=request.user,
            settings=None if running else settings,
            **({name: fields[name] for name in services.LIVE_EDITABLE_FIELDS if name in fields} if running else fields),
        )
    except ValidationError as error:
        put_errors(form, settings_form, error)
        return None


def _save(request, *, kind, campaign=None):
    form, settings_form = editor_forms(request, shop=request.shop, kind=kind, campaign=campaign)
    if request.method == "POST":
        saved = save_forms(request, form=form, settings_form=settings_form, kind=kind, campaign=campaign)
        if saved is not None:
            messages.success(request, _("已保存活动「%(name)s」。") % {"name": saved.name})
            return redirect("dashboard:campaign_detail", pk=saved.pk)
    return render(
        request,
        "campaigns/dashboard/campaign_form.html",
        {
            "form": form,
            "settings_form": settings_form,
            "kind": kind,
            "campaign": campaign,
            "frozen": campaign is not None and campaign.state == CampaignState.RUNNING,
        },
        status=400 if request.method == "POST" else 200,
    )


# --- Pages --------------------------------------------------------------------------------------------


@require_GET
@operator_required(VIEWER)
def campaign_list(request):
    state = request.GET.get("state", "")
    state = state if state in CampaignState.values else ""
    campaigns = selectors.campaigns_for_shop(request.shop, state=state or None)
    page = Paginator(campaigns, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "campaigns/dashboard/campaign_list.html",
        {
            "page": page,
            "state": state,
            "states": CampaignState.choices,
            "kinds": registry.all(),
            "can_write": request.operator.can(OPERATOR),
        },
    )


@operator_required(OPERATOR)
def campaign_create(request):
    kind = kind_or_404(request.POST.get("type") or request.GET.get("type") or CampaignType.GROUP_BUY)
    return _save(request, kind=kind)


@operator_required(OPERATOR)
def campaign_edit(request, pk: int):
    campaign = selectors.campaign_for_shop(request.shop, pk)
    if campaign.state not in (*EDITABLE_STATES, CampaignState.RUNNING):
        messages.error(request, _("活动已结束或已取消，不能再修改。"))
        return redirect("dashboard:campaign_detail", pk=campaign.pk)
    return _save(request, kind=kind_or_404(campaign.type), campaign=campaign)


@require_POST
@operator_required(OPERATOR)
def campaign_validate(request):
    """Live validation of the editor: the same rules as saving, nothing saved. JSON {"errors": {field: [..]}}."""
    pk = request.POST.get("campaign")
    known = pk and pk.isascii() and pk.isdigit() and len(pk) <= 18  # "²" is a digit to isdigit(), not to int()
    campaign = selectors.campaign_for_shop(request.shop, int(pk)) if known else None
    kind = kind_or_404(campaign.type if campaign else request.POST.get("type", ""))
    form, settings_form = editor_forms(request, shop=request.shop, kind=kind, campaign=campaign)
    form.is_valid()
    errors = {field: list(messages_) for field, messages_ in form.errors.items()}
    try:
        services.validate_campaign(
            shop=request.shop,
            type=kind.code,
            fields=engine_fields_from(form),
            settings=settings_from(settings_form),
            campaign=campaign,
        )
    except ValidationError as error:
        for field, messages_ in (
            error.message_dict if hasattr(error, "error_dict") else {"__all__": error.messages}
        ).items():
            errors.setdefault(field, messages_)
    for field, messages_ in settings_form.errors.items():
        errors.setdefault(field, list(messages_))
    return JsonResponse({"errors": errors})


def _settings_shown(kind, campaign) -> list[tuple[str, str]]:
    """The type's settings as its dashboard form labels them (not their keys): yes/no for switches, the
    choice's words for a choice, 不限/— for what is left empty, and what the kind says in words
    (`settings_words`: the names of the templates, products… a setting holds the ids of). A setting that
    does not apply to the campaign as set (`settings_not_shown`) has no row."""
    form_class = kind.settings_form
    if form_class is None:
        return []
    settings = campaign.settings or {}
    words = kind.settings_words(campaign)
    not_shown = kind.settings_not_shown(campaign)
    shown = []
    for name, field in form_class().fields.items():
        if name == "tiers":
            continue  # shown as a line of its own
        if name in not_shown:
            continue
        value = settings.get(name)
        if name in words:
            text = words[name]
        elif isinstance(field, forms.BooleanField):
            text = _("是") if value else _("否")
        elif isinstance(field, forms.ChoiceField):
            text = str(dict(field.choices).get(value, value or "—"))
        elif value in (None, ""):
            text = "—"
        else:
            text = f"¥{value}" if "（元）" in str(field.label) else str(value)
        shown.append((str(field.label), text))
    return shown


def _detail_context(campaign) -> dict:
    kind = registry.get(campaign.type)
    return {"campaign": campaign, "kind": kind, **kind.dashboard_figures(campaign)}


def _type_template(campaign, name: str, default: str | None = None) -> str | None:
    """The type's own `campaigns/<type>/<name>` if it has one, else `default`."""
    candidates = [f"campaigns/{campaign.type}/{name}", *([default] if default else [])]
    try:
        return select_template(candidates).template.name
    except TemplateDoesNotExist:
        return None


@require_GET
@operator_required(VIEWER)
def campaign_detail(request, pk: int):
    campaign = selectors.campaign_for_shop(request.shop, pk)
    campaign.stock_used, campaign.budget_used = selectors.campaign_usage(campaign)  # (counted when uncapped)
    context = _detail_context(campaign)
    allowed = ALLOWED_TRANSITIONS[campaign.state]
    context.update(
        {
            "can_write": request.operator.can(OPERATOR),
            "can_edit": campaign.state in (*EDITABLE_STATES, CampaignState.RUNNING),
            "can_schedule": CampaignState.SCHEDULED in allowed and campaign.state == CampaignState.DRAFT,
            "can_unschedule": campaign.state == CampaignState.SCHEDULED,
            "can_cancel": CampaignState.CANCELLED in allowed,
            "transitions": list(campaign.transitions.select_related("by")),
            "groups": list(campaign.groups.all()),
            "series": list(campaign.series.all()),
            "landing_url": campaign.get_absolute_url(),
            "public_url": public_url(campaign),
            "settings_shown": _settings_shown(context["kind"], campaign),
            "rules_template": _type_template(campaign, "dashboard_rules.html", "campaigns/dashboard/_rules.html"),
            "type_template": _type_template(campaign, "dashboard_detail.html"),
            **context["kind"].dashboard_context(campaign, request),
        }
    )
    return render(request, "campaigns/dashboard/campaign_detail.html", context)


@require_GET
@operator_required(VIEWER)
def campaign_figures(request, pk: int):
    """The live figures alone, for the detail page to refresh in place."""
    campaign = selectors.campaign_for_shop(request.shop, pk)
    return render(request, "campaigns/dashboard/_figures.html", _detail_context(campaign))


@require_POST
@operator_required(OPERATOR)
def campaign_action(request, pk: int, action: str):
    """Schedule, unschedule or cancel; the service decides whether the move is allowed now."""
    campaign = selectors.campaign_for_shop(request.shop, pk)
    calls = {
        "schedule": (lambda: services.schedule_campaign(campaign=campaign, by=request.user), _("活动已排期。")),
        "unschedule": (lambda: services.unschedule_campaign(campaign=campaign, by=request.user), _("已撤回为草稿。")),
        "cancel": (
            lambda: services.cancel_campaign(
                campaign=campaign, by=request.user, reason=request.POST.get("reason", "")[:200]
            ),
            _("活动已取消，进行中的团将自动退款。"),
        ),
    }
    if action not in calls:
        raise Http404
    call, done = calls[action]
    try:
        moved = call()
    except ValidationError as error:
        messages.error(request, "；".join(error.messages))
    else:
        if action == "schedule" and moved.state == CampaignState.RUNNING:
            done = _("活动已上线，现在就在进行中。")  # its start had already come
        messages.success(request, done)
    return redirect("dashboard:campaign_detail", pk=campaign.pk)


# --- Share: the campaign's own link, QR code and poster ------------------------------------------------


def public_url(campaign) -> str:
    """The landing page's address without anyone's share token: the operator's posters credit nobody."""
    return settings.SITE_URL + campaign.get_absolute_url()


@require_GET
@operator_required(VIEWER)
def campaign_qr(request, pk: int):
    campaign = selectors.campaign_for_shop(request.shop, pk)
    response = HttpResponse(qr.qr_png(public_url(campaign)), content_type="image/png")
    response["Content-Disposition"] = f'inline; filename="campaign-{campaign.pk}-qr.png"'
    return response


@require_GET
@operator_required(VIEWER)
def campaign_poster(request, pk: int):
    """下载海报: the campaign's poster (product, prices, mechanic) under the shop's name, to post anywhere."""
    campaign = selectors.campaign_for_shop(request.shop, pk)
    png = posters.poster_png(
        inviter_name=request.shop.name,
        url=public_url(campaign),
        expires_at=campaign.ends_at,
        cover=campaign_posters.product_picture(campaign),
        **campaign_posters.poster_words(campaign),
    )
    response = HttpResponse(png, content_type="image/png")
    response["Content-Disposition"] = f'attachment; filename="campaign-{campaign.pk}-poster.png"'
    return response
