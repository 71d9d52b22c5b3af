"""Operator dashboard pages for referrals: the shop's own edges, trees, viral coefficient, rewards and
withdrawals; another shop's answers 404; viewers read but never write; owners alone change the rules."""

from decimal import Decimal

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from referrals import services
from referrals.models import (
    BindingRule,
    ReferralSettings,
    RewardKind,
    RewardRule,
    WithdrawalRequest,
    WithdrawalStatus,
)
from shops.models import OperatorRole
from tests.builders.referrals import joins
from tests.factories import GroupFactory, InviteLinkFactory, OperatorFactory, UserFactory

from .test_member_pages import bring, generous

pytestmark = pytest.mark.django_db


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def owner_client(owner):
    return signed_in(owner)


@pytest.fixture
def viewer_client(viewer):
    return signed_in(viewer)


@pytest.fixture
def earner(shop, ref_group):
    """A member of the shop with 13.20 of commission (two friends brought)."""
    generous(shop)
    person = UserFactory(display_name="带货王")
    bring(person, ref_group, 2)
    return person


@pytest.fixture
def withdrawal(shop, earner):
    return services.request_withdrawal(member=earner, shop_id=shop.pk, amount="10.00", account_note="微信 dhw")


@pytest.fixture
def foreign(other_shop):
    """Another shop's referral, reward and withdrawal."""
    generous(other_shop)
    group = GroupFactory(shop=other_shop)
    stranger = UserFactory(display_name="别家邀请人")
    invitee = joins(InviteLinkFactory(group=group, inviter=stranger), UserFactory(display_name="别家好友"))
    services.grant_due_rewards()
    w = services.request_withdrawal(member=stranger, shop_id=other_shop.pk, amount="1.00", account_note="wx")
    return {
        "inviter": stranger,
        "invitee": invitee,
        "withdrawal": w,
        "rule": RewardRule.objects.filter(shop=other_shop).first(),
    }


# --- Reading -------------------------------------------------------------------------------------------------


def test_overview_lists_the_shops_edges_and_viral_coefficient(operator_client, shop, ref_group, earner, foreign):
    friend = earner.referral_edges.first().invitee
    joins(InviteLinkFactory(group=ref_group, inviter=friend))  # a second generation join
    page = operator_client.get(reverse("dashboard:referrals")).content.decode()
    assert "带货王" in page and "别家" not in page
    assert 'id="shop-joins">3<' in page and 'id="shop-second">1<' in page and 'id="shop-k">0.33<' in page
    assert ref_group.name in page


def test_viral_table_by_series_and_campaign(operator_client):
    for by in ("series", "campaign", "nonsense"):
        assert operator_client.get(reverse("dashboard:referrals"), {"by": by}).status_code == 200


def test_member_page_shows_their_tree_and_events(operator_client, earner, ref_group):
    friend = earner.referral_edges.first().invitee
    grandchild = joins(InviteLinkFactory(group=ref_group, inviter=friend), UserFactory(display_name="孙辈好友"))
    page = operator_client.get(reverse("dashboard:referral_member", args=[earner.pk])).content.decode()
    assert friend.public_name in page and grandchild.public_name in page
    assert "入群" in page and "6.60" in page


def test_another_shops_member_is_not_found(operator_client, foreign):
    for person in (foreign["inviter"], foreign["invitee"]):
        assert operator_client.get(reverse("dashboard:referral_member", args=[person.pk])).status_code == 404


def test_rewards_page_filters_by_status(operator_client, earner, foreign):
    page = operator_client.get(reverse("dashboard:referral_rewards"), {"status": "granted"}).content.decode()
    assert page.count("带货王") >= 2 and "别家" not in page
    assert operator_client.get(reverse("dashboard:referral_rewards"), {"status": "bogus"}).status_code == 200


# --- Withdrawals -----------------------------------------------------------------------------------------------


def _act(client, w, action, **data):
    return client.post(reverse("dashboard:referral_withdrawal_action", args=[w.pk, action]), data)


