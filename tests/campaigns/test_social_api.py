"""The member API of 帮 助力 and 砍 砍价: start, read (starter, friends who acted, the share token), act,
buy; every refusal is a 409 with the reason as its code and a Chinese message; strangers get a 404."""

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from campaigns import services
from campaigns.bargain_algorithm import to_yuan
from campaigns.models import BargainCut, Help
from campaigns.types.bargain import kind as bargaining
from campaigns.types.help import kind as helping
from tests.builders.orders import SHIPPING_FORM
from tests.campaigns.social_support import bargain_campaign, friends, help_campaign, starter_in
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def api_as(user):
    client = APIClient()
    client.force_authenticate(user)
    return client


def _token(task):
    return services.share_token(task.campaign, task.starter)


def _error(response):
    return response.json()["errors"][0]


# --- 助力 ----------------------------------------------------------------------------------------------


def test_start_read_help_and_claim_through_the_api(shop):
    campaign = help_campaign(shop)
    starter, _ = starter_in(shop)
    me = api_as(starter)
    started = me.post(reverse("api-my-help-tasks", args=[campaign.pk]))
    assert started.status_code == 201
    task_id = started.json()["id"]
    token = _token(helping.task_with_helps(task_id))
    assert started.json()["helps_left"] == 3 and started.json()["share_url"].endswith(f"?by={token}")
    assert me.post(reverse("api-my-help-tasks", args=[campaign.pk])).status_code == 200

    for friend in friends(3):
        helped = api_as(friend).post(f"{reverse('api-help-task-help', args=[task_id])}?by={token}")
        assert helped.status_code == 201, helped.json()
    body = me.get(reverse("api-help-task", args=[task_id])).json()
    assert body["state"] == "completed" and [h["number"] for h in body["helps"]] == [1, 2, 3]
    assert body["reward"] == {"kind": "price", "price": "0.01", "label": campaign.product.name}

    claim = reverse("api-help-task-claim", args=[task_id])
    assert _error(me.post(claim, SHIPPING_FORM, format="json"))["code"] == "required"
    order = me.post(claim, SHIPPING_FORM, format="json", headers={"Idempotency-Key": "k1"})
    assert order.status_code == 201 and order.json()["total"] == "0.01"


def test_help_refusals_are_409s_with_the_reason(shop):
    campaign = help_campaign(shop)
    starter, _ = starter_in(shop)
    task = helping.start_task(campaign=campaign, member=starter)
    url = reverse("api-help-task-help", args=[task.pk])

    self_help = api_as(starter).post(url)
    assert self_help.status_code == 409
    assert _error(self_help) == {"field": None, "code": "self", "message": "不能给自己助力，请把链接分享给好友。"}

    friend = friends(1)[0]
    assert api_as(friend).post(f"{url}?by={_token(task)}").status_code == 201
    again = api_as(friend).post(url)
    assert again.status_code == 409 and _error(again)["code"] == "duplicate"
    assert Help.objects.count() == 1

    outsider = api_as(UserFactory())
    assert _error(outsider.post(reverse("api-my-help-tasks", args=[campaign.pk])))["code"] == "not_member"


def test_a_help_task_is_a_404_to_strangers_and_with_a_forged_token(shop):
    task = helping.start_task(campaign=help_campaign(shop), member=starter_in(shop)[0])
    stranger = api_as(UserFactory())
    assert stranger.get(reverse("api-help-task", args=[task.pk])).status_code == 404
    assert stranger.post(reverse("api-help-task-help", args=[task.pk])).status_code == 404
    forged = services.share_token(task.campaign, UserFactory())
    assert stranger.get(f"{reverse('api-help-task', args=[task.pk])}?by={forged}").status_code == 404
    assert stranger.get(f"{reverse('api-help-task', args=[task.pk])}?by={_token(task)}").status_code == 200
    assert APIClient().get(reverse("api-help-task", args=[task.pk])).status_code in (401, 403)


def test_the_reward_is_claimed_by_the_starter_only(shop):
    task = helping.start_task(campaign=help_campaign(shop), member=starter_in(shop)[0])
    friend = friends(1)[0]
    helping.give_help(task=task, helper=friend)
    refused = api_as(friend).post(
        reverse("api-help-task-claim", args=[task.pk]), SHIPPING_FORM, format="json", headers={"Idempotency-Key": "k"}
    )
    assert refused.status_code == 409 and _error(refused)["code"] == "not_starter"


