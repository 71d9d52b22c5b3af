"""The group lifecycle: one table of allowed moves and one function that applies and records a move."""

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from .models import Group, GroupState, GroupTransition

ALLOWED_TRANSITIONS: dict[str, frozenset[str]] = {
    GroupState.PREPARING: frozenset({GroupState.RECRUITING, GroupState.ARCHIVED}),
    GroupState.RECRUITING: frozenset({GroupState.ACTIVE, GroupState.ARCHIVED}),
    GroupState.ACTIVE: frozenset({GroupState.COOLING, GroupState.ARCHIVED}),
    GroupState.COOLING: frozenset({GroupState.ACTIVE, GroupState.ARCHIVED}),
    GroupState.ARCHIVED: frozenset(),
}
# States in which people may join through a link (preparing groups are still gathering seed users).
JOINABLE_STATES = (GroupState.RECRUITING, GroupState.ACTIVE, GroupState.COOLING)


def allowed_next_states(state: str) -> list[str]:
    return [s for s in GroupState.values if s in ALLOWED_TRANSITIONS[state]]


def transition_group(*, group: Group, to_state: str, by=None, reason: str = "", at=None) -> Group:
    """Move a group to `to_state` if the table allows it from its current state; record who and why.

    The row is locked for the move, so two concurrent moves cannot both start from the same state.
    `at` is when the move happened (now by default; the periodic jobs pass the time they run for).
    """
    with transaction.atomic():
        locked = Group.objects.select_for_update().get(pk=group.pk)
        if to_state not in ALLOWED_TRANSITIONS[locked.state]:
            raise ValidationError(
                _("不能从「%(from)s」变为「%(to)s」。")
                % {"from": GroupState(locked.state).label, "to": GroupState(to_state).label}
            )
        GroupTransition.objects.create(
            group=locked, from_state=locked.state, to_state=to_state, by=by, reason=reason, at=at or timezone.now()
        )
        locked.state = to_state
        locked.save(update_fields=["state"])
    group.state = to_state
    return group
