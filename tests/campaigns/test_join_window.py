"""How long a campaign share page's visit credits a later first join to the campaign: a shop setting (a day by
default), bounded, set by the owner in the shop's settings and recorded in the audit log."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from campaigns import services
from campaigns.models import CampaignVisit
from groups.models import Membership
from groups.services import join_via_link
from shops.models import AuditEntry
from tests.builders.campaigns import make_campaign
from tests.builders.orders import make_buyer
from tests.builders.shops import change_settings
from tests.factories import GroupFactory, InviteLinkFactory, SkuFactory, UserFactory

pytestmark = pytest.mark.django_db


def _join_after_visit(client, shop, owner, *, hours_before: float) -> Membership:
    """Someone opens a member's share link signed in, then joins the sharer's group `hours_before` later."""
    group = GroupFactory(shop=shop)
    campaign = make_campaign(shop, SkuFactory(product__shop=shop, price=Decimal("59.90"), stock=50), owner=owner)
    sharer, newcomer = make_buyer(group), UserFactory()
    client.force_login(newcomer)
    assert client.get(services.share_path(campaign, sharer)).status_code == 200
    visit = CampaignVisit.objects.get(campaign=campaign)
    CampaignVisit.objects.filter(pk=visit.pk).update(at=visit.at - timedelta(hours=hours_before))
    joined = join_via_link(user=newcomer, code=InviteLinkFactory(group=group, inviter=sharer).code)
    return Membership.objects.get(pk=joined.pk)


def _set_window(shop, owner, hours):
    change_settings(shop, owner, campaign_join_window_hours=hours)


def test_a_join_within_the_shops_window_is_the_campaigns_and_one_after_it_is_not(client, shop, owner):
    assert shop.settings.campaign_join_window_hours == 24  # the default: a day
    assert _join_after_visit(client, shop, owner, hours_before=20).campaign_id is not None
    _set_window(shop, owner, 3)
    assert _join_after_visit(client, shop, owner, hours_before=4).campaign_id is None
    assert _join_after_visit(client, shop, owner, hours_before=2).campaign_id is not None
    _set_window(shop, owner, 48)
    assert _join_after_visit(client, shop, owner, hours_before=30).campaign_id is not None


def test_the_owner_sets_the_window_within_its_bounds_and_the_change_is_audited(client, shop, owner):
    owner_client = client
    owner_client.force_login(owner)
    url = reverse("dashboard:shop_settings")
    form = owner_client.get(url).context["form"]
    assert form["campaign_join_window_hours"].value() == 24
    fields = {
        "group_hard_cap": 350,
        "default_group_capacity": 200,
        "default_rotation_threshold": 180,
        "payment_timeout_minutes": 30,
        "bargain_pay_within_minutes": 1440,
    }
    refused = owner_client.post(url, {**fields, "campaign_join_window_hours": 0})
    assert refused.status_code == 200 and "campaign_join_window_hours" in refused.context["form"].errors
    assert owner_client.post(url, {**fields, "campaign_join_window_hours": 721}).status_code == 200
    assert owner_client.post(url, {**fields, "campaign_join_window_hours": 6}).status_code == 302
    shop.settings.refresh_from_db()
    assert shop.settings.campaign_join_window_hours == 6
    entry = AuditEntry.objects.filter(shop=shop, action="shop.settings.update").latest("at")
    assert (entry.before["campaign_join_window_hours"], entry.after["campaign_join_window_hours"]) == (24, 6)
    with pytest.raises(ValidationError) as outside:
        _set_window(shop, owner, 721)
    assert set(outside.value.message_dict) == {"campaign_join_window_hours"}
