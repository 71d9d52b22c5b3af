"""Issue 18: a member's own bargain or help task page offers its poster — the product's picture, the
prices, what the task still lacks (还差 N 刀, 还差 N 人助力) and the sharer's name — whose QR code is the
task's share link carrying the starter's referral. Nobody else gets the starter's poster."""

import io

import pytest
import zxingcpp
from django.urls import reverse
from PIL import Image

from campaigns import posters, services
from campaigns.types.bargain import kind as bargaining
from campaigns.types.help import kind as helping
from tests.campaigns.social_support import bargain_campaign, friends, help_campaign, starter_in

pytestmark = pytest.mark.django_db


def _decoded(png: bytes) -> list[str]:
    return [b.text for b in zxingcpp.read_barcodes(Image.open(io.BytesIO(png)))]


@pytest.fixture
def bargain(shop):
    campaign = bargain_campaign(shop)
    return bargaining.start_bargain(campaign=campaign, member=starter_in(shop)[0], seed=3)


@pytest.fixture
def help_task(shop):
    campaign = help_campaign(shop)
    return helping.start_task(campaign=campaign, member=starter_in(shop)[0])


def test_a_help_tasks_poster_says_how_many_helps_it_still_lacks(help_task):
    offer = posters.poster_words(help_task.campaign, help_task)["offer"]
    assert offer.startswith("还差 3 人助力 · ¥0.01 得")
    helping.give_help(task=help_task, helper=friends(1)[0])
    help_task.refresh_from_db()
    assert posters.poster_words(help_task.campaign, help_task)["offer"].startswith("还差 2 人助力")


@pytest.mark.parametrize(
    "which, page_name, poster", [("bargain", "bargain", "bargain_poster"), ("help_task", "help_task", "help_poster")]
)
def test_the_starter_saves_a_poster_carrying_their_referral(request, client, which, page_name, poster):
    task = request.getfixturevalue(which)
    client.force_login(task.starter)
    html = client.get(reverse(f"campaigns:{page_name}", args=[task.pk])).content.decode()
    url = reverse(f"campaigns:{poster}", args=[task.pk])
    assert f'href="{url}"' in html and "保存分享海报" in html

    response = client.get(url)
    assert response.status_code == 200 and response["Content-Type"] == "image/png"
    assert _decoded(response.content) == [services.share_link(task.campaign, task.starter, task)]


@pytest.mark.parametrize("which, poster", [("bargain", "bargain_poster"), ("help_task", "help_poster")])
def test_nobody_else_gets_the_starters_poster(request, client, which, poster):
    task = request.getfixturevalue(which)
    client.force_login(friends(1)[0])
    assert client.get(reverse(f"campaigns:{poster}", args=[task.pk])).status_code == 404
    client.logout()
    assert client.get(reverse(f"campaigns:{poster}", args=[task.pk])).status_code == 302  # to sign in


def test_a_friend_who_helped_sees_the_share_box_without_the_starters_poster(client, help_task):
    friend = friends(1)[0]
    helping.give_help(task=help_task, helper=friend)
    client.force_login(friend)
    html = client.get(reverse("campaigns:help_task", args=[help_task.pk])).content.decode()
    assert reverse("campaigns:help_qr", args=[help_task.pk]) in html
    assert reverse("campaigns:help_poster", args=[help_task.pk]) not in html
