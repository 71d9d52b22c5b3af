"""The campaign launch wizard (发起活动): 1 the type → 2 the product → 3 the numbers that matter → 4 the
preview of the landing page and the poster at phone size → 立即上线 or 定时上线. It works for every type
registered in campaigns.registry, through the kind's settings form and its `essential_settings`.

What is written when: nothing until step 3 is passed. Steps 2 and 3 are one form posted back and forth
(every field travels in every post, the other step's fields hidden), so 上一步 keeps what was typed.
Passing step 3 saves the campaign as a draft (services.create_campaign, or update_campaign when the
operator comes back to it), which the preview renders for real; step 4 launches the draft
(services.launch_campaign). Each write takes `by=` and is audited. The rules are the editor's:
services.validate_campaign with the type's settings form, through dashboard_views.save_forms.

Operators of the shop write; viewers get 403; another shop's draft is a 404.
"""

from datetime import timedelta

from django import forms
from django.contrib import messages
from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.clickjacking import xframe_options_sameorigin
from django.views.decorators.http import require_GET

from orders.models import Sku
from shequn.csp import POLICY
from shops.models import OperatorRole
from shops.tenancy import operator_required

from . import registry, selectors, services
from .dashboard_views import (
    SETTINGS_PREFIX,
    JsonSettingsForm,
    editor_forms,
    engine_fields_from,
    kind_or_404,
    make_settings_form,
    public_url,
    save_forms,
)
from .forms import CampaignForm, LaunchForm
from .member_views import landing_context
from .models import CampaignState

VIEWER, OPERATOR = OperatorRole.VIEWER, OperatorRole.OPERATOR
PRODUCT, NUMBERS = "product", "numbers"
PRODUCT_FIELDS = ("sku", "product")
# The engine's fields under 高级设置 on step 3, in the order shown; each has a default (empty: no limit).
ADVANCED_FIELDS = (
    "name",
    "starts_at",
    "ends_at",
    "stock_cap",
    "budget",
    "per_member_limit",
    "all_groups",
    "groups",
    "series",
    "hook_title",
    "hook_text",
    "proof_text",
    "cta_text",
)
UNLIMITED_FIELDS = ("stock_cap", "budget", "per_member_limit")
# The frame the preview is shown in may be this site's own page; nobody else's.
PREVIEW_POLICY = POLICY.replace("frame-ancestors 'none'", "frame-ancestors 'self'")


# --- Step 1: the type -----------------------------------------------------------------------------------


@require_GET
@operator_required(OPERATOR)
def launch_start(request):
    return render(request, "campaigns/dashboard/launch_type.html", {"kinds": registry.all(), "step": 1})


# --- Steps 2 and 3: the product, then the numbers ---------------------------------------------------------


@operator_required(OPERATOR)
def launch_new(request, code: str):
    return _steps(request, kind=kind_or_404(code), campaign=None)


@operator_required(OPERATOR)
def launch_draft(request, pk: int):
    """The wizard again for a draft (back from the preview): step 3, filled from the draft."""
    campaign = selectors.campaign_for_shop(request.shop, pk)
    if campaign.state != CampaignState.DRAFT:
        messages.info(request, _("这个活动已不是草稿，请在活动页修改。"))
        return redirect("dashboard:campaign_detail", pk=campaign.pk)
    return _steps(request, kind=kind_or_404(campaign.type), campaign=campaign)