# --- 砍价 ----------------------------------------------------------------------------------------------


def test_start_cut_and_buy_through_the_api(shop):
    campaign = bargain_campaign(shop)
    starter, _ = starter_in(shop)
    me = api_as(starter)
    started = me.post(reverse("api-my-bargains", args=[campaign.pk]))
    assert started.status_code == 201
    data = started.json()
    assert (data["current_price"], data["floor_price"], data["cuts_planned"]) == ("100.00", "10.00", 5)
    assert "plan" not in data and "seed" not in data  # the future cuts are not told to the member
    task = bargaining.bargain_with_cuts(data["id"])

    for friend in friends(5):
        cut = api_as(friend).post(f"{reverse('api-bargain-cut', args=[task.pk])}?by={_token(task)}")
        assert cut.status_code == 201, cut.json()
    body = me.get(reverse("api-bargain", args=[task.pk])).json()
    assert body["state"] == "floor_reached" and body["current_price"] == "10.00"
    assert [c["amount"] for c in body["cuts"]] == [str(to_yuan(fen)) for fen in task.plan]

    order = me.post(
        reverse("api-bargain-buy", args=[task.pk]), SHIPPING_FORM, format="json", headers={"Idempotency-Key": "k1"}
    )
    assert order.status_code == 201 and order.json()["total"] == "10.00"
    again = me.post(
        reverse("api-bargain-buy", args=[task.pk]), SHIPPING_FORM, format="json", headers={"Idempotency-Key": "k1"}
    )
    assert again.json()["id"] == order.json()["id"]


def test_cut_refusals_are_409s_with_the_reason(shop):
    task = bargaining.start_bargain(campaign=bargain_campaign(shop), member=starter_in(shop)[0])
    url = reverse("api-bargain-cut", args=[task.pk])
    self_cut = api_as(task.starter).post(url)
    assert self_cut.status_code == 409
    assert _error(self_cut) == {"field": None, "code": "self", "message": "不能给自己砍价，请把链接分享给好友。"}
    friend = friends(1)[0]
    assert api_as(friend).post(f"{url}?by={_token(task)}").status_code == 201
    twice = api_as(friend).post(url)
    assert twice.status_code == 409 and _error(twice)["code"] == "duplicate"
    early = api_as(task.starter).post(
        reverse("api-bargain-buy", args=[task.pk]), SHIPPING_FORM, format="json", headers={"Idempotency-Key": "k"}
    )
    assert early.status_code == 409 and _error(early)["code"] == "not_floor"
    assert BargainCut.objects.count() == 1


def test_a_bargain_is_a_404_to_strangers(shop):
    task = bargaining.start_bargain(campaign=bargain_campaign(shop), member=starter_in(shop)[0])
    stranger = api_as(UserFactory())
    assert stranger.get(reverse("api-bargain", args=[task.pk])).status_code == 404
    assert stranger.post(reverse("api-bargain-cut", args=[task.pk])).status_code == 404
    assert (
        stranger.post(
            reverse("api-bargain-buy", args=[task.pk]), SHIPPING_FORM, format="json", headers={"Idempotency-Key": "k"}
        ).status_code
        == 404
    )
    help_campaign_pk = help_campaign(shop).pk
    assert stranger.post(reverse("api-my-bargains", args=[help_campaign_pk])).status_code == 404


def test_a_bargain_answer_lists_the_latest_cuts_in_constant_queries(shop):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    campaign = bargain_campaign(shop, settings={"min_cuts": 40})
    one = bargaining.start_bargain(campaign=campaign, member=starter_in(shop)[0])
    many = bargaining.start_bargain(campaign=campaign, member=starter_in(shop)[0])
    lone = friends(1)[0]
    bargaining.cut(task=one, cutter=lone)
    cutters = friends(25)
    for friend in cutters:
        bargaining.cut(task=many, cutter=friend)

    def read(task, user):
        with CaptureQueriesContext(connection) as queries:
            response = api_as(user).get(reverse("api-bargain", args=[task.pk]))
        assert response.status_code == 200
        return len(queries), response.json()

    assert read(one, lone)[0] == read(many, cutters[0])[0]  # a friend whose cut is out of the list too
    queries, body = read(many, many.starter)
    assert queries == read(one, one.starter)[0]
    assert [c["number"] for c in body["cuts"]] == list(range(6, 26)) and body["cuts_done"] == 25
    assert read(many, cutters[0])[1]["share_url"]  # still in it: the share link is theirs to pass on
