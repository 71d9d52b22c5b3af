"""Issue 18: a campaign's poster sells — the product's picture, the prices, the mechanic and the sharer's
name, with purchase wording — and the operator downloads it (and the QR code and link) from the campaign's
dashboard page, carrying nobody's referral."""

import io

import pytest
import zxingcpp
from django.conf import settings
from django.urls import reverse
from PIL import Image

from campaigns import posters
from campaigns.types.bargain import kind as bargaining
from tests.builders.campaigns import open_team
from tests.campaigns.social_support import bargain_campaign, help_campaign, starter_in

pytestmark = pytest.mark.django_db


def _decoded(png: bytes) -> list[str]:
    return [b.text for b in zxingcpp.read_barcodes(Image.open(io.BytesIO(png)))]


def test_a_group_buy_poster_names_the_price_the_original_and_the_team(campaign, people):
    words = posters.poster_words(campaign)
    assert words["invite_words"] == "推荐给你" and words["call"] == "长按识别二维码购买"
    assert words["offer"] == "拼团价 ¥29.90 · 3 人团 · 原价 ¥59.90"

    team = open_team(campaign, people[0], people[0].memberships.get().group).team
    assert "还差 3 人" in posters.poster_words(campaign, team)["offer"]


def test_bargain_and_help_posters_say_their_mechanic(shop):
    bargain = bargain_campaign(shop)
    assert posters.poster_words(bargain)["offer"] == "最低砍到 ¥10.00 · 原价 ¥100.00"
    task = bargaining.start_bargain(campaign=bargain, member=starter_in(shop)[0], seed=3)
    assert f"还差 {task.cuts_planned} 刀" in posters.poster_words(bargain, task)["offer"]

    assert posters.poster_words(help_campaign(shop))["offer"].startswith("3 位好友助力 · ¥0.01 得")


def test_the_campaign_page_has_its_link_qr_and_poster(operator_client, campaign):
    page = operator_client.get(reverse("dashboard:campaign_detail", args=[campaign.pk])).content.decode()
    public = settings.SITE_URL + campaign.get_absolute_url()
    assert f'value="{public}"' in page and 'data-copy="campaign-url"' in page
    assert reverse("dashboard:campaign_qr", args=[campaign.pk]) in page
    assert reverse("dashboard:campaign_poster", args=[campaign.pk]) in page

    poster = operator_client.get(reverse("dashboard:campaign_poster", args=[campaign.pk]))
    qr = operator_client.get(reverse("dashboard:campaign_qr", args=[campaign.pk]))

    assert poster["Content-Type"] == "image/png" and "attachment" in poster["Content-Disposition"]
    assert _decoded(poster.content) == [public]  # the landing page itself: nobody's referral
    assert _decoded(qr.content) == [public]


def test_another_shops_campaign_has_no_poster_for_this_operator(client, other_shop, campaign):
    from tests.factories import OperatorFactory

    client.force_login(OperatorFactory(shop=other_shop).user)
    assert client.get(reverse("dashboard:campaign_poster", args=[campaign.pk])).status_code == 404
    assert client.get(reverse("dashboard:campaign_qr", args=[campaign.pk])).status_code == 404