def test_operator_approves_and_records_the_payout(operator_client, withdrawal, operator):
    page = operator_client.get(reverse("dashboard:referral_withdrawals")).content.decode()
    assert "微信 dhw" in page and "批准" in page
    assert _act(operator_client, withdrawal, "approve").status_code == 302
    _act(operator_client, withdrawal, "mark_paid", payout_reference="微信转账 001")
    withdrawal.refresh_from_db()
    assert (withdrawal.status, withdrawal.payout_reference, withdrawal.paid_by) == (
        WithdrawalStatus.PAID,
        "微信转账 001",
        operator,
    )


def test_marking_paid_without_a_reference_is_refused_in_words(operator_client, withdrawal):
    _act(operator_client, withdrawal, "approve")
    response = _act(operator_client, withdrawal, "mark_paid", payout_reference="")
    withdrawal.refresh_from_db()
    assert withdrawal.status == WithdrawalStatus.APPROVED
    follow = operator_client.get(response["Location"]).content.decode()
    assert "请填写打款凭证号" in follow


def test_rejecting_gives_the_money_back(operator_client, withdrawal, earner, shop):
    _act(operator_client, withdrawal, "reject", note="账号不对")
    withdrawal.refresh_from_db()
    assert withdrawal.status == WithdrawalStatus.REJECTED
    assert earner.commission_accounts.get(shop=shop).balance == Decimal("13.20")


def test_viewer_sees_withdrawals_but_cannot_decide(viewer_client, withdrawal):
    page = viewer_client.get(reverse("dashboard:referral_withdrawals")).content.decode()
    assert "微信 dhw" in page and 'name="payout_reference"' not in page and ">批准<" not in page
    assert _act(viewer_client, withdrawal, "approve").status_code == 403
    withdrawal.refresh_from_db()
    assert withdrawal.status == WithdrawalStatus.REQUESTED


def test_another_shops_withdrawal_is_not_found(operator_client, foreign):
    assert _act(operator_client, foreign["withdrawal"], "approve").status_code == 404
    assert _act(operator_client, foreign["withdrawal"], "bogus").status_code == 404
    foreign["withdrawal"].refresh_from_db()
    assert foreign["withdrawal"].status == WithdrawalStatus.REQUESTED
    page = operator_client.get(reverse("dashboard:referral_withdrawals")).content.decode()
    assert "别家邀请人" not in page


# --- Rules ----------------------------------------------------------------------------------------------------

SETTINGS = reverse("dashboard:referral_settings")


def test_owner_changes_the_binding_rule(owner_client, shop):
    response = owner_client.post(
        SETTINGS,
        {
            "binding_rule": BindingRule.LATEST_WITHIN_WINDOW,
            "binding_window_days": 3,
            "qualify_on": "paid_order",
            "qualifying_min_amount": "20",
            "review_days": 10,
        },
    )
    assert response.status_code == 302
    rules = ReferralSettings.objects.get(shop=shop)
    assert (rules.binding_rule, rules.binding_window_days, rules.qualifying_min_amount, rules.review_days) == (
        BindingRule.LATEST_WITHIN_WINDOW,
        3,
        Decimal("20"),
        10,
    )


def test_bad_settings_are_refused_in_words(owner_client, shop):
    response = owner_client.post(
        SETTINGS,
        {
            "binding_rule": "whatever",
            "binding_window_days": 0,
            "qualify_on": "paid_order",
            "qualifying_min_amount": "-1",
            "review_days": "x",
        },
    )
    assert response.status_code == 400
    assert "binding_rule" in response.context["settings_form"].errors
    assert not ReferralSettings.objects.filter(shop=shop, binding_rule="whatever").exists()


