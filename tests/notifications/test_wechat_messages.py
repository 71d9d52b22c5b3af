"""WeChat template and subscribe messages against a local fake of WeChat's API: the access token cached
and refreshed once across workers (with a control showing the herd), rejected tokens replaced once,
failures falling back to SMS or the inbox as the shop configures."""

import contextlib
import threading

import pytest
from allauth.socialaccount.models import SocialAccount
from django.db import connections

from accounts.sms import LocmemSmsBackend
from notifications import services, wechat
from notifications.models import Category, Channel, Delivery, DeliveryState, NotificationSettings, SubscriptionGrant
from tests.builders.notifications import write
from tests.fakes.wechat import FakeWechat
from tests.race import Gate, race

DS = DeliveryState
OFFICIAL = ("wx-official-app", "official-secret")
MINI = ("wx-mini-program", "mini-secret")
OPENID = "oFollower-0001"


@pytest.fixture
def fake(settings):
    server = FakeWechat(official=OFFICIAL, mini_program=MINI).start()
    server.apps[OFFICIAL[0]].templates = {"TPL-ORDER-PAID", "TPL-GENERIC"}
    server.apps[MINI[0]].templates = {"SUB-ORDER-SHIPPED"}
    settings.WECHAT_API_BASE = server.url
    settings.WECHAT_HTTP_TIMEOUT = 5
    settings.WEIXIN_APP_ID, settings.WEIXIN_APP_SECRET = OFFICIAL
    settings.WECHAT_MINIPROGRAM_APP_ID, settings.WECHAT_MINIPROGRAM_SECRET = MINI
    settings.NOTIFICATION_BACKENDS = {"wechat": "notifications.wechat.WechatMessageBackend"}
    settings.WECHAT_TEMPLATES = {
        "transactional_test": {
            "id": "TPL-ORDER-PAID",
            "fields": {"thing1": "title", "thing2": "body", "thing3": "shop"},
        },
    }
    settings.WECHAT_SUBSCRIBE_TEMPLATES = {
        "order_shipped": {"id": "SUB-ORDER-SHIPPED", "page": "pages/orders/index", "fields": {"thing1": "title"}},
    }
    yield server
    server.stop()


@pytest.fixture
def follower(customer, fake):
    SocialAccount.objects.create(user=customer, provider="weixin", uid=OPENID)
    fake.apps[OFFICIAL[0]].followers.add(OPENID)
    return customer


def _deliveries(notification) -> dict:
    return dict(notification.deliveries.values_list("channel", "state"))


@pytest.mark.django_db
def test_a_follower_gets_a_template_message_and_no_sms_beside_it(shop, follower, fake):
    notification = write(
        shop, follower, Category.TRANSACTIONAL, title="付款成功", body="订单 A1 已付款 ¥39.90，商家会尽快发货"
    )
    services.deliver_due()
    [message] = fake.messages
    assert message["touser"] == OPENID and message["template_id"] == "TPL-ORDER-PAID"
    assert message["data"]["thing1"] == {"value": "付款成功"}
    assert len(message["data"]["thing2"]["value"]) == 20  # a "thing" field holds 20 characters
    assert message["url"] == "http://testserver/m/orders/"
    assert _deliveries(notification) == {Channel.INBOX: DS.SENT, Channel.WECHAT: DS.SENT, Channel.EMAIL: DS.SENT}
    assert LocmemSmsBackend.outbox == []  # SMS is WeChat's fallback, not sent beside it


@pytest.mark.django_db
def test_the_access_token_is_fetched_once_and_reused(shop, follower, fake):
    for _ in range(3):
        write(shop, follower, Category.TRANSACTIONAL)
    services.deliver_due()
    assert len(fake.messages) == 3 and fake.fetches() == 1


@pytest.mark.django_db
def test_a_token_wechat_rejects_is_replaced_once_and_the_message_sent(shop, follower, fake):
    wechat.access_token(*OFFICIAL)
    fake.expire_token()  # another system fetched a token, or two hours passed
    write(shop, follower, Category.TRANSACTIONAL)
    services.deliver_due()
    assert len(fake.messages) == 1 and fake.fetches() == 2


# --- One refresh across workers --------------------------------------------------------------------------------

WORKERS = 8


