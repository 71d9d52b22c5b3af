"""帮 助力 pages: the starter's task page (progress, helpers, countdown, share), the page a friend opens from
the share link (sign in → help), refusals in words, the reward checkout; strangers get a 404."""

from datetime import timedelta

import pytest
from django.urls import reverse

from campaigns import services
from campaigns.models import Help, HelpTask
from campaigns.types.help import kind as helping
from orders.models import Order
from tests.builders.orders import make_buyer, order_for, pay
from tests.campaigns.social_support import friends, help_campaign, starter_in
from tests.factories import SkuFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def task(shop):
    starter, _ = starter_in(shop)
    return helping.start_task(campaign=help_campaign(shop), member=starter)


def _share_path(task):
    return services.share_path(task.campaign, task.starter, task)


def test_a_member_starts_a_task_from_the_landing_page(client, shop):
    campaign = help_campaign(shop)
    starter, _ = starter_in(shop)
    client.force_login(starter)
    landing = client.get(reverse("campaigns:landing", args=[campaign.pk]))
    assert 'data-testid="start-help"' in landing.content.decode()

    response = client.post(reverse("campaigns:help_start", args=[campaign.pk]))

    task = HelpTask.objects.get(campaign=campaign, starter=starter)
    assert response.status_code == 302 and response["Location"] == task.get_absolute_url()
    page = client.get(task.get_absolute_url()).content.decode()
    assert "我的助力" in page and "还差 <strong>3</strong> 人助力" in page and "邀请好友助力" in page
    assert services.share_link(campaign, starter, task) in page
    assert client.post(reverse("campaigns:help_start", args=[campaign.pk]))["Location"] == task.get_absolute_url()


def test_starting_is_refused_in_words_for_someone_outside_the_groups(client, shop):
    campaign = help_campaign(shop)
    client.force_login(UserFactory())
    response = client.post(reverse("campaigns:help_start", args=[campaign.pk]), follow=True)
    assert "请先加入活动所在的群，再发起助力。" in response.content.decode()
    assert not HelpTask.objects.exists()


def test_a_friend_opens_the_share_link_signs_in_and_helps(client, task):
    signed_out = client.get(_share_path(task)).content.decode()
    assert f"{task.starter.public_name}</strong> 请你帮 TA 助力" in signed_out
    assert "登录后帮 TA 助力" in signed_out

    friend = friends(1)[0]
    client.force_login(friend)
    page = client.get(_share_path(task)).content.decode()
    assert 'data-testid="give-help"' in page

    response = client.post(reverse("campaigns:help_give", args=[task.pk]), follow=True)

    body = response.content.decode()
    assert "助力成功！还差 2 人。" in body and friend.public_name in body and "你已为 TA 助力" in body
    assert Help.objects.get(task=task).helper == friend


def test_the_kth_friend_completes_the_task_and_the_starter_buys_the_reward(client, task, transport):
    for friend in friends(2):
        helping.give_help(task=task, helper=friend)
    last = friends(1)[0]
    client.force_login(last)
    client.get(_share_path(task))
    body = client.post(reverse("campaigns:help_give", args=[task.pk]), follow=True).content.decode()
    assert "助力成功！你是最后一位" in body and "助力成功！" in body

    client.force_login(task.starter)
    page = client.get(task.get_absolute_url()).content.decode()
    assert "¥0.01 领取奖励" in page
    claim_url = reverse("campaigns:help_claim", args=[task.pk])
    form = client.get(claim_url)
    assert form.status_code == 200
    response = client.post(
        claim_url,
        {
            "idempotency_key": form.context["idempotency_key"],
            "delivery": "shipping",
            "recipient_name": "王芳",
            "recipient_phone": "13800138000",
            "address": "上海市徐汇区漕溪北路 1 号",
        },
    )
    order = Order.objects.get(member=task.starter)
    assert response.status_code == 302 and response["Location"] == reverse("orders:member_order", args=[order.pk])
    assert str(order.total) == "0.01"
    assert "查看奖励订单" in client.get(task.get_absolute_url()).content.decode()


def test_a_reward_checkout_with_bad_input_shows_the_errors(client, task):
    for friend in friends(3):
        helping.give_help(task=task, helper=friend)
    client.force_login(task.starter)
    response = client.post(reverse("campaigns:help_claim", args=[task.pk]), {"delivery": "shipping"})
    assert response.status_code == 400 and not Order.objects.exists()


def test_self_help_is_refused_in_words(client, task):
    client.force_login(task.starter)
    response = client.post(reverse("campaigns:help_give", args=[task.pk]))
    assert "不能给自己助力，请把链接分享给好友。" in response.content.decode()
    assert not Help.objects.exists()


def test_a_second_help_is_refused_in_words(client, task):
    friend = friends(1)[0]
    helping.give_help(task=task, helper=friend)
    client.force_login(friend)
    response = client.post(reverse("campaigns:help_give", args=[task.pk]))
    assert "你已经为 TA 助力过了，每人只能助力一次。" in response.content.decode()
    assert Help.objects.count() == 1


