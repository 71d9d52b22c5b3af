"""Issue 15 (roles with powers, 群规 enforcement) in a real browser at phone size: a group's 管理员 signs in,
approves an applicant and warns a member for a rule picked from the group's rules; the member reads the
warning and appeals it; the operator withdraws the warning on the dashboard."""

import pytest
from playwright.sync_api import expect

from groups import enforcement, services
from groups.models import AppealState, GroupState, MemberRole, Membership, MembershipStatus, Threshold, WarningAppeal
from notifications.models import Notification
from shops.models import OperatorRole
from tests.factories import GroupFactory, InviteLinkFactory, OperatorFactory, ShopFactory, UserFactory

pytestmark = pytest.mark.browser

RULES = "1. 只聊育儿和辅食，不发广告\n2. 团购问题请私聊群管理\n3. 互相尊重，友善交流"


def test_an_admin_approves_and_warns_the_member_appeals_and_the_operator_decides(
    phone, desktop, live_site, shot, sign_in_by_phone, sign_in_operator
):
    shop = ShopFactory(name="小满母婴生活馆")
    operator = OperatorFactory(shop=shop, role=OperatorRole.OPERATOR, user__email="lin@xiaoman.test").user
    group = GroupFactory(
        shop=shop,
        name="小满宝妈辅食交流 3 群",
        state=GroupState.ACTIVE,
        threshold=Threshold.APPROVAL,
        entry_question="宝宝多大了？",
        rules=RULES,
        welcome_message="欢迎！周三晚上八点有辅食微课。",
    )
    admin = UserFactory(display_name="群管阿珍", phone="+8613800001111")
    services.add_member(group=group, user=admin, by=operator, role=MemberRole.ADMIN)
    member = UserFactory(display_name="小李", phone="+8613800002222")
    membership = services.add_member(group=group, user=member, by=operator)
    applicant = UserFactory(display_name="王小丫")
    application = services.join_via_link(user=applicant, code=InviteLinkFactory(group=group).code, answer="八个月")

    # The admin opens the group: signing in brings them back to it, with the group's management links.
    phone.goto(f"{live_site}/m/groups/{group.pk}/")
    sign_in_by_phone(phone, "13800001111", step="admin-sign-in")
    expect(phone.get_by_role("heading", name="管理本群")).to_be_visible()
    shot(phone, "1-group-page-for-the-admin")

    phone.get_by_role("link", name="入群申请").click()
    card = phone.get_by_test_id("applicant")
    expect(card).to_contain_text("王小丫")
    expect(card).to_contain_text("八个月")
    shot(phone, "2-applicants")
    card.get_by_role("button", name="通过").click()
    expect(phone.get_by_text("已通过 王小丫 的入群申请。")).to_be_visible()
    assert Membership.objects.get(pk=application.pk).status == MembershipStatus.ACTIVE
    told = Notification.objects.get(user=applicant)
    assert told.kind == "group_approved" and "周三晚上八点有辅食微课" in told.body

    # Warn a member for a rule of the group, picked from its 群规.
    phone.goto(f"{live_site}/m/groups/{group.pk}/manage/members/")
    row = phone.get_by_test_id("members").locator("li", has_text="小李")
    row.get_by_role("link", name="警告").click()
    phone.get_by_label("违反的群规").select_option("只聊育儿和辅食，不发广告")
    shot(phone, "3-warn")
    phone.get_by_role("button", name="发出警告").click()
    expect(phone.get_by_text("已警告 小李。")).to_be_visible()
    expect(phone.get_by_test_id("members").locator("li", has_text="小李")).to_contain_text("1 次警告")
    shot(phone, "4-members-after-the-warning")

    # The member reads the warning and appeals it.
    phone.context.clear_cookies()
    phone.goto(f"{live_site}/m/warnings/")
    sign_in_by_phone(phone, "13800002222", step="member-sign-in")
    warning = phone.get_by_test_id("warning")
    expect(warning).to_contain_text("只聊育儿和辅食，不发广告")
    warning.get_by_label("申诉理由").fill("我分享的是自己做的辅食，不是广告")
    warning.get_by_role("button", name="向运营申诉").click()
    expect(phone.get_by_text("申诉已提交，运营会尽快处理。")).to_be_visible()
    shot(phone, "5-appealed")
    appeal = WarningAppeal.objects.get(warning__membership=membership)

    # The operator withdraws the warning on the dashboard.
    sign_in_operator(desktop, "lin@xiaoman.test")
    desktop.goto(f"{live_site}/dashboard/appeals/")
    line = desktop.get_by_test_id("appeal")
    expect(line).to_contain_text("我分享的是自己做的辅食，不是广告")
    line.get_by_placeholder("处理说明（选填）").fill("确认是自制辅食")
    shot(desktop, "6-appeals")
    line.get_by_role("button", name="撤销警告").click()
    expect(desktop.get_by_text("申诉已处理。")).to_be_visible()
    appeal.refresh_from_db()
    assert (appeal.state, appeal.decided_by) == (AppealState.WITHDRAWN, operator)
    assert not enforcement.standing_warnings(Membership.objects.get(pk=membership.pk)).exists()