def _worker(i):
    try:
        return wechat.access_token(*OFFICIAL)
    finally:
        connections.close_all()


@pytest.mark.race
@pytest.mark.django_db(transaction=True)
def test_concurrent_workers_fetch_the_token_once(fake):
    tokens = race(WORKERS, _worker)
    assert len(set(tokens)) == 1 and not isinstance(tokens[0], Exception), tokens
    assert fake.fetches() == 1


@pytest.mark.race
@pytest.mark.django_db(transaction=True)
def test_control_without_the_lock_every_worker_fetches(fake, monkeypatch):
    """The same crowd with the Redis lock taken away: each worker sees no token and fetches its own,
    each fetch invalidating the one before (the herd the lock prevents)."""
    gate = Gate(WORKERS)
    fetch = wechat._fetch_token

    def fetch_after_everyone_looked(app_id, secret):
        gate.wait()
        return fetch(app_id, secret)

    monkeypatch.setattr(wechat, "_exclusive", lambda name: contextlib.nullcontext())
    monkeypatch.setattr(wechat, "_fetch_token", fetch_after_everyone_looked)
    tokens = race(WORKERS, _worker)
    assert fake.fetches() == WORKERS and len(set(tokens)) == WORKERS


@pytest.mark.race
@pytest.mark.django_db(transaction=True)
def test_workers_holding_a_rejected_token_refresh_it_once(fake):
    stale = wechat.access_token(*OFFICIAL)
    fake.expire_token()
    start = threading.Barrier(WORKERS)

    def refresh(i):
        try:
            start.wait()
            return wechat.access_token(*OFFICIAL, rejected=stale)
        finally:
            connections.close_all()

    tokens = race(WORKERS, refresh)
    assert len(set(tokens)) == 1 and tokens[0] != stale
    assert fake.fetches() == 2  # the first fetch, and one refresh for everyone


# --- Failures fall back as the shop configures -------------------------------------------------------------


@pytest.mark.django_db
def test_a_member_who_unfollowed_gets_the_message_by_sms_instead(shop, follower, fake):
    fake.apps[OFFICIAL[0]].followers.clear()  # WeChat answers 43004 require subscribe
    notification = write(shop, follower, Category.TRANSACTIONAL, title="付款成功", body="订单已付款")
    services.deliver_due()
    services.deliver_due()  # the worker the fall-back kicked
    wechat_delivery = notification.deliveries.get(channel=Channel.WECHAT)
    assert wechat_delivery.state == DS.FAILED and "43004" in wechat_delivery.last_error
    assert notification.deliveries.get(channel=Channel.SMS).state == DS.SENT
    assert [m.phone for m in LocmemSmsBackend.outbox] == [follower.phone]


@pytest.mark.django_db
def test_with_the_inbox_fallback_no_sms_goes_out(shop, follower, fake):
    NotificationSettings.objects.create(shop=shop, wechat_fallback="inbox")
    fake.apps[OFFICIAL[0]].followers.clear()
    notification = write(shop, follower, Category.TRANSACTIONAL)
    services.deliver_due()
    assert _deliveries(notification) == {Channel.INBOX: DS.SENT, Channel.WECHAT: DS.FAILED, Channel.EMAIL: DS.SENT}
    assert LocmemSmsBackend.outbox == []


@pytest.mark.django_db
def test_commercial_messages_never_fall_back_to_sms(shop, follower, fake, settings):
    from tests.builders.notifications import noon

    fake.apps[OFFICIAL[0]].followers.clear()
    settings.WECHAT_TEMPLATES = {"notification": {"id": "TPL-GENERIC", "fields": {"thing1": "title"}}}
    notification = write(shop, follower, Category.MARKETING)
    services.deliver_due(now=noon())
    assert _deliveries(notification) == {Channel.INBOX: DS.SENT, Channel.WECHAT: DS.FAILED}
    assert LocmemSmsBackend.outbox == []


@pytest.mark.django_db
def test_wechat_unreachable_is_retried_not_failed(shop, follower, fake):
    fake.hold()
    fake.release()  # answers again; a 5xx-like error first:
    from tests.fakes.base import Response

    fake.fail_next(Response.json({"errcode": -1, "errmsg": "system error"}))
    notification = write(shop, follower, Category.TRANSACTIONAL)
    services.deliver_due()
    delivery = notification.deliveries.get(channel=Channel.WECHAT)
    assert delivery.state == DS.QUEUED and "system error" in delivery.last_error  # retried later, with backoff
    assert not notification.deliveries.filter(channel=Channel.SMS).exists()


