"""Out-of-range amounts and counts typed into the campaign editor are a message on the field, never a
500, both when saving and from the live-validation endpoint (issue 18)."""

import pytest
from django.urls import reverse

from campaigns.models import Campaign
from tests.campaigns.test_dashboard import _bargain_form, _form, _help_form

pytestmark = pytest.mark.django_db

HUGE = ["1e30", "-1e30", "1E+999999999", "-99999999999999999999"]


@pytest.mark.parametrize("value", HUGE)
@pytest.mark.parametrize(
    "make, field",
    [
        (_form, "s-group_price"),
        (_form, "budget"),
        (_form, "s-leader_discount"),
        (_help_form, "s-reward_price"),
        (_bargain_form, "s-floor_price"),
    ],
)
def test_a_huge_amount_is_a_message_on_its_field(operator_client, gb_sku, make, field, value):
    response = operator_client.post(reverse("dashboard:campaign_create"), make(gb_sku, **{field: value}))
    assert response.status_code == 400
    name = field.removeprefix("s-")
    live = operator_client.post(reverse("dashboard:campaign_validate"), make(gb_sku, **{field: value}))
    assert live.status_code == 200 and live.json()["errors"][name]
    assert not Campaign.objects.exists()


@pytest.mark.parametrize("value", ["99999999999999999999", "1e30", str(2**63)])
@pytest.mark.parametrize("field", ["stock_cap", "per_member_limit", "s-team_size", "s-time_limit_minutes"])
def test_a_twenty_digit_count_is_a_message_on_its_field(operator_client, gb_sku, field, value):
    response = operator_client.post(reverse("dashboard:campaign_create"), _form(gb_sku, **{field: value}))
    assert response.status_code == 400
    live = operator_client.post(reverse("dashboard:campaign_validate"), _form(gb_sku, **{field: value}))
    assert live.json()["errors"][field.removeprefix("s-")]


def test_a_huge_price_in_a_tier_line_names_the_line(operator_client, gb_sku):
    live = operator_client.post(reverse("dashboard:campaign_validate"), _form(gb_sku, **{"s-tiers": "3 39\n5 -1e30"}))
    assert "第 2 档" in live.json()["errors"]["tiers"][0]
