"""Issue 2 end to end in a real browser: a person opens an invite link on their phone, signs in with an
SMS code, joins, and the operator sees them in the dashboard with the person who invited them.

The live server runs in another thread of this process, so the data below is committed (live_server
implies transactional_db) and the SMS outbox the server writes to is the one these tests read.
"""

import pytest
from playwright.sync_api import expect

from accounts.models import User
from groups.models import Channel, GroupState, Membership, MembershipStatus, Threshold
from groups.services import LinkOptions, add_member, create_link, personal_link
from referrals.models import ReferralEdge
from shops.models import OperatorRole
from tests.factories import GroupFactory, OperatorFactory, ShopFactory, UserFactory, shop_owner

pytestmark = pytest.mark.browser

RULES = "1. 只聊育儿和辅食，不发广告\n2. 团购问题请私聊群管理\n3. 互相尊重，友善交流"


@pytest.fixture
def shop_with_operator(db):
    shop = ShopFactory(name="小满母婴生活馆")
    seat = OperatorFactory(
        shop=shop, role=OperatorRole.OPERATOR, user__display_name="运营小林", user__email="lin@xiaoman.test"
    )
    return shop, seat.user


def test_member_joins_through_a_friends_link_and_the_operator_sees_who_invited_them(
    phone, desktop, live_site, shot, sign_in_by_phone, sign_in_operator, shop_with_operator
):
    shop, operator = shop_with_operator
    group = GroupFactory(
        shop=shop,
        name="小满宝妈辅食交流 3 群",
        kind="育儿",
        state=GroupState.ACTIVE,
        threshold=Threshold.OPEN,
        description="每天分享宝宝辅食做法，每周二团购有机米粉和果泥。",
        rules=RULES,
    )
    friend = UserFactory(display_name="王小丫")
    add_member(group=group, user=friend, by=operator)
    link = personal_link(user=friend, group=group)

    # The invite link, opened signed out: the landing page says what this group is and how to get in.
    phone.goto(link.public_url)
    expect(phone.get_by_role("heading", name="小满宝妈辅食交流 3 群")).to_be_visible()
    expect(phone.locator(".inviter")).to_contain_text("王小丫 邀请你加入")
    expect(phone.locator(".chips")).to_contain_text("1 / 200 人")
    expect(phone.get_by_role("heading", name="群规")).to_be_visible()
    expect(phone.get_by_text("只聊育儿和辅食，不发广告")).to_be_visible()
    expect(phone.get_by_text("无需审核，点击下方按钮即可入群。")).to_be_visible()
    shot(phone, "1-landing-signed-out")

    # One tap, the number and the code texted to it: signing in finishes the join (no second tap).
    phone.get_by_role("button", name="登录并加入").click()
    expect(phone.get_by_test_id("sign-in-for")).to_contain_text("加入「小满宝妈辅食交流 3 群」")
    sign_in_by_phone(phone, "13812345678", step="2-sign-in")
    expect(phone.get_by_text("欢迎加入「小满宝妈辅食交流 3 群」！")).to_be_visible()
    expect(phone.get_by_role("heading", name="小满宝妈辅食交流 3 群")).to_be_visible()
    expect(phone.locator(".facts")).to_contain_text("在群")
    expect(phone.get_by_role("link", name="我的邀请链接")).to_be_visible()
    shot(phone, "4-joined")

    newcomer = User.objects.get(phone="+8613812345678")
    assert newcomer.phone_verified
    membership = Membership.objects.get(group=group, user=newcomer)
    assert membership.status == MembershipStatus.ACTIVE
    assert (membership.inviter, membership.invite_link, membership.channel) == (friend, link, Channel.MEMBER)
    edge = ReferralEdge.objects.get(shop=shop, invitee=newcomer)
    assert (edge.inviter, edge.link, edge.group) == (friend, link, group)
    link.refresh_from_db()
    assert (link.open_count, link.sign_in_count, link.join_count, link.use_count) == (1, 1, 1, 1)
    group.refresh_from_db()
    assert group.active_member_count == 2

    # The operator, on a desktop, signs in with e-mail and password and opens the group.
    sign_in_operator(desktop, "lin@xiaoman.test")
    expect(desktop.get_by_role("heading", name="群列表")).to_be_visible()
    desktop.get_by_role("link", name="小满宝妈辅食交流 3 群").click()
    expect(desktop.get_by_role("heading", name="小满宝妈辅食交流 3 群")).to_be_visible()
    row = desktop.locator("#members tbody tr", has_text="138****5678")
    expect(row).to_have_count(1)
    expect(row).to_contain_text("在群")
    expect(row).to_contain_text("成员邀请")
    expect(row).to_contain_text("王小丫")
    shot(desktop, "5-dashboard-group")