def _steps(request, *, kind, campaign):
    if request.method != "POST":
        form, settings_form = editor_forms(request, shop=request.shop, kind=kind, campaign=campaign)
        return _render_steps(request, kind, campaign, form, settings_form, step=NUMBERS if campaign else PRODUCT)
    step = request.POST.get("step") if request.POST.get("step") in (PRODUCT, NUMBERS) else PRODUCT
    going_on = request.POST.get("go") != "back"
    data = request.POST.copy()
    data["type"] = kind.code
    form, settings_form = _bound(data, shop=request.shop, kind=kind)
    if step == NUMBERS and not going_on:
        _keep_only(form, settings_form, {})
        return _render_steps(request, kind, campaign, form, settings_form, step=PRODUCT)
    if step == PRODUCT:
        errors = _product_errors(form, kind=kind, shop=request.shop, campaign=campaign)
        if not errors and not data.get("name", "").strip():
            data["name"] = _default_name(request.shop, kind, data.get("sku"))
            form, settings_form = _bound(data, shop=request.shop, kind=kind)
        _keep_only(form, settings_form, errors)
        return _render_steps(
            request,
            kind,
            campaign,
            form,
            settings_form,
            step=PRODUCT if errors else NUMBERS,
            status=400 if errors else 200,
        )
    saved = save_forms(request, form=form, settings_form=settings_form, kind=kind, campaign=campaign)
    if saved is None:
        back = any(name in form.errors for name in PRODUCT_FIELDS)
        return _render_steps(
            request, kind, campaign, form, settings_form, step=PRODUCT if back else NUMBERS, status=400
        )
    return redirect("dashboard:campaign_launch_preview", pk=saved.pk)


def _bound(data, *, shop, kind):
    form = CampaignForm(data, shop=shop)
    form.fields["type"].widget = forms.HiddenInput()
    return form, make_settings_form(kind, shop, data, prefix=SETTINGS_PREFIX)


def _default_name(shop, kind, sku_pk) -> str:
    """「<product> · <type>」 when a SKU of the shop is chosen, else the type's name: changeable on step 3."""
    sku = None
    if str(sku_pk or "").isdigit() and len(str(sku_pk)) <= 18:
        sku = Sku.objects.filter(product__shop=shop, pk=int(sku_pk)).select_related("product").first()
    name = f"{sku.product.name} · {kind.label}" if sku else str(kind.label)
    return name[: services.TEXT_LIMITS["name"]]


def _product_errors(form, *, kind, shop, campaign) -> dict[str, list[str]]:
    """Step 2: the product fields' own shape, then the engine's product rules (services.clean_engine_fields);
    the type's numbers are not asked for yet."""
    form.is_valid()
    errors = {name: list(form.errors[name]) for name in PRODUCT_FIELDS if name in form.errors}
    if errors:
        return errors
    _kind, _cleaned, engine_errors = services.clean_engine_fields(
        shop=shop, type=kind.code, fields=engine_fields_from(form), campaign=campaign
    )
    return {name: [engine_errors[name]] for name in PRODUCT_FIELDS if name in engine_errors}


def _keep_only(form, settings_form, errors: dict) -> None:
    """Show only the step's own messages: what step 3 has not been asked yet is not an error yet."""
    form.is_valid()
    settings_form.is_valid()
    form._errors = forms.utils.ErrorDict({name: form.error_class(messages) for name, messages in errors.items()})
    settings_form._errors = forms.utils.ErrorDict()


def _render_steps(request, kind, campaign, form, settings_form, *, step: str, status: int = 200):
    for name in UNLIMITED_FIELDS:
        form.fields[name].widget.attrs.setdefault("placeholder", _("不限"))
    essential = [name for name in kind.essential_settings if name in settings_form.fields]
    # A type may also ask one of the engine's own numbers up front (a flash sale's stock cap and limit).
    essential_engine = [name for name in kind.essential_settings if name in ADVANCED_FIELDS]
    is_json = isinstance(settings_form, JsonSettingsForm)
    advanced_settings = [settings_form[name] for name in settings_form.fields if name not in essential]
    chosen = form["sku"].value()
    keep = int(chosen) if str(chosen or "").isdigit() and len(str(chosen)) <= 18 else None
    errors = _named_errors(form, settings_form) if form.is_bound else []
    advanced_names = (set(ADVANCED_FIELDS) - set(essential_engine)) | {
        name for name in settings_form.fields if name not in essential
    }
    return render(
        request,
        "campaigns/dashboard/launch_steps.html",
        {
            "kind": kind,
            "campaign": campaign,
            "form": form,
            "settings_form": settings_form,
            "step": 2 if step == PRODUCT else 3,
            "step_name": step,
            "skus": selectors.skus_to_launch(request.shop, keep=keep),
            "chosen_sku": str(chosen or ""),
            "essential": [
                settings_form[name] if name in essential else form[name]
                for name in kind.essential_settings
                if name in essential or name in essential_engine
            ],
            "advanced_settings": advanced_settings,
            "advanced_engine": [form[name] for name in ADVANCED_FIELDS if name not in essential_engine],
            "advanced_open": is_json or any(name in advanced_names for name in _error_fields(form, settings_form)),
            "errors": errors,
        },
        status=status,
    )


