"""The admin's sign-in form is rate-limited on failures only (settings: "admin_login" 5/5m per name)."""

import pytest
from django.test import Client

from tests.factories import OperatorUserFactory

ADMIN_LOGIN = "/admin/login/?next=/admin/"


@pytest.fixture
def admin_user(db):
    return OperatorUserFactory(username="boss", is_staff=True, is_superuser=True)


def _sign_in(password: str) -> int:
    # A new browser each time: no session, no cookies carried over.
    return Client().post(ADMIN_LOGIN, {"username": "boss", "password": password}).status_code


@pytest.mark.slow
def test_correct_sign_ins_are_never_refused_as_guessing(admin_user):
    assert [_sign_in("op-password-123") for _ in range(12)] == [302] * 12


def test_wrong_passwords_are_limited_and_then_block_the_right_one_too(admin_user):
    assert [_sign_in("wrong") for _ in range(5)] == [200] * 5
    assert _sign_in("wrong") == 429
    assert _sign_in("op-password-123") == 429  # the name is locked for the window, whoever knocks


def test_successes_between_failures_do_not_reset_the_count(admin_user):
    outcomes = []
    for _ in range(5):
        outcomes += [_sign_in("wrong"), _sign_in("op-password-123")]
    assert outcomes == [200, 302] * 4 + [200, 429]  # the fifth failure locks the name