def test_member_answers_the_question_waits_and_is_approved_by_the_operator(
    phone, desktop, live_site, shot, sign_in_by_phone, sign_in_operator, shop_with_operator
):
    shop, operator = shop_with_operator
    group = GroupFactory(
        shop=shop,
        name="有机辅食团购 VIP 群",
        state=GroupState.ACTIVE,
        threshold=Threshold.APPROVAL,
        entry_question="宝宝现在几个月？平时在哪里买辅食？",
        rules=RULES,
    )
    link = create_link(
        shop=shop,
        by=shop_owner(shop),
        inviter=operator,
        group=group,
        options=LinkOptions(channel=Channel.POSTER, label="门店海报"),
    )

    phone.goto(link.public_url)
    expect(phone.get_by_role("heading", name="有机辅食团购 VIP 群")).to_be_visible()
    expect(phone.locator(".inviter")).to_contain_text("运营小林 邀请你加入")
    expect(phone.get_by_text("这个群需要审核")).to_be_visible()
    shot(phone, "1-landing-signed-out")

    phone.get_by_label("申请说明").fill("宝宝 8 个月，平时在门店买米粉。")
    shot(phone, "2-answer")
    phone.get_by_role("button", name="登录并申请入群").click()
    sign_in_by_phone(phone, "15900001111", step="3-sign-in")
    expect(phone.get_by_role("heading", name="申请已提交")).to_be_visible()
    expect(phone.get_by_text("正在等待群运营审核")).to_be_visible()
    shot(phone, "4-pending")

    applicant = User.objects.get(phone="+8615900001111")
    membership = Membership.objects.get(group=group, user=applicant)
    assert membership.status == MembershipStatus.PENDING
    assert not ReferralEdge.objects.filter(invitee=applicant).exists()  # not in yet: nobody brought them

    # The operator approves the request from the group's pending list.
    sign_in_operator(desktop, "lin@xiaoman.test")
    desktop.get_by_role("link", name="有机辅食团购 VIP 群").first.click()
    request_row = desktop.locator("#pending tbody tr", has_text="159****1111")
    expect(request_row).to_contain_text("宝宝 8 个月，平时在门店买米粉。")
    expect(request_row).to_contain_text("海报")
    shot(desktop, "5-dashboard-pending")
    request_row.get_by_role("button", name="通过").click()
    expect(desktop.get_by_text("159****1111：已通过入群申请。")).to_be_visible()
    expect(desktop.locator("#pending")).to_contain_text("没有待审核的申请。")
    member_row = desktop.locator("#members tbody tr", has_text="159****1111")
    expect(member_row).to_contain_text("在群")
    expect(member_row).to_contain_text("海报")  # the channel brought them; the operator is nobody's inviter
    expect(member_row).not_to_contain_text("运营小林")
    shot(desktop, "6-dashboard-approved")

    # The member, back on the link, is now in the group.
    phone.goto(link.public_url)
    expect(phone.get_by_role("heading", name="你已经在这个群里了")).to_be_visible()
    phone.get_by_role("link", name="进入群页面").click()
    expect(phone.locator(".facts")).to_contain_text("在群")
    shot(phone, "7-joined")

    membership.refresh_from_db()
    assert membership.status == MembershipStatus.ACTIVE
    assert membership.decided_by == operator
    # The operator's poster brought them: the join is the poster channel's, not a referral by the operator.
    assert (membership.invite_link, membership.channel, membership.inviter) == (link, Channel.POSTER, None)
    assert not ReferralEdge.objects.filter(invitee=applicant).exists()
