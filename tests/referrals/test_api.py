"""The referrals JSON API: members read only their own invitees, rewards, balances and withdrawals and ask to
withdraw; operators read their shop's rewards and withdrawals and decide them; another shop's is a 404."""

from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from referrals import services
from referrals.models import WithdrawalRequest, WithdrawalStatus
from shops.models import OperatorRole
from tests.builders.referrals import joins
from tests.factories import GroupFactory, InviteLinkFactory, OperatorFactory, UserFactory

from .test_member_pages import bring, generous

pytestmark = pytest.mark.django_db


def api_for(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def errors(response) -> list[dict]:
    body = response.json()
    assert set(body) == {"errors"}, body
    return body["errors"]


@pytest.fixture
def earner(shop, ref_group):
    generous(shop)
    person = UserFactory(display_name="带货王")
    bring(person, ref_group, 2, second=1)
    return person


@pytest.fixture
def foreign(other_shop):
    generous(other_shop)
    stranger = UserFactory(display_name="别家邀请人")
    joins(InviteLinkFactory(group=GroupFactory(shop=other_shop), inviter=stranger))
    services.grant_due_rewards()
    w = services.request_withdrawal(member=stranger, shop_id=other_shop.pk, amount="1.00", account_note="wx")
    return {"inviter": stranger, "withdrawal": w}


# --- Members ----------------------------------------------------------------------------------------------


def test_signing_in_is_required():
    for url in ("/api/v1/me/referrals/", "/api/v1/me/withdrawals/", "/api/v1/shop/withdrawals/"):
        response = APIClient().get(url)
        assert response.status_code in (401, 403) and errors(response)[0]["code"] == "not_authenticated"


def test_my_invitees_with_whom_they_brought(earner, foreign):
    body = api_for(earner).get("/api/v1/me/referrals/").json()
    assert body["count"] == 2
    assert all(row["brought"] == 1 and row["qualified_at"] and not row["moved_away"] for row in body["results"])
    assert "phone" not in str(body)
    assert api_for(foreign["inviter"]).get("/api/v1/me/referrals/").json()["count"] == 1


def test_my_rewards_and_balances(earner, shop):
    rewards = api_for(earner).get("/api/v1/me/referral-rewards/").json()["results"]
    assert sorted((r["kind"], r["amount"], r["status"]) for r in rewards) == [
        ("commission", "6.60", "granted"),
        ("commission", "6.60", "granted"),
        ("points", "50.00", "granted"),
        ("points", "50.00", "granted"),
    ]
    balances = api_for(earner).get("/api/v1/me/commission/").json()
    assert balances == [{"shop": {"id": shop.pk, "name": shop.name}, "balance": "13.20"}]


def test_member_asks_to_withdraw(earner, shop):
    client = api_for(earner)
    response = client.post(
        "/api/v1/me/withdrawals/", {"shop": shop.pk, "amount": "13.20", "account_note": "wx"}, format="json"
    )
    assert response.status_code == 201, response.json()
    assert (response.json()["status"], response.json()["amount"]) == ("requested", "13.20")
    again = client.post(
        "/api/v1/me/withdrawals/", {"shop": shop.pk, "amount": "1", "account_note": "wx"}, format="json"
    )
    assert again.status_code == 400 and "处理中" in errors(again)[0]["message"]
    assert [w["id"] for w in client.get("/api/v1/me/withdrawals/").json()["results"]] == [response.json()["id"]]


@pytest.mark.parametrize(
    "data, field",
    [
        ({"amount": "abc", "account_note": "wx"}, "amount"),
        ({"amount": "-1", "account_note": "wx"}, "amount"),
        ({"amount": "500", "account_note": "wx"}, "amount"),
        ({"amount": "1", "account_note": ""}, "account_note"),
    ],
)
def test_bad_withdrawals_answer_400_with_the_field(earner, shop, data, field):
    response = api_for(earner).post("/api/v1/me/withdrawals/", {"shop": shop.pk, **data}, format="json")
    assert response.status_code == 400
    assert field in {e["field"] for e in errors(response)}
    assert not WithdrawalRequest.objects.exists()


def test_member_sees_only_their_own_withdrawals(earner, foreign):
    assert api_for(earner).get("/api/v1/me/withdrawals/").json()["count"] == 0


# --- Operators -------------------------------------------------------------------------------------------------


def test_operator_lists_the_shops_rewards_and_withdrawals(operator, shop, earner, foreign):
    services.request_withdrawal(member=earner, shop_id=shop.pk, amount="5", account_note="wx")
    client = api_for(operator)
    rewards = client.get("/api/v1/shop/referral-rewards/", {"status": "granted"}).json()
    assert rewards["count"] == 8 and {r["inviter"]["public_name"] for r in rewards["results"]} >= {"带货王"}
    withdrawals = client.get("/api/v1/shop/withdrawals/").json()["results"]
    assert [(w["member"]["public_name"], w["amount"], w["balance"]) for w in withdrawals] == [
        ("带货王", "5.00", "8.20")
    ]
    bad = client.get("/api/v1/shop/withdrawals/", {"status": "nope"})
    assert bad.status_code == 400 and errors(bad)[0]["field"] == "status"


def test_operator_decides_a_withdrawal(operator, shop, earner):
    w = services.request_withdrawal(member=earner, shop_id=shop.pk, amount="5", account_note="wx")
    client = api_for(operator)
    assert client.post(f"/api/v1/shop/withdrawals/{w.pk}/approve/").json()["status"] == "approved"
    refused = client.post(f"/api/v1/shop/withdrawals/{w.pk}/mark-paid/", {}, format="json")
    assert refused.status_code == 400 and errors(refused)[0]["field"] == "payout_reference"
    paid = client.post(
        f"/api/v1/shop/withdrawals/{w.pk}/mark-paid/", {"payout_reference": "支付宝 2026112300"}, format="json"
    ).json()
    assert (paid["status"], paid["payout_reference"]) == ("paid", "支付宝 2026112300")


def test_rejecting_needs_a_reason_and_gives_the_money_back(operator, shop, earner):
    w = services.request_withdrawal(member=earner, shop_id=shop.pk, amount="5", account_note="wx")
    client = api_for(operator)
    assert client.post(f"/api/v1/shop/withdrawals/{w.pk}/reject/").status_code == 400
    body = client.post(f"/api/v1/shop/withdrawals/{w.pk}/reject/", {"note": "账号有误"}, format="json").json()
    assert (body["status"], body["balance"]) == ("rejected", "13.20")


def test_viewer_reads_but_cannot_decide(viewer, shop, earner):
    w = services.request_withdrawal(member=earner, shop_id=shop.pk, amount="5", account_note="wx")
    client = api_for(viewer)
    assert client.get("/api/v1/shop/withdrawals/").status_code == 200
    assert client.post(f"/api/v1/shop/withdrawals/{w.pk}/approve/").status_code == 403
    w.refresh_from_db()
    assert w.status == WithdrawalStatus.REQUESTED


def test_another_shops_withdrawal_is_not_found(operator, foreign):
    client = api_for(operator)
    assert client.post(f"/api/v1/shop/withdrawals/{foreign['withdrawal'].pk}/approve/").status_code == 404
    assert client.get("/api/v1/shop/withdrawals/").json()["count"] == 0
    assert client.get("/api/v1/shop/referral-rewards/").json()["count"] == 0


def test_a_member_without_a_seat_cannot_use_the_shop_api(earner):
    response = api_for(earner).get("/api/v1/shop/withdrawals/")
    assert response.status_code == 403 and errors(response)[0]["code"] == "no_shop_seat"


def test_viral_coefficient_per_group(operator, shop, ref_group, earner, other_shop):
    OperatorFactory(shop=other_shop, role=OperatorRole.OWNER)
    rows = api_for(operator).get("/api/v1/shop/referrals/viral/", {"by": "group"}).json()
    assert rows == [
        {"id": ref_group.pk, "name": ref_group.name, "invites": 0, "joins": 4, "second_gen": 2, "coefficient": "0.50"}
    ]
    assert api_for(operator).get("/api/v1/shop/referrals/viral/", {"by": "planet"}).status_code == 400


# --- Constant queries -------------------------------------------------------------------------------------------


def _count(client, url) -> int:
    with CaptureQueriesContext(connection) as captured:
        assert client.get(url).status_code == 200
    return len(captured)


@pytest.mark.parametrize("url", ["/api/v1/me/referrals/", "/api/v1/me/referral-rewards/", "/api/v1/me/withdrawals/"])
def test_member_lists_run_in_a_constant_number_of_queries(shop, ref_group, url):
    generous(shop)
    person = UserFactory()
    bring(person, ref_group, 1, second=1)
    services.request_withdrawal(member=person, shop_id=shop.pk, amount=Decimal("1"), account_note="wx")
    client = api_for(person)
    one = _count(client, url)
    bring(person, ref_group, 5, second=1)
    other = GroupFactory()
    generous(other.shop)
    bring(person, other, 2)
    services.request_withdrawal(member=person, shop_id=other.shop_id, amount=Decimal("1"), account_note="wx")
    assert _count(client, url) == one


@pytest.mark.parametrize("url", ["/api/v1/shop/referral-rewards/", "/api/v1/shop/withdrawals/"])
def test_shop_lists_run_in_a_constant_number_of_queries(operator, shop, ref_group, url):
    generous(shop)
    client = api_for(operator)
    first = UserFactory()
    bring(first, ref_group)
    services.request_withdrawal(member=first, shop_id=shop.pk, amount="1", account_note="wx")
    one = _count(client, url)
    for _ in range(4):
        person = UserFactory()
        bring(person, ref_group, 2)
        services.request_withdrawal(member=person, shop_id=shop.pk, amount="1", account_note="wx")
    assert _count(client, url) == one
