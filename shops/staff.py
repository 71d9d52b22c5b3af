"""Who is the shop's staff, for the apps above shops that must treat staff apart (groups, referrals)."""

from .models import Operator


def is_shop_staff(shop_id: int, user_id: int | None) -> bool:
    """True for the shop's owner, operators and viewers.

    They are never credited with a join or an act: a series code (群活码) or a channel link (poster,
    parcel card…) an operator made brings people for the shop, so such a join is the channel's (the
    membership's channel and the link's counters), not a referral by the operator. Staff therefore
    never appear on member leaderboards and never earn referral rewards.
    """
    return user_id is not None and shop_staff(shop_id, user_id).exists()


def shop_staff(shop_id: int, user_id: int | None):
    """The rows that make the user the shop's staff (none: not staff), for a caller that puts the check
    inside its own statement (referrals records an event only WHERE NOT EXISTS these)."""
    return Operator.objects.filter(shop_id=shop_id, user_id=user_id)
