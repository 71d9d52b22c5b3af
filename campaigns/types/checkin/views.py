"""Members' 打卡 pages (mobile H5), mounted at /m/c/ in the namespace "campaigns" (urls.py): the check-in
page (today's state, the check-in form, my streak, total and make-up cards, today's feed of my group and
the group's boards), checking in, and filling a missed day with a make-up card. The operators' hide and
show of a check-in are in dashboard_views.py.

Thin views: the rules live in kind.py. The campaign is public (its landing page is shared); the feed and
boards shown are those of a group the member is in, so a non-member sees neither.
"""

from datetime import date

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from campaigns import selectors, services
from campaigns.models import Campaign, CampaignType
from shequn.decorators import member_login_required

from . import boards
from . import kind as checkin
from .forms import CheckInForm
from .kind import CheckinRefused


def _checkin_campaign(pk: int) -> Campaign:
    campaign = selectors.public_campaign(pk)
    if campaign.type != CampaignType.CHECKIN:
        raise Http404
    return campaign


def page_context(campaign: Campaign, user, *, form: CheckInForm | None = None, now=None) -> dict:
    """What the member's check-in page shows: a constant number of queries whatever the feed's length."""
    now = now or timezone.now()
    today = checkin.shop_day(now)
    groups = services.member_groups_for(campaign, user)
    group = groups[0] if groups else None
    standing = checkin.standing_of(campaign, user)
    problem = checkin.check_in_problem(campaign, user, now=now)
    rules = checkin.Rules.of(campaign)
    return {
        "campaign": campaign,
        "rules": rules,
        "today": today,
        "group": group,
        "form": form or CheckInForm(),
        "standing": standing,
        "streak": checkin.current_streak(standing, today),
        "cards_left": checkin.cards_left(campaign, standing),
        "missing_days": checkin.missing_days(campaign, user, today) if group is not None else [],
        "checked_in_today": problem == "already",
        "problem_message": checkin.refusal(problem, campaign).message_text if problem and problem != "already" else "",
        "feed": checkin.feed(campaign, group, today) if group is not None else [],
        "boards": boards.group_boards(campaign, group, user, today) if group is not None else [],
        "milestones": list(campaign.checkin_milestones.filter(member=user).order_by("days")),
        "lang_next": campaign.get_absolute_url(),
    }


@require_GET
@member_login_required
def checkin_page(request: HttpRequest, pk: int) -> HttpResponse:
    campaign = _checkin_campaign(pk)
    return render(request, "campaigns/checkin/page.html", page_context(campaign, request.user))


@require_POST
@member_login_required
def check_in(request: HttpRequest, pk: int) -> HttpResponse:
    """打卡: the text and photo of the form; a refusal is shown on the page with what was typed kept."""
    campaign = _checkin_campaign(pk)
    form = CheckInForm(request.POST, request.FILES)
    if form.is_valid():
        try:
            checkin.check_in(
                campaign=campaign,
                member=request.user,
                text=form.cleaned_data["text"],
                photo=form.cleaned_data["photo"],
            )
        except CheckinRefused as refused:
            form.add_error(None, refused.message_text)
        except ValidationError as error:
            for field, errors in (
                error.message_dict.items() if hasattr(error, "error_dict") else [(None, error.messages)]
            ):
                for message in errors:
                    form.add_error(field if field in form.fields else None, message)
        else:
            messages.success(request, _("打卡成功！"))
            return redirect("campaigns:checkin_page", pk=campaign.pk)
    return render(request, "campaigns/checkin/page.html", page_context(campaign, request.user, form=form), status=400)


@require_POST
@member_login_required
def make_up(request: HttpRequest, pk: int) -> HttpResponse:
    """补卡: fill the missed day named by `day` (YYYY-MM-DD) with a make-up card."""
    campaign = _checkin_campaign(pk)
    try:
        day = date.fromisoformat(request.POST.get("day", ""))
    except ValueError:
        messages.error(request, _("请选择要补卡的日期。"))
        return redirect("campaigns:checkin_page", pk=campaign.pk)
    try:
        checkin.make_up(campaign=campaign, member=request.user, day=day)
    except CheckinRefused as refused:
        messages.error(request, refused.message_text)
    else:
        messages.success(request, _("已补卡：%(day)s") % {"day": day.isoformat()})
    return redirect("campaigns:checkin_page", pk=campaign.pk)