# --- Mini-program subscribe messages -----------------------------------------------------------------------------


@pytest.mark.django_db
def test_subscribe_messages_use_one_acceptance_each(shop, customer, fake, client):
    fake.login_codes["wx-login-code-1"] = "oMiniProgram-0001"
    fake.subscriptions[("oMiniProgram-0001", "SUB-ORDER-SHIPPED")] = 1
    client.force_login(customer)
    response = client.post(
        "/api/v1/me/wechat-subscriptions/",
        {"code": "wx-login-code-1", "accepted": ["SUB-ORDER-SHIPPED", "UNKNOWN"]},
        content_type="application/json",
    )
    assert response.status_code == 200 and response.json() == {"remaining": {"SUB-ORDER-SHIPPED": 1}}

    first = write(shop, customer, Category.TRANSACTIONAL, kind="order_shipped", title="商家已发货")
    second = write(shop, customer, Category.TRANSACTIONAL, kind="order_shipped", title="商家已发货")
    services.deliver_due()
    services.deliver_due()  # the worker the fall-back kicked
    [message] = fake.messages
    assert message["kind"] == "subscribe" and message["touser"] == "oMiniProgram-0001"
    assert message["page"] == "pages/orders/index" and message["miniprogram_state"] == "formal"
    assert first.deliveries.get(channel=Channel.WECHAT).state == DS.SENT
    # No acceptance left: the second message fails on WeChat and goes out by SMS.
    assert second.deliveries.get(channel=Channel.WECHAT).state == DS.FAILED
    assert second.deliveries.get(channel=Channel.SMS).state == DS.SENT
    assert SubscriptionGrant.objects.get(user=customer).remaining == 0


@pytest.mark.django_db
def test_a_bad_login_code_is_refused(customer, fake, client):
    client.force_login(customer)
    response = client.post(
        "/api/v1/me/wechat-subscriptions/", {"code": "forged", "accepted": []}, content_type="application/json"
    )
    assert response.status_code == 400 and response.json()["errors"][0]["field"] == "code"


@pytest.mark.django_db
def test_wechat_out_of_reach_is_a_bad_gateway(customer, fake, client, settings):
    settings.WECHAT_API_BASE = "http://127.0.0.1:9"  # nothing listens
    client.force_login(customer)
    response = client.post(
        "/api/v1/me/wechat-subscriptions/", {"code": "c", "accepted": []}, content_type="application/json"
    )
    assert response.status_code == 502 and response.json()["errors"][0]["code"] == "wechat_error"


@pytest.mark.django_db
def test_without_a_mini_program_subscriptions_are_not_offered(customer, client, settings):
    settings.WECHAT_MINIPROGRAM_APP_ID = ""
    client.force_login(customer)
    response = client.post(
        "/api/v1/me/wechat-subscriptions/", {"code": "c", "accepted": []}, content_type="application/json"
    )
    assert response.status_code == 404 and response.json()["errors"][0]["code"] == "not_enabled"


@pytest.mark.django_db
def test_without_any_wechat_identity_the_channel_does_not_reach_and_sms_goes_at_once(shop, customer, fake):
    notification = write(shop, customer, Category.TRANSACTIONAL)
    services.deliver_due()
    assert _deliveries(notification) == {Channel.INBOX: DS.SENT, Channel.SMS: DS.SENT, Channel.EMAIL: DS.SENT}
    assert Delivery.objects.filter(channel=Channel.WECHAT).count() == 0


@pytest.mark.django_db
def test_an_invalid_item_of_a_list_is_named_by_its_position(customer, fake, client):
    client.force_login(customer)
    response = client.post(
        "/api/v1/me/wechat-subscriptions/",
        {"code": "c", "accepted": ["SUB-1", "x" * 65]},
        content_type="application/json",
    )
    assert response.status_code == 400
    assert [(e["field"], e["code"]) for e in response.json()["errors"]] == [("accepted.1", "max_length")]