def test_an_expired_task_refuses_in_words(client, task):
    HelpTask.objects.filter(pk=task.pk).update(expires_at=task.started_at - timedelta(seconds=1))
    client.force_login(friends(1)[0])
    client.get(_share_path(task))
    response = client.post(reverse("campaigns:help_give", args=[task.pk]))
    assert "这个助力已过期。" in response.content.decode()


def test_old_customers_are_told_only_new_users_may_help(client, shop, transport):
    campaign = help_campaign(shop, settings={"new_users_only": True})
    starter, group = starter_in(shop)
    task = helping.start_task(campaign=campaign, member=starter)
    customer = make_buyer(group)
    pay(order_for(customer, group, SkuFactory(product__shop=shop)), transport)
    client.force_login(customer)
    page = client.get(_share_path(task)).content.decode()
    assert "本活动仅限新用户助力（未在本店下过单）。" in page and 'data-testid="give-help"' not in page
    assert "本活动仅限新用户助力" in client.post(reverse("campaigns:help_give", args=[task.pk])).content.decode()


def test_strangers_without_the_link_get_a_404(client, task):
    assert client.get(task.get_absolute_url()).status_code == 404
    client.force_login(UserFactory())
    assert client.get(task.get_absolute_url()).status_code == 404
    assert client.post(reverse("campaigns:help_give", args=[task.pk])).status_code == 404
    assert client.get(reverse("campaigns:help_qr", args=[task.pk])).status_code == 404
    assert client.get(reverse("campaigns:help_claim", args=[task.pk])).status_code == 404
    assert client.get(reverse("campaigns:help_task", args=[task.pk + 1000])).status_code == 404


def test_a_forged_or_other_members_token_does_not_open_the_task(client, task):
    other = UserFactory()
    client.force_login(UserFactory())
    forged = f"{task.get_absolute_url()}?by={services.share_token(task.campaign, other)}"
    assert client.get(forged).status_code == 404
    assert client.get(f"{task.get_absolute_url()}?by=abc:def").status_code == 404


def test_only_the_starter_claims_and_sees_the_qr(client, task):
    friend = friends(1)[0]
    helping.give_help(task=task, helper=friend)
    client.force_login(friend)
    assert client.get(reverse("campaigns:help_claim", args=[task.pk])).status_code == 404
    assert client.get(reverse("campaigns:help_qr", args=[task.pk]))["Content-Type"] == "image/png"
    client.force_login(task.starter)
    assert client.get(reverse("campaigns:help_qr", args=[task.pk])).status_code == 200
    response = client.get(reverse("campaigns:help_claim", args=[task.pk]), follow=True)
    assert "助力还未完成，集齐好友助力后才能领取奖励。" in response.content.decode()


def test_a_signed_out_tap_signs_in_first_and_the_help_is_given_on_the_way_back(client, task):
    give = reverse("campaigns:help_give", args=[task.pk])
    client.get(_share_path(task))
    response = client.post(give)
    assert response.status_code == 302 and reverse("account_request_login_code") in response["Location"]
    sign_in_page = client.get(response["Location"]).content.decode()
    assert f"登录后继续：<strong>帮 {task.starter.public_name} 助力</strong>" in sign_in_page
    assert not Help.objects.filter(task=task).exists()

    friend = friends(1)[0]
    client.force_login(friend)
    back = client.get(give)

    assert back["Location"] == task.get_absolute_url()
    assert Help.objects.filter(task=task, helper=friend).count() == 1
    # Once: the same address again (a reload, a stray GET) helps nobody twice and writes nothing.
    assert client.get(give)["Location"] == task.get_absolute_url()
    assert Help.objects.filter(task=task).count() == 1


def test_a_signed_in_get_of_the_help_address_writes_nothing(client, task):
    friend = friends(1)[0]
    client.force_login(friend)
    client.get(_share_path(task))
    assert client.get(reverse("campaigns:help_give", args=[task.pk]))["Location"] == task.get_absolute_url()
    assert not Help.objects.filter(task=task).exists()


def test_the_task_page_runs_in_a_constant_number_of_queries(client, shop, django_assert_max_num_queries):
    campaign = help_campaign(shop, settings={"helps_needed": 20})
    one = helping.start_task(campaign=campaign, member=starter_in(shop)[0])
    many = helping.start_task(campaign=campaign, member=starter_in(shop)[0])
    helping.give_help(task=one, helper=friends(1)[0])
    for friend in friends(12):
        helping.give_help(task=many, helper=friend)

    def count(task):
        client.force_login(task.starter)
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        with CaptureQueriesContext(connection) as queries:
            assert client.get(task.get_absolute_url()).status_code == 200
        return len(queries)

    assert count(one) == count(many)
    with django_assert_max_num_queries(count(one)):
        client.get(many.get_absolute_url())
