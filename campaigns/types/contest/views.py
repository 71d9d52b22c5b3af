"""The member's contest page (mobile H5), mounted at /m/c/<id>/contest/ in the namespace "campaigns": the
board (live during the period, the frozen final ranking once settled), my rank, the gap to the next prize
and my prizes. Thin: the rules live in kind.py. The board is public like the landing page; "mine" and the
prizes are the signed-in member's own."""

from urllib.parse import urlencode

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_GET

from campaigns import selectors, services
from campaigns.models import Campaign, CampaignType, ContestPrize

from . import kind as contest


def _contest(pk: int) -> Campaign:
    campaign = selectors.public_campaign(pk)
    if campaign.type != CampaignType.CONTEST:
        raise Http404
    return campaign


def page_context(campaign: Campaign, user) -> dict:
    """The board, the member's row and gap, and their prizes: a constant number of queries (the board is one
    cached ranking or one stored list)."""
    rules = contest.Rules.of(campaign)
    rows, final = contest.board(campaign)
    signed_in = getattr(user, "is_authenticated", False)
    mine = None
    prizes = []
    if signed_in:
        group_ids = {g.pk for g in services.member_groups_for(campaign, user)} if rules.for_groups else set()
        mine = contest.my_row(rows, member_id=None if rules.for_groups else user.pk, group_ids=group_ids)
        prizes = list(ContestPrize.objects.filter(campaign=campaign, member=user).select_related("entry"))
    return {
        "campaign": campaign,
        "rules": rules,
        "rows": [(r, rules.display(r.score)) for r in rows[: contest.SHOWN]],
        "size": len(rows),
        "final": final,
        "mine": mine,
        "mine_value": rules.display(mine.score) if mine else None,
        "gap": None if final or not signed_in else contest.gap_to_next_prize(rules, rows, mine),
        "prizes": prizes,
        "tiers": [{"ranks": contest.ranks_words(t), "prize": contest.tier_words(t)} for t in rules.tiers],
        "lang_next": campaign.get_absolute_url(),
    }


@require_GET
def contest_page(request: HttpRequest, pk: int) -> HttpResponse:
    campaign = _contest(pk)
    context = page_context(campaign, request.user)
    context["login_url"] = f"{reverse('account_request_login_code')}?{urlencode({'next': request.get_full_path()})}"
    return render(request, "campaigns/contest/page.html", context)
