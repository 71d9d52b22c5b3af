"""Redis down (issue 16): pages that do not need it keep answering; sign-in, whose limits live there, is
refused with a message rather than let through uncounted. Against a throwaway redis-server this test
starts and stops (the suite's own Redis stays up)."""

import signal
import socket
import subprocess
import time

import pytest
import redis
from django.core.cache import cache
from django.test import Client
from django.urls import reverse

from accounts.sms import LocmemSmsBackend
from groups import services
from tests.factories import InviteLinkFactory

pytestmark = pytest.mark.django_db


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_redis(port: int, directory, *persistence: str) -> subprocess.Popen:
    process = subprocess.Popen(
        ["redis-server", "--port", str(port), "--save", "", "--dir", str(directory), *persistence],
        stdout=subprocess.DEVNULL,
    )
    for _ in range(100):
        try:
            redis.Redis(port=port).ping()
            break
        except redis.ConnectionError:
            time.sleep(0.05)
    return process


@pytest.fixture
def redis_server(tmp_path, settings):
    """A redis-server of our own as the cache (the production options, another address); stop() kills it."""
    port = free_port()
    process = start_redis(port, tmp_path, "--appendonly", "no")
    url = f"redis://127.0.0.1:{port}/0"
    settings.CACHES = {"default": {**settings.CACHES["default"], "LOCATION": url}}

    def stop():
        process.terminate()
        process.wait(timeout=10)
        with pytest.raises(redis.ConnectionError):
            redis.Redis.from_url(url).ping()

    yield stop
    if process.poll() is None:
        process.kill()
        process.wait()


@pytest.fixture
def member_in_group(group, member):
    services.add_member(group=group, user=member, by=None)
    return member


def test_signed_in_pages_keep_answering_with_redis_down(redis_server, operator, member_in_group, group):
    member, op = Client(), Client()
    member.force_login(member_in_group)
    op.force_login(operator)
    pages = [
        (member, reverse("member:group", args=[group.pk])),
        (member, reverse("member:my_groups")),
        (op, reverse("dashboard:groups")),
        (op, reverse("dashboard:group_detail", args=[group.pk])),
    ]
    assert cache.add("probe", 1) is True  # the control: the cache is this Redis, and it answers
    assert [client.get(url).status_code for client, url in pages] == [200] * 4

    redis_server()

    assert cache.add("probe", 1) is None  # down: errors are ignored, not raised
    assert [client.get(url).status_code for client, url in pages] == [200] * 4


def test_a_poster_is_drawn_uncached_at_once_with_redis_down(redis_server, group, member_in_group):
    link = services.personal_link(user=member_in_group, group=group)
    client = Client()
    client.force_login(member_in_group)
    redis_server()
    started = time.monotonic()
    response = client.get(reverse("member:invite_poster", args=[link.code]))
    assert response.status_code == 200 and response["Content-Type"] == "image/png"
    assert time.monotonic() - started < 10  # not waiting out another renderer's claim


def test_sign_in_by_code_fails_closed_with_redis_down(redis_server, group):
    redis_server()
    response = Client().post(reverse("account_request_login_code"), {"phone": "13800138000"})
    assert response.status_code == 200
    assert "登录暂时不可用，请稍后再试。" in response.content.decode()
    assert LocmemSmsBackend.outbox == []


def test_an_invite_landing_page_answers_with_redis_down(redis_server, group):
    link = InviteLinkFactory(group=group)
    redis_server()
    assert Client().get(reverse("member:landing", args=[link.code])).status_code == 200


def test_a_sign_out_while_redis_is_down_holds_when_it_is_back(tmp_path, settings, member_in_group, group):
    """Redis as docker-compose runs it (append-only file): what it held before the outage is back after.
    Sessions live in PostgreSQL alone, so none of them can come back from there (a cached copy of a
    session signed out during the outage would sign its holder in again)."""
    port = free_port()
    settings.CACHES = {"default": {**settings.CACHES["default"], "LOCATION": f"redis://127.0.0.1:{port}/0"}}
    server = start_redis(port, tmp_path, "--appendonly", "yes", "--appendfsync", "always")
    try:
        client = Client()
        client.force_login(member_in_group)
        page = reverse("member:group", args=[group.pk])
        assert client.get(page).status_code == 200
        server.terminate()
        server.wait(timeout=10)

        signed_in = client.cookies[settings.SESSION_COOKIE_NAME].value
        assert client.post(reverse("account_logout")).status_code == 302
        server = start_redis(port, tmp_path, "--appendonly", "yes", "--appendfsync", "always")
        assert cache.add("probe", 1) is True  # back

        client.cookies[settings.SESSION_COOKIE_NAME] = signed_in  # a copy of the cookie someone kept
        assert client.get(page).status_code == 302  # to the sign-in page: the session stays ended
    finally:
        server.kill()
        server.wait()


def test_a_page_that_needs_redis_says_so_with_a_503(redis_server, operator):
    """The leaderboards are read from Redis alone: without it they answer a 503 page, not an error page."""
    client = Client()
    client.force_login(operator)
    assert client.get(reverse("dashboard:leaderboards")).status_code == 200  # the control
    redis_server()

    response = client.get(reverse("dashboard:leaderboards"))

    assert response.status_code == 503 and response["Retry-After"] == "30"
    assert "服务暂时不可用：缓存服务（Redis）无法连接，请稍后再试。" in response.content.decode()


def test_an_operators_sign_in_is_refused_not_let_through_with_redis_down(redis_server, operator):
    """allauth's login limits cannot be counted without Redis either: a 429 page, not a 500, no session."""
    operator.set_password("correct horse battery")
    operator.save()
    redis_server()
    client = Client()

    response = client.post(reverse("account_login"), {"login": operator.email, "password": "correct horse battery"})

    assert response.status_code == 429
    assert "_auth_user_id" not in client.session


def test_sign_in_is_refused_in_seconds_when_redis_stops_answering(tmp_path, settings):
    """A Redis that accepts connections but never answers (hung, or the network drops its replies) must
    cost seconds, not hold the request until the worker is killed (settings: the cache's socket timeouts)."""
    port = free_port()
    settings.CACHES = {"default": {**settings.CACHES["default"], "LOCATION": f"redis://127.0.0.1:{port}/0"}}
    server = start_redis(port, tmp_path, "--appendonly", "no")
    assert cache.add("probe", 1) is True  # connected while it answered
    server.send_signal(signal.SIGSTOP)
    try:
        started = time.monotonic()
        response = Client().post(reverse("account_request_login_code"), {"phone": "13800138000"})
        assert "登录暂时不可用，请稍后再试。" in response.content.decode()
        assert time.monotonic() - started < 20
    finally:
        server.send_signal(signal.SIGCONT)
        server.kill()
        server.wait()