def test_operators_and_viewers_cannot_change_rules(operator_client, viewer_client, shop):
    for client in (operator_client, viewer_client):
        assert client.post(SETTINGS, {"binding_rule": BindingRule.SIGN_UP_ONLY}).status_code == 403
        assert (
            client.post(reverse("dashboard:referral_rule_create"), {"kind": "points", "amount": "1"}).status_code == 403
        )
        page = client.get(SETTINGS).content.decode()
        assert 'action="' + reverse("dashboard:referral_rule_create") not in page
        assert "首次绑定优先" in page  # the rules are shown in words
    assert services.referral_settings(shop.pk).binding_rule == BindingRule.FIRST_BIND


def test_owner_adds_and_stops_a_reward_rule(owner_client, shop):
    response = owner_client.post(
        reverse("dashboard:referral_rule_create"),
        {"kind": RewardKind.COUPON, "amount": "10", "label": "满50减10", "cap_count": "5", "cap_period": "week"},
    )
    assert response.status_code == 302
    rule = RewardRule.objects.get(shop=shop)
    assert (rule.kind, rule.label, rule.cap_count, rule.cap_period, rule.is_active) == (
        RewardKind.COUPON,
        "满50减10",
        5,
        "week",
        True,
    )
    owner_client.post(reverse("dashboard:referral_rule_deactivate", args=[rule.pk]))
    rule.refresh_from_db()
    assert not rule.is_active


def test_a_bad_reward_rule_is_refused_in_words(owner_client, shop):
    response = owner_client.post(
        reverse("dashboard:referral_rule_create"),
        {"kind": RewardKind.COUPON, "amount": "10", "label": "", "cap_period": "week"},
    )
    assert response.status_code == 400
    assert "请填写优惠券或赠品的名称" in response.content.decode()
    assert not RewardRule.objects.exists()


def test_another_shops_rule_cannot_be_stopped(owner_client, foreign):
    response = owner_client.post(reverse("dashboard:referral_rule_deactivate", args=[foreign["rule"].pk]))
    assert response.status_code == 404
    foreign["rule"].refresh_from_db()
    assert foreign["rule"].is_active


def test_a_member_without_a_seat_is_refused(client, member):
    client.force_login(member)
    assert client.get(reverse("dashboard:referrals")).status_code == 403


def test_operator_of_another_shop_sees_nothing_of_this_one(other_shop, earner):
    stranger = OperatorFactory(shop=other_shop, role=OperatorRole.OWNER).user
    page = signed_in(stranger).get(reverse("dashboard:referrals")).content.decode()
    assert "带货王" not in page
    assert signed_in(stranger).get(reverse("dashboard:referral_member", args=[earner.pk])).status_code == 404


# --- Constant queries -------------------------------------------------------------------------------------------


def _count(client, url, params=None) -> int:
    with CaptureQueriesContext(connection) as captured:
        assert client.get(url, params or {}).status_code == 200
    return len(captured)


@pytest.mark.parametrize(
    "url_name, params",
    [
        ("dashboard:referrals", {}),
        ("dashboard:referrals", {"by": "series"}),
        ("dashboard:referral_rewards", {}),
        ("dashboard:referral_withdrawals", {}),
    ],
)
@pytest.mark.slow
def test_list_pages_run_in_a_constant_number_of_queries(operator_client, shop, ref_group, url_name, params):
    generous(shop)
    url = reverse(url_name)
    first = UserFactory()
    bring(first, ref_group, 1, second=1)
    services.request_withdrawal(member=first, shop_id=shop.pk, amount="1", account_note="wx")
    one = _count(operator_client, url, params)
    for _ in range(5):
        person = UserFactory()
        bring(person, ref_group, 2, second=1)
        services.request_withdrawal(member=person, shop_id=shop.pk, amount="1", account_note="wx")
    assert _count(operator_client, url, params) == one
    assert WithdrawalRequest.objects.count() == 6


def test_member_page_runs_in_a_constant_number_of_queries(operator_client, shop, ref_group):
    generous(shop)
    person = UserFactory()
    bring(person, ref_group, 1, second=1)
    url = reverse("dashboard:referral_member", args=[person.pk])
    one = _count(operator_client, url)
    bring(person, ref_group, 5, second=2)
    assert _count(operator_client, url) == one
