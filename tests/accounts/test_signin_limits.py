"""Sign-in by SMS code holds its limits across attempts (accounts.signin), on real Redis.

Issue 16: restarting attempts let 45 codes be tried against one number in 150 s, every code request for
an unknown number made a user row, and behind the TLS proxy every client shared one rate-limit bucket.
"""

import re
import threading

import pytest
from django.core.cache import cache
from django.test import Client, RequestFactory
from django.urls import reverse
from rest_framework.test import APIClient

from accounts import signin
from accounts.models import User
from accounts.sms import LocmemSmsBackend, SmsRateLimited, send_sms
from shequn.client import client_ip, request_fingerprint
from tests.factories import OperatorFactory, UserFactory
from tests.race import race

pytestmark = pytest.mark.django_db

PHONE = "+8613800138000"
REQUEST_URL = "/accounts/login/code/"
CONFIRM_URL = "/accounts/login/code/confirm/"
APP_REQUEST = "/_allauth/app/v1/auth/code/request"
APP_CONFIRM = "/_allauth/app/v1/auth/code/confirm"


@pytest.fixture(autouse=True)
def _only_the_signin_limits(settings):
    """The SMS limits per number and address are tested in test_sms_providers; here only accounts.signin's
    limits decide, so that each test shows one of them."""
    settings.SMS_LIMITS = {"verification_code": {}, "*": {}}
    settings.ACCOUNT_RATE_LIMITS = {**settings.ACCOUNT_RATE_LIMITS, "request_login_code": False}


class Clock:
    """accounts.signin's time, moved by the test (Redis keys still expire in real time)."""

    def __init__(self):
        import time

        self.now = time.time()

    def time(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch):
    clock = Clock()
    monkeypatch.setattr(signin, "time", clock)
    return clock


def last_code() -> str:
    return re.search(r"\b\d{6}\b", LocmemSmsBackend.outbox[-1].text).group(0)


def wrong(code: str) -> str:
    return f"{(int(code) + 1) % 1_000_000:06d}"


def browser(ip="203.0.113.5", agent="iPhone Safari") -> Client:
    return Client(REMOTE_ADDR=ip, HTTP_USER_AGENT=agent)


def request_code(client, phone=PHONE):
    return client.post(REQUEST_URL, {"phone": phone})


def signed_in(client) -> bool:
    return "_auth_user_id" in client.session


# --- No account before the code ------------------------------------------------------------------------


def test_an_unknown_number_gets_a_code_but_no_account_until_it_is_confirmed():
    client = browser()
    assert request_code(client).status_code == 302
    assert not User.objects.filter(phone=PHONE).exists()
    assert LocmemSmsBackend.outbox[-1].phone == PHONE

    assert client.post(CONFIRM_URL, {"code": wrong(last_code())}).status_code == 200
    assert not User.objects.exists()

    done = client.post(CONFIRM_URL, {"code": last_code()})
    assert done.status_code == 302
    user = User.objects.get(phone=PHONE)
    assert user.phone_verified and not user.has_usable_password()
    assert int(client.session["_auth_user_id"]) == user.pk


def test_an_app_signs_up_by_code_and_the_account_appears_only_then():
    app = APIClient()
    requested = app.post(APP_REQUEST, {"phone": "13800138000"}, format="json")
    assert requested.status_code == 401
    assert not User.objects.exists()
    token = requested.json()["meta"]["session_token"]
    confirmed = app.post(APP_CONFIRM, {"code": last_code()}, format="json", headers={"X-Session-Token": token})
    assert confirmed.status_code == 200 and confirmed.json()["meta"]["is_authenticated"]
    assert User.objects.get(phone=PHONE).phone_verified


def test_an_existing_member_signs_in_as_before():
    member = UserFactory(phone=PHONE)
    client = browser()
    request_code(client)
    client.post(CONFIRM_URL, {"code": last_code()})
    assert int(client.session["_auth_user_id"]) == member.pk and User.objects.count() == 1


# --- Wrong codes: at most N a day per number -------------------------------------------------------------


