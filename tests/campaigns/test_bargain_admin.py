"""The admin path of 砍价: a cut added by hand goes through the service (the next planned cut, refusals in
the page's words); bargains are read-only records showing the stored sequence and seed for audit."""

from decimal import Decimal

import pytest
from django.urls import reverse

from campaigns.bargain_algorithm import to_yuan
from campaigns.models import BargainCut
from campaigns.types.bargain import kind as bargaining
from tests.campaigns.social_support import bargain_campaign, friends, starter_in

pytestmark = pytest.mark.django_db


@pytest.fixture
def task(shop):
    return bargaining.start_bargain(campaign=bargain_campaign(shop), member=starter_in(shop)[0], seed=5)


def test_a_cut_added_in_the_admin_is_the_next_planned_cut(admin_client, task):
    friend = friends(1)[0]
    assert (
        admin_client.post(reverse("admin:campaigns_bargaincut_add"), {"task": task.pk, "cutter": friend.pk}).status_code
        == 302
    )
    made = BargainCut.objects.get()
    assert (made.number, made.amount) == (1, to_yuan(task.plan[0]))
    task.refresh_from_db()
    assert task.current_price == Decimal("100.00") - made.amount


def test_the_admin_refuses_a_self_cut_and_a_second_cut_in_words(admin_client, task):
    url = reverse("admin:campaigns_bargaincut_add")
    assert (
        "不能给自己砍价，请把链接分享给好友。"
        in admin_client.post(url, {"task": task.pk, "cutter": task.starter.pk}).content.decode()
    )
    friend = friends(1)[0]
    bargaining.cut(task=task, cutter=friend)
    assert (
        "你已经帮 TA 砍过一刀了，每人只能砍一次。"
        in admin_client.post(url, {"task": task.pk, "cutter": friend.pk}).content.decode()
    )
    assert BargainCut.objects.count() == 1


def test_the_admin_shows_the_stored_sequence_for_audit(admin_client, task):
    page = admin_client.get(reverse("admin:campaigns_bargaintask_change", args=[task.pk])).content.decode()
    assert str(task.seed) in page and str(task.plan[0]) in page
    assert admin_client.get(reverse("admin:campaigns_bargaintask_add")).status_code == 403