def _error_fields(form, settings_form) -> set[str]:
    if not form.is_bound:
        return set()
    return set(form.errors) | set(settings_form.errors if settings_form.is_bound else {})


def _named(label, message) -> str:
    return _("%(field)s：%(message)s") % {"field": label, "message": message} if label else str(message)


def _named_errors(*bound_forms) -> list[str]:
    """Every message with the field it is about: 「拼团价（元）：请填写金额。」."""
    named = []
    for bound_form in bound_forms:
        for name, messages_ in bound_form.errors.items():
            label = bound_form.fields[name].label if name in bound_form.fields else ""
            named += [_named(label, message) for message in messages_]
    return named


# --- Step 4: the preview, then launch ---------------------------------------------------------------------


@operator_required(OPERATOR)
def launch_preview(request, pk: int):
    """The draft's landing page and poster at phone size, and 立即上线 / 定时上线 (services.launch_campaign)."""
    campaign = selectors.campaign_for_shop(request.shop, pk)
    if campaign.state != CampaignState.DRAFT:
        return redirect("dashboard:campaign_detail", pk=campaign.pk)
    later = timezone.localtime(max(campaign.starts_at, timezone.now() + timedelta(hours=1)))
    form = LaunchForm(request.POST or None, initial={"starts_at": later.replace(second=0, microsecond=0)})
    if request.method == "POST" and form.is_valid():
        try:
            launched = services.launch_campaign(
                campaign=campaign,
                by=request.user,
                starts_at=form.cleaned_data["starts_at"] if form.cleaned_data["when"] == "later" else None,
            )
        except ValidationError as error:
            _launch_errors(form, error)
        else:
            if launched.state == CampaignState.RUNNING:
                messages.success(request, _("活动已上线，现在就在进行中。海报和链接在下面。"))
            else:
                at = timezone.localtime(launched.starts_at).strftime("%Y-%m-%d %H:%M")
                messages.success(request, _("活动已排期，将于 %(at)s 自动上线。") % {"at": at})
            return redirect("dashboard:campaign_detail", pk=launched.pk)
    kind = registry.get(campaign.type)
    return render(
        request,
        "campaigns/dashboard/launch_preview.html",
        {
            "campaign": campaign,
            "kind": kind,
            "form": form,
            "step": 4,
            "public_url": public_url(campaign),
            "errors": _named_errors(form),
        },
        status=400 if form.errors else 200,
    )


def _launch_errors(form, error: ValidationError) -> None:
    """The rules' messages on the launch form: the start on its field, the others named by their label."""
    if not hasattr(error, "error_dict"):
        form.add_error(None, error.messages)
        return
    labels = {name: field.label for name, field in CampaignForm.base_fields.items()}
    for field, messages_ in error.message_dict.items():
        if field == "starts_at":
            form.add_error("starts_at", messages_)
        else:
            form.add_error(None, [_named(labels.get(field, ""), message) for message in messages_])


@require_GET
@xframe_options_sameorigin
@operator_required(VIEWER)
def landing_preview(request, pk: int):
    """The member landing page of a draft as a visitor who is not signed in will see it once it runs, for
    the wizard's phone-sized frame. The campaign is shown running in memory only; nothing is saved."""
    campaign = selectors.campaign_for_shop(request.shop, pk)
    campaign.state = CampaignState.RUNNING
    context = landing_context(request, campaign, user=AnonymousUser(), inviter=None)
    response = render(request, "campaigns/landing.html", {**context, "preview": True})
    response["Content-Security-Policy"] = PREVIEW_POLICY
    return response
