"""砍 砍价 pages: the starter's bargain page (current price, cuts with friends' names and amounts, countdown,
share, buy), the page a friend opens from the share link (sign in → cut), refusals in words, buying at
the current price; strangers get a 404."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse

from campaigns import services
from campaigns.bargain_algorithm import to_yuan
from campaigns.models import BargainCut, BargainState, BargainTask
from campaigns.types.bargain import kind as bargaining
from orders.models import Order
from tests.builders.orders import SHIPPING_FORM
from tests.campaigns.social_support import bargain_campaign, friends, starter_in
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def task(shop):
    starter, _ = starter_in(shop)
    return bargaining.start_bargain(campaign=bargain_campaign(shop), member=starter, seed=11)


def _share_path(task):
    return services.share_path(task.campaign, task.starter, task)


def test_a_member_starts_a_bargain_from_the_landing_page(client, shop):
    campaign = bargain_campaign(shop)
    starter, _ = starter_in(shop)
    client.force_login(starter)
    landing = client.get(reverse("campaigns:landing", args=[campaign.pk])).content.decode()
    assert 'data-testid="start-bargain"' in landing and "最低砍到 ¥10.00" in landing

    response = client.post(reverse("campaigns:bargain_start", args=[campaign.pk]))

    task = BargainTask.objects.get(campaign=campaign, starter=starter)
    assert response["Location"] == task.get_absolute_url()
    page = client.get(task.get_absolute_url()).content.decode()
    assert "我的砍价" in page and "¥100.00" in page and "邀请好友帮砍" in page
    assert services.share_link(campaign, starter, task) in page
    assert "还没有砍到底价，砍到底价后才能购买。" in page


def test_a_friend_opens_the_share_link_signs_in_and_cuts(client, task):
    signed_out = client.get(_share_path(task)).content.decode()
    assert f"{task.starter.public_name}</strong> 请你帮 TA 砍一刀" in signed_out
    assert "登录后帮 TA 砍一刀" in signed_out

    friend = friends(1)[0]
    client.force_login(friend)
    assert 'data-testid="cut"' in client.get(_share_path(task)).content.decode()
    body = client.post(reverse("campaigns:bargain_cut", args=[task.pk]), follow=True).content.decode()

    first = to_yuan(task.plan[0])
    assert f"你帮 {task.starter.public_name} 砍掉了 ¥{first}！" in body
    assert f"{friend.public_name}</span>" in body and f"砍掉 ¥{first}" in body
    assert f"¥{Decimal('100.00') - first}" in body
    assert BargainCut.objects.get(task=task).cutter == friend


def test_the_cuts_reach_the_floor_and_the_starter_buys_there(client, task):
    for friend in friends(task.cuts_planned):
        bargaining.cut(task=task, cutter=friend)
    client.force_login(task.starter)
    page = client.get(task.get_absolute_url()).content.decode()
    assert "已砍到底价！" in page and "付款剩余" in page and "¥10.00 立即购买" in page
    buy_url = reverse("campaigns:bargain_buy", args=[task.pk])
    form = client.get(buy_url)
    response = client.post(buy_url, {"idempotency_key": form.context["idempotency_key"], **SHIPPING_FORM})
    order = Order.objects.get(member=task.starter)
    assert response["Location"] == reverse("orders:member_order", args=[order.pk])
    assert order.total == Decimal("10.00")
    assert client.get(buy_url)["Location"] == reverse("orders:member_order", args=[order.pk])
    task.refresh_from_db()
    assert task.state == BargainState.ORDERED


def test_a_purchase_with_bad_input_shows_the_errors(client, task):
    for friend in friends(task.cuts_planned):
        bargaining.cut(task=task, cutter=friend)
    client.force_login(task.starter)
    response = client.post(reverse("campaigns:bargain_buy", args=[task.pk]), {"delivery": "shipping"})
    assert response.status_code == 400 and not Order.objects.exists()


def test_buying_before_the_floor_is_refused_in_words(client, task):
    client.force_login(task.starter)
    response = client.get(reverse("campaigns:bargain_buy", args=[task.pk]), follow=True)
    assert "还没有砍到底价，砍到底价后才能购买。" in response.content.decode()


def test_self_cut_is_refused_in_words(client, task):
    client.force_login(task.starter)
    response = client.post(reverse("campaigns:bargain_cut", args=[task.pk]))
    assert "不能给自己砍价，请把链接分享给好友。" in response.content.decode()
    assert not BargainCut.objects.exists()


def test_a_second_cut_is_refused_in_words(client, task):
    friend = friends(1)[0]
    bargaining.cut(task=task, cutter=friend)
    client.force_login(friend)
    response = client.post(reverse("campaigns:bargain_cut", args=[task.pk]))
    assert "你已经帮 TA 砍过一刀了，每人只能砍一次。" in response.content.decode()
    assert BargainCut.objects.count() == 1


def test_cuts_after_the_floor_and_after_expiry_are_refused_in_words(client, task, shop):
    for friend in friends(task.cuts_planned):
        bargaining.cut(task=task, cutter=friend)
    late = friends(1)[0]
    client.force_login(late)
    client.get(_share_path(task))
    assert (
        "已经砍到底价了，不需要再砍了。"
        in client.post(reverse("campaigns:bargain_cut", args=[task.pk])).content.decode()
    )

    starter, _ = starter_in(shop)
    other = bargaining.start_bargain(campaign=task.campaign, member=starter)
    BargainTask.objects.filter(pk=other.pk).update(expires_at=other.started_at - timedelta(seconds=1))
    client.get(_share_path(other))
    assert "这个砍价已过期。" in client.post(reverse("campaigns:bargain_cut", args=[other.pk])).content.decode()


def test_strangers_without_the_link_get_a_404(client, task):
    assert client.get(task.get_absolute_url()).status_code == 404
    client.force_login(UserFactory())
    assert client.get(task.get_absolute_url()).status_code == 404
    assert client.post(reverse("campaigns:bargain_cut", args=[task.pk])).status_code == 404
    assert client.get(reverse("campaigns:bargain_qr", args=[task.pk])).status_code == 404
    assert client.get(reverse("campaigns:bargain_buy", args=[task.pk])).status_code == 404
    forged = f"{task.get_absolute_url()}?by={services.share_token(task.campaign, UserFactory())}"
    assert client.get(forged).status_code == 404


def test_a_friend_who_cut_sees_the_page_but_cannot_buy(client, task):
    friend = friends(1)[0]
    bargaining.cut(task=task, cutter=friend)
    client.force_login(friend)
    page = client.get(task.get_absolute_url()).content.decode()
    assert 'data-testid="my-cut"' in page and 'data-testid="buy"' not in page
    assert client.get(reverse("campaigns:bargain_buy", args=[task.pk])).status_code == 404
    assert client.get(reverse("campaigns:bargain_qr", args=[task.pk])).status_code == 200


def test_a_signed_out_tap_signs_in_first_and_the_cut_is_made_on_the_way_back(client, task):
    cut = reverse("campaigns:bargain_cut", args=[task.pk])
    client.get(_share_path(task))
    response = client.post(cut)
    assert response.status_code == 302 and reverse("account_request_login_code") in response["Location"]
    sign_in_page = client.get(response["Location"]).content.decode()
    assert f"登录后继续：<strong>帮 {task.starter.public_name} 砍一刀</strong>" in sign_in_page

    friend = friends(1)[0]
    client.force_login(friend)
    back = client.get(cut)

    assert back["Location"] == task.get_absolute_url()
    assert BargainCut.objects.filter(task=task, cutter=friend).count() == 1
    assert client.get(cut)["Location"] == task.get_absolute_url()
    assert BargainCut.objects.filter(task=task).count() == 1


def test_a_signed_out_start_signs_in_first_and_starts_on_the_way_back(client, shop):
    campaign = bargain_campaign(shop)
    starter, _ = starter_in(shop)
    start = reverse("campaigns:bargain_start", args=[campaign.pk])
    assert client.get(start)["Location"] == reverse("campaigns:landing", args=[campaign.pk])  # a GET never starts

    client.post(start)
    client.force_login(starter)
    back = client.get(start)

    task = BargainTask.objects.get(campaign=campaign, starter=starter)
    assert back["Location"] == task.get_absolute_url()


def test_the_bargain_page_runs_in_a_constant_number_of_queries(client, shop):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    campaign = bargain_campaign(shop, settings={"min_cuts": 40})
    one = bargaining.start_bargain(campaign=campaign, member=starter_in(shop)[0])
    many = bargaining.start_bargain(campaign=campaign, member=starter_in(shop)[0])
    lone_friend = friends(1)[0]
    bargaining.cut(task=one, cutter=lone_friend)
    cutters = friends(25)
    for friend in cutters:
        bargaining.cut(task=many, cutter=friend)

    def count(task, user):
        client.force_login(user)
        with CaptureQueriesContext(connection) as queries:
            response = client.get(task.get_absolute_url())
            assert response.status_code == 200
        return len(queries), response

    assert count(one, one.starter)[0] == count(many, many.starter)[0]
    # A friend whose cut is long out of the list still sees their own; the list holds the latest 20.
    queries, response = count(many, cutters[0])
    assert queries == count(one, lone_friend)[0]
    page = response.content.decode()
    assert page.count('class="act-name"') == bargaining.RECENT_CUTS
    assert cutters[-1].public_name in page and 'data-testid="my-cut"' in page
    assert 'data-testid="cuts-shown"' in page


def test_a_cut_costs_the_same_queries_after_5_and_after_50_earlier_cuts(client, shop):
    """A friend's cut (the POST from the share link, the whole request) reads no earlier cut or cutter:
    its statements do not grow with the bargain (issue 19: it used to load every cut to decide visibility)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    campaign = bargain_campaign(shop, settings={"min_cuts": 300})

    def bargain_with(earlier: int) -> BargainTask:
        task = bargaining.start_bargain(campaign=campaign, member=starter_in(shop)[0])
        for friend in friends(earlier):
            bargaining.cut(task=task, cutter=friend)
        return task

    def queries_of_one_cut(task: BargainTask) -> list[str]:
        client.force_login(friends(1)[0])
        client.get(_share_path(task))  # the share link: the friend comes through the starter's token
        with CaptureQueriesContext(connection) as queries:
            response = client.post(reverse("campaigns:bargain_cut", args=[task.pk]))
        assert response.status_code == 302 and response["Location"] == task.get_absolute_url()
        return [query["sql"] for query in queries]

    after_5, after_50 = queries_of_one_cut(bargain_with(5)), queries_of_one_cut(bargain_with(50))
    assert BargainCut.objects.filter(task__campaign=campaign).count() == 5 + 50 + 2
    assert len(after_5) == len(after_50), "\n".join(after_50)
    # Constant counts alone would pass a prefetch of every cut: each read of the cuts is bounded too.
    cut_reads = [sql for sql in after_50 if sql.startswith("SELECT") and 'FROM "campaigns_bargaincut"' in sql]
    assert cut_reads and all('"cutter_id" =' in sql or "LIMIT" in sql for sql in cut_reads), cut_reads
