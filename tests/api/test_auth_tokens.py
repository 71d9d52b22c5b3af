"""Member clients sign in through allauth headless (app client) and call the API with X-Session-Token."""

import re

from django.urls import reverse
from rest_framework.test import APIClient

from accounts.models import User
from accounts.sms import LocmemSmsBackend
from groups import services
from groups.models import Membership
from tests.factories import InviteLinkFactory, UserFactory

from .conftest import errors_of

REQUEST_CODE = "/_allauth/app/v1/auth/code/request"
CONFIRM_CODE = "/_allauth/app/v1/auth/code/confirm"


def _code_from_sms() -> str:
    return re.search(r"\b\d{6}\b", LocmemSmsBackend.outbox[-1].text).group(0)


def sign_in_by_sms(phone: str) -> str:
    """The app client's phone + code flow; returns the session token of the signed-in member."""
    app = APIClient()
    requested = app.post(REQUEST_CODE, {"phone": phone}, format="json")
    assert requested.status_code == 401  # a login_by_code flow is now pending
    pending_token = requested.json()["meta"]["session_token"]
    confirmed = app.post(
        CONFIRM_CODE, {"code": _code_from_sms()}, format="json", headers={"X-Session-Token": pending_token}
    )
    assert confirmed.status_code == 200, confirmed.json()
    assert confirmed.json()["meta"]["is_authenticated"] is True
    return confirmed.json()["meta"]["session_token"]


def test_an_existing_member_signs_in_by_sms_and_uses_the_api_with_the_token(group):
    member = UserFactory(phone="+8613800138000")
    membership = services.add_member(group=group, user=member, by=None)

    token = sign_in_by_sms("138 0013 8000")
    client = APIClient()  # no cookies: the token alone identifies the member
    response = client.get(reverse("api-my-memberships"), headers={"X-Session-Token": token})

    assert response.status_code == 200
    assert [m["id"] for m in response.json()["results"]] == [membership.pk]


def test_a_token_client_can_join_without_a_csrf_token(group):
    member = UserFactory(phone="+8613800138001")
    link = InviteLinkFactory(group=group)
    token = sign_in_by_sms("13800138001")

    response = APIClient(enforce_csrf_checks=True).post(
        reverse("api-link-join", args=[link.code]), {}, format="json", headers={"X-Session-Token": token}
    )

    assert response.status_code == 201
    assert Membership.objects.filter(user=member, group=group).exists()


def test_an_unknown_token_is_not_signed_in(db):
    response = APIClient().get(reverse("api-my-memberships"), headers={"X-Session-Token": "not-a-real-token"})

    assert response.status_code in (401, 403)
    assert errors_of(response)[0]["code"] == "not_authenticated"


def test_a_cookie_session_client_must_send_the_csrf_token(group, member):
    link = InviteLinkFactory(group=group)
    browser = APIClient(enforce_csrf_checks=True)
    browser.force_login(member)

    response = browser.post(reverse("api-link-join", args=[link.code]), {}, format="json")

    assert response.status_code == 403
    assert errors_of(response)[0]["code"] == "permission_denied"
    assert not Membership.objects.exists()


def test_a_new_number_gets_an_account_and_a_code_through_the_app_flow(db):
    token = sign_in_by_sms("13900139000")

    assert User.objects.get(phone="+8613900139000").phone_verified
    assert APIClient().get(reverse("api-my-memberships"), headers={"X-Session-Token": token}).status_code == 200
