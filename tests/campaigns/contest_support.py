"""Shared set-up of the 比 contest tests: a contest running or just ended, members who bring invitees, and
the events the ranking counts, recorded through the referrals' recording path."""

from datetime import timedelta

from django.utils import timezone

from campaigns import services
from campaigns.models import Campaign, CampaignState, CampaignType
from referrals.models import EventKind
from tests.builders.campaigns import make_campaign
from tests.builders.orders import make_buyer
from tests.factories import GroupFactory, UserFactory
from tests.referrals.board_support import record

TIERS = "1 积分 500\n2-3 现金 20"


def contest(shop, *, settings=None, days=7, **fields):
    """A running contest of the shop (qualified invites, 1st: 500 points, 2nd–3rd: ¥20) that started `days`
    days ago and ends in a day."""
    now = timezone.now()
    return make_campaign(
        shop,
        None,
        type=CampaignType.CONTEST,
        name=fields.pop("name", "邀请达人赛"),
        hook_title=fields.pop("hook_title", "邀请达人赛"),
        cta_text=fields.pop("cta_text", "查看排行榜"),
        settings={"metric": "qualified", "tiers": TIERS, "minimum": "1", **(settings or {})},
        starts_at=fields.pop("starts_at", now - timedelta(days=days)),
        ends_at=fields.pop("ends_at", now + timedelta(days=1)),
        **fields,
    )


def end(campaign, *, ago=timedelta(minutes=5)) -> Campaign:
    """Move the contest's end into the past and let the engine's job end it."""
    now = timezone.now()
    Campaign.objects.filter(pk=campaign.pk).update(ends_at=now - ago)
    services.end_due(now=now)
    campaign.refresh_from_db()
    assert campaign.state == CampaignState.ENDED
    return campaign


def invites(campaign, inviter, n, *, group=None, at=None, kind=EventKind.QUALIFIED, amount="0"):
    """`n` qualified invitees (or other events of `kind`) credited to `inviter` at `at` (default: an hour ago)."""
    at = at or timezone.now() - timedelta(hours=1)
    return [
        record(
            shop=campaign.shop,
            inviter=inviter,
            invitee=UserFactory(),
            kind=kind,
            at=at + timedelta(seconds=i),
            group=group,
            amount=amount,
        )
        for i in range(n)
    ]


def members(group, n):
    return [make_buyer(group) for _ in range(n)]


def a_group(shop, **fields):
    return GroupFactory(shop=shop, **fields)
