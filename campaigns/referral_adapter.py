"""The engine's one door into the referrals app: campaign acts become referral events, brand-new members
brought by a share link get a referral edge, refused self-acts and fraud thresholds come from fraud review.
(Kept in one module so a change of the referrals API touches one place.)"""

from decimal import Decimal

from referrals import fraud
from referrals import services as referrals

CHANNEL = "campaign"


def record_campaign_act(*, campaign, inviter, invitee, key: str, amount: Decimal, group, occurred_at, ip, device: str):
    return referrals.record_campaign_act(
        shop_id=campaign.shop_id,
        campaign_id=campaign.pk,
        inviter=inviter,
        invitee=invitee,
        key=key,
        amount=amount,
        group=group,
        occurred_at=occurred_at,
        ip=ip,
        device=device,
    )


def record_join_edge(*, campaign, inviter, invitee, group, ip, device: str, order=None):
    """Bind a brand-new member to the inviter whose share link brought them (the shop's or the campaign's
    binding rule decides; a person already bound keeps their inviter under first-bind). `order`: the paid
    order the act was (a 拼团 seat): a new binding counts it as the member's first order."""
    return referrals.record_join(
        shop_id=campaign.shop_id,
        invitee=invitee,
        inviter=inviter,
        group=group,
        channel=CHANNEL,
        new_to_shop=True,
        campaign_id=campaign.pk,
        ip=ip,
        device=device,
        paid_order=order,
    )


def young_account_minutes(shop_id: int) -> int:
    return fraud.fraud_settings(shop_id).young_account_minutes


def record_self_attempt(*, shop_id: int, user, action: str, ip, device: str) -> None:
    fraud.record_self_referral_attempt(shop_id=shop_id, user=user, action=action, ip=ip, device=device)


def record_check_in(*, campaign, member, day, group, occurred_at):
    """A check-in day, credited to the member: what the check-in boards count (referrals.leaderboards)."""
    return referrals.record_check_in(
        shop_id=campaign.shop_id, campaign_id=campaign.pk, member=member, day=day, group=group, occurred_at=occurred_at
    )


def credit_points(*, campaign, member_id: int, points: int, key: str):
    """Points a campaign's rule gives a member (a check-in milestone), into the shop's points ledger once per
    key, in the caller's transaction."""
    from referrals import points as ledger
    from referrals.models import PointsEntryKind

    return ledger.post_points(
        shop_id=campaign.shop_id,
        member_id=member_id,
        points=points,
        kind=PointsEntryKind.EARN,
        key=key,
        campaign_id=campaign.pk,
    )


def credit_commission(*, campaign, member_id: int, amount: Decimal, key: str):
    """Cash a campaign's rule gives a member (a contest's prize), into their commission balance once per key,
    in the caller's transaction; withdrawn like any commission."""
    return referrals.credit_commission(
        shop_id=campaign.shop_id, member_id=member_id, amount=amount, key=key, campaign_id=campaign.pk
    )


def open_fraud_members(*, shop_id: int, member_ids) -> set[int]:
    """Of these members, those with a fraud flag still waiting for review in the shop."""
    from referrals.fraud_models import FlagStatus, FraudFlag

    return set(
        FraudFlag.objects.filter(shop_id=shop_id, member_id__in=list(member_ids), status=FlagStatus.OPEN).values_list(
            "member_id", flat=True
        )
    )