@pytest.mark.parametrize(("wrong_codes", "allowed"), [(9, True), (10, False)], ids=["below-cap", "at-cap"])
def test_wrong_codes_per_number_are_capped_a_day_across_attempts(clock, wrong_codes, allowed):
    """Attempts restarted from fresh sessions, addresses and devices still count against the number; at
    the cap (10, settings.SIGNIN_WRONG_CODES_PER_DAY) even the right code no longer signs in."""
    member = browser(ip="198.51.100.1", agent="member's phone")
    request_code(member)
    right_code = last_code()
    guessed = 0
    while guessed < wrong_codes:
        clock.now += 3600  # past any back-off
        attacker = browser(ip=f"203.0.113.{guessed}", agent=f"attacker {guessed}")
        assert request_code(attacker).status_code == 302
        for _ in range(min(5, wrong_codes - guessed)):  # allauth ends an attempt after 5
            attacker.post(CONFIRM_URL, {"code": wrong(right_code)})
            guessed += 1
    member.post(CONFIRM_URL, {"code": right_code})
    assert signed_in(member) is allowed
    assert User.objects.filter(phone=PHONE).exists() is allowed


def test_a_locked_number_gets_no_new_code_and_says_so(settings, clock):
    settings.SIGNIN_WRONG_CODES_PER_DAY = 2
    client = browser()
    request_code(client)
    for _ in range(2):
        client.post(CONFIRM_URL, {"code": wrong(last_code())})
    sent = len(LocmemSmsBackend.outbox)
    clock.now += 3600
    refused = request_code(browser(ip="198.51.100.50", agent="another phone"))
    assert refused.status_code == 200 and "验证码输错次数过多，请明天再试。" in refused.content.decode()
    assert len(LocmemSmsBackend.outbox) == sent


def test_wrong_codes_from_one_address_are_capped_across_numbers(settings, clock):
    settings.SIGNIN_WRONG_CODES_PER_HOUR = 3
    for n in range(3):
        client = browser(ip="203.0.113.9", agent=f"device {n}")
        request_code(client, phone=f"1380013800{n}")
        client.post(CONFIRM_URL, {"code": wrong(last_code())})
    client = browser(ip="203.0.113.9", agent="device 9")
    refused = request_code(client, phone="13800138009")
    assert "验证码输错次数过多" in refused.content.decode()
    assert request_code(browser(ip="203.0.113.10", agent="device 9"), phone="13800138009").status_code == 302


# --- Code requests: exponential back-off, per device --------------------------------------------------------


def test_code_requests_to_a_number_back_off_exponentially(clock):
    def ask(seconds_later: float):
        clock.now += seconds_later
        return request_code(browser(ip=f"203.0.113.{int(clock.now) % 250}", agent=str(clock.now)))

    assert ask(0).status_code == 302
    refused = ask(30)
    assert "请 31 秒后再获取验证码。" in refused.content.decode()
    assert ask(31).status_code == 302  # 61 s after the first
    assert "秒后再获取验证码" in ask(100).content.decode()  # now 120 s
    assert ask(21).status_code == 302
    assert "秒后再获取验证码" in ask(239).content.decode()  # now 240 s
    assert ask(2).status_code == 302
    assert len(LocmemSmsBackend.outbox) == 4


@pytest.mark.race
@pytest.mark.parametrize("guarded", [True, False], ids=["one-at-a-time", "control"])
def test_concurrent_requests_for_one_number_get_one_code(monkeypatch, guarded):
    """Eight requests at once for the same number, each pausing between its back-off check and its count
    (so that all would pass the check): one code, since one request at a time decides (a lock taken with
    Redis ADD). The control lets every ADD succeed, and all eight get a code."""
    real_check, gate = signin.check_code_request, threading.Barrier(8, timeout=2)

    def check_then_pause(**kwargs):
        real_check(**kwargs)
        try:
            gate.wait()
        except threading.BrokenBarrierError:  # guarded: the others were refused, nobody else comes
            pass

    monkeypatch.setattr(signin, "check_code_request", check_then_pause)
    if not guarded:

        class EveryAddWins:
            def __getattr__(self, name):
                return getattr(cache, name)

            def add(self, *args, **kwargs):
                cache.add(*args, **kwargs)
                return True

        monkeypatch.setattr(signin, "cache", EveryAddWins())
    factory = RequestFactory()

    def ask(n):
        request = factory.get("/", REMOTE_ADDR=f"203.0.113.{n}", HTTP_USER_AGENT=f"phone {n}")
        signin.take_code_request(phone=PHONE, request=request)
        return True

    results = race(8, ask)
    assert all(r is True or isinstance(r, signin.SignInLimited) for r in results), results
    assert sum(r is True for r in results) == (1 if guarded else 8)


