"""A campaign's funnel in one group, end to end: its share page opened from a member of the group, the opener
signed in, joining; the funnel of that campaign in that group counts each step, another group's none."""

from decimal import Decimal

import pytest
from django.utils import timezone

from analytics import facts, reports
from campaigns import services
from campaigns.models import CampaignVisit
from groups.models import Channel
from groups.services import join_via_link
from tests.builders.campaigns import make_campaign
from tests.builders.orders import make_buyer
from tests.factories import GroupFactory, InviteLinkFactory, SkuFactory, UserFactory

pytestmark = pytest.mark.django_db


def _steps(shop, campaign, group) -> dict:
    today = timezone.localdate()
    f = {"start": today, "end": today, "compare_start": today, "compare_end": today, "channel": ""}
    report = reports.funnel(shop.pk, {**f, "group": group, "campaign": campaign})
    return {row["key"]: row["count"] for row in report.table("funnel").rows}


def test_a_campaigns_funnel_in_a_group_counts_the_opens_of_its_share_pages_there(client, shop, owner):
    group, elsewhere = GroupFactory(shop=shop), GroupFactory(shop=shop)
    campaign = make_campaign(shop, SkuFactory(product__shop=shop, price=Decimal("59.90"), stock=50), owner=owner)
    sharer = make_buyer(group)
    share = services.share_path(campaign, sharer)
    assert client.get(share).status_code == 200  # opened signed out
    newcomer = UserFactory()
    client.force_login(newcomer)
    client.get(share)  # back signed in
    visits = list(CampaignVisit.objects.order_by("pk").values_list("kind", "group_id", "channel"))
    assert visits == [("opened", group.pk, Channel.MEMBER), ("signed_in", group.pk, Channel.MEMBER)]
    join_via_link(user=newcomer, code=InviteLinkFactory(group=group, inviter=sharer).code)

    facts.rebuild_shop(shop_id=shop.pk)
    steps = _steps(shop, campaign, group)
    assert (steps["link_opens"], steps["signed_in_opens"], steps["joins"]) == (1, 1, 1)
    assert _steps(shop, campaign, elsewhere)["link_opens"] == 0
