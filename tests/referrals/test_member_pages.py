"""The member's "my referrals" phone page: my invitees and theirs, my rewards, my commission and withdrawals.
A member sees only their own; every form error is shown in words, never a 500."""

from decimal import Decimal

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from referrals import services
from referrals.models import CommissionAccount, QualifyOn, RewardKind, WithdrawalRequest
from referrals.services import RewardRuleInput, grant_due_rewards, save_reward_rule
from tests.builders.referrals import joins
from tests.factories import GroupFactory, InviteLinkFactory, ShopFactory, UserFactory, shop_owner

pytestmark = pytest.mark.django_db

URL = reverse("member:referrals")
WITHDRAW = reverse("member:referral_withdraw")


def generous(shop):
    """Rewards on joining, granted at once: cheap fixtures for pages."""
    services.update_referral_settings(shop=shop, by=shop_owner(shop), qualify_on=QualifyOn.JOINED, review_days=0)
    save_reward_rule(
        shop=shop, by=shop_owner(shop), data=RewardRuleInput(kind=RewardKind.COMMISSION, amount=Decimal("6.60"))
    )
    save_reward_rule(shop=shop, by=shop_owner(shop), data=RewardRuleInput(kind=RewardKind.POINTS, amount=Decimal("50")))


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def me(shop, ref_group, inviter):
    generous(shop)
    return inviter


def bring(me, group, n=1, *, second=0):
    """`me` brings n people into `group`; each of them brings `second` more."""
    link = InviteLinkFactory(group=group, inviter=me)
    people = []
    for _ in range(n):
        person = joins(link)
        people.append(person)
        for _ in range(second):
            joins(InviteLinkFactory(group=group, inviter=person))
    grant_due_rewards()
    return people


def test_signing_in_is_required(client):
    response = client.get(URL)
    assert response.status_code == 302 and reverse("account_request_login_code") in response["Location"]


def test_my_invitees_and_whom_they_brought(me, ref_group):
    friend = UserFactory(display_name="小红")
    joins(InviteLinkFactory(group=ref_group, inviter=me), friend)
    joins(InviteLinkFactory(group=ref_group, inviter=friend), UserFactory(display_name="小绿"))
    grant_due_rewards()
    page = signed_in(me).get(URL).content.decode()
    assert "小红" in page and "小绿" in page and "¥6.60" in page  # my reward is for 小红 only
    assert "又邀请了 1 位好友" in page


def test_only_my_own_referrals_rewards_and_balance_are_shown(me, ref_group, shop):
    bring(me, ref_group)
    someone_else = UserFactory()
    joins(InviteLinkFactory(group=ref_group, inviter=someone_else), UserFactory(display_name="别人的好友"))
    grant_due_rewards()
    page = signed_in(me).get(URL).content.decode()
    assert "别人的好友" not in page
    other_page = signed_in(someone_else).get(URL).content.decode()
    assert "别人的好友" in other_page and "¥6.60" in other_page


def test_withdrawing_takes_the_money_and_shows_the_request(me, ref_group, shop):
    bring(me, ref_group, 2)
    client = signed_in(me)
    response = client.post(WITHDRAW, {"shop": shop.pk, "amount": "10.00", "account_note": "微信 xiaohong88"})
    assert response.status_code == 302
    w = WithdrawalRequest.objects.get()
    assert (w.member, w.amount, w.account_note) == (me, Decimal("10.00"), "微信 xiaohong88")
    assert CommissionAccount.objects.get(member=me).balance == Decimal("3.20")
    assert "待审核" in client.get(URL).content.decode()


@pytest.mark.parametrize(
    "data, message",
    [
        ({"amount": "abc", "account_note": "wx"}, "输入一个数字"),
        ({"amount": "0", "account_note": "wx"}, "0.01"),
        ({"amount": "1.234", "account_note": "wx"}, "小数不超过 2 位"),
        ({"amount": "99.00", "account_note": "wx"}, "可提现余额不足"),
        ({"amount": "1", "account_note": ""}, "必填项"),
    ],
)
def test_bad_withdrawals_are_refused_in_words(me, ref_group, shop, data, message):
    bring(me, ref_group)
    response = signed_in(me).post(WITHDRAW, {"shop": shop.pk, **data})
    assert response.status_code == 400
    assert message in response.content.decode()
    assert not WithdrawalRequest.objects.exists()


def test_a_member_cannot_withdraw_from_a_shop_where_they_have_nothing(me, ref_group):
    bring(me, ref_group)
    elsewhere = ShopFactory()
    response = signed_in(me).post(WITHDRAW, {"shop": elsewhere.pk, "amount": "1", "account_note": "wx"})
    assert response.status_code == 400 and not WithdrawalRequest.objects.exists()


def test_without_commission_there_is_no_withdraw_form(client, member):
    client.force_login(member)
    page = client.get(URL).content.decode()
    assert "还没有好友通过你的链接加入" in page and WITHDRAW not in page


def _count(client) -> int:
    client.get(URL)  # warm: the inbox badge is cached after a first visit
    with CaptureQueriesContext(connection) as captured:
        assert client.get(URL).status_code == 200
    return len(captured)


@pytest.mark.slow
def test_the_page_runs_in_a_constant_number_of_queries(me, ref_group, shop):
    client = signed_in(me)
    bring(me, ref_group, 1, second=1)
    one = _count(client)
    bring(me, ref_group, 6, second=2)
    other_group = GroupFactory()  # another shop: a second balance, rewards there too
    generous(other_group.shop)
    bring(me, other_group, 3, second=1)
    many = _count(client)
    assert many == one
    page = client.get(URL).content.decode()
    assert page.count('data-invitee="') == 10