def test_one_device_may_ask_for_a_few_codes_an_hour(settings):
    settings.SIGNIN_CODES_PER_DEVICE_PER_HOUR = 3
    for n in range(3):
        assert request_code(browser(ip=f"203.0.113.{n}"), phone=f"1380013800{n}").status_code == 302
    refused = request_code(browser(ip="203.0.113.99"), phone="13800138009")
    assert "获取验证码太频繁" in refused.content.decode()
    assert request_code(browser(ip="203.0.113.99", agent="another phone"), phone="13800138009").status_code == 302


# --- SMS cost per shop -----------------------------------------------------------------------------------


def test_a_shops_messages_are_capped_a_day(settings, shop, other_shop):
    settings.SMS_LIMITS = {"*": {"shop": ["2/86400"]}}
    for n in range(2):
        send_sms(f"+861380013800{n}", "上新了", kind="notification", shop_id=shop.pk)
    with pytest.raises(SmsRateLimited):
        send_sms("+8613800138009", "上新了", kind="notification", shop_id=shop.pk)
    send_sms("+8613800138009", "上新了", kind="notification", shop_id=other_shop.pk)


# --- The client's address behind the proxy ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("proxies", "forwarded", "expected"),
    [
        (0, "198.51.100.1", "10.0.0.2"),  # no trusted proxy: the header is anyone's to write
        (1, "198.51.100.1", "198.51.100.1"),
        (1, "6.6.6.6, 198.51.100.1", "198.51.100.1"),  # the client's own prefix is ignored
        (2, "198.51.100.1, 10.0.0.9", "198.51.100.1"),
        (2, "198.51.100.1", "10.0.0.2"),  # fewer entries than proxies: not through them all, never a 500
    ],
)
def test_client_address_through_trusted_proxies(settings, rf, proxies, forwarded, expected):
    settings.ALLAUTH_TRUSTED_PROXY_COUNT = proxies
    request = rf.get("/", REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR=forwarded, HTTP_USER_AGENT="x")
    assert client_ip(request) == expected
    assert request_fingerprint(request)[0] == expected  # what fraud flags record


def test_a_proxys_own_client_header_can_be_trusted_instead(settings, rf):
    settings.ALLAUTH_TRUSTED_CLIENT_IP_HEADER = "X-Real-IP"
    request = rf.get("/", REMOTE_ADDR="10.0.0.2", HTTP_X_REAL_IP="198.51.100.4")
    assert client_ip(request) == "198.51.100.4"


@pytest.mark.parametrize(("proxies", "blocked"), [(1, False), (0, True)], ids=["trusted-proxy", "control"])
def test_behind_the_proxy_one_persons_failures_do_not_block_another(settings, shop, proxies, blocked):
    settings.ALLAUTH_TRUSTED_PROXY_COUNT = proxies
    OperatorFactory(shop=shop, user__email="a@shop.test")
    OperatorFactory(shop=shop, user__email="b@shop.test")
    url = reverse("account_login")
    for n in range(10):
        guesser = Client(REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR="203.0.113.66")
        guesser.post(url, {"login": f"x{n}@shop.test", "password": "wrong"})
    other = Client(REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR="198.51.100.7")
    other.post(url, {"login": "b@shop.test", "password": "op-password-123"})
    assert signed_in(other) is not blocked


def test_a_requests_fingerprint_is_its_ip_and_device(rf):
    request = rf.get("/", REMOTE_ADDR="198.51.100.4", HTTP_USER_AGENT="iPhone Safari", HTTP_ACCEPT_LANGUAGE="zh-CN")
    ip, device = request_fingerprint(request)
    assert ip == "198.51.100.4" and device.startswith("ua:")

    same_phone = rf.get("/", REMOTE_ADDR="198.51.100.9", HTTP_USER_AGENT="iPhone Safari", HTTP_ACCEPT_LANGUAGE="zh-CN")
    assert request_fingerprint(same_phone)[1] == device
    request.COOKIES["sq_device"] = "app-install-123"
    assert request_fingerprint(request)[1] == "app-install-123"
