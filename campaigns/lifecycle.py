"""The campaign state machine: one table of allowed moves, one function that applies and records a move."""

from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext as _

from . import registry
from .models import Campaign, CampaignState, CampaignTransition

ALLOWED_TRANSITIONS: dict[str, frozenset[str]] = {
    CampaignState.DRAFT: frozenset({CampaignState.SCHEDULED, CampaignState.CANCELLED}),
    CampaignState.SCHEDULED: frozenset({CampaignState.DRAFT, CampaignState.RUNNING, CampaignState.CANCELLED}),
    CampaignState.RUNNING: frozenset({CampaignState.ENDED, CampaignState.CANCELLED}),
    CampaignState.ENDED: frozenset(),
    CampaignState.CANCELLED: frozenset(),
}
# States in which the operator may still change everything (nobody has taken part yet).
EDITABLE_STATES = (CampaignState.DRAFT, CampaignState.SCHEDULED)


class CampaignTransitionRefused(ValidationError):
    pass


def transition_campaign(*, campaign: Campaign, to_state: str, by=None, reason: str = "") -> Campaign:
    """Move `campaign` to `to_state` if allowed from the state it is in *now*, record it, and tell its kind
    (on_start when it starts running, on_end when it ends or is cancelled after running).

    Must run inside the caller's transaction. One conditional UPDATE on the current state decides, so of
    two concurrent moves (a job and an operator) exactly one wins; the loser is refused.
    """
    from_state = campaign.state
    if to_state not in ALLOWED_TRANSITIONS[from_state]:
        raise CampaignTransitionRefused(
            _("活动当前为「%(from)s」，不能变为「%(to)s」。")
            % {"from": CampaignState(from_state).label, "to": CampaignState(to_state).label}
        )
    if Campaign.objects.filter(pk=campaign.pk, state=from_state).update(state=to_state) != 1:
        campaign.refresh_from_db(fields=["state"])
        raise CampaignTransitionRefused(
            _("活动状态已变化（现在是「%(now)s」），请刷新后重试。") % {"now": CampaignState(campaign.state).label}
        )
    CampaignTransition.objects.create(
        campaign=campaign, from_state=from_state, to_state=to_state, by=by, reason=reason[:200], at=timezone.now()
    )
    campaign.state = to_state
    kind = registry.get(campaign.type)
    if to_state == CampaignState.RUNNING:
        kind.on_start(campaign)
    elif to_state in (CampaignState.ENDED, CampaignState.CANCELLED):
        kind.on_end(campaign)
    return campaign
