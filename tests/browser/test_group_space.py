"""Issue 15's group space end to end, on 390 px phones: a member joins, reads the pinned announcement and the
WeChat group / service contact, asks a question; the group's admin (群管理) answers it from the member pages;
the asker marks it answered; the operator sees the first-reply time in the dashboard.

The live server runs in another thread of this process, so the data below is committed.
"""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone
from playwright.sync_api import expect

from accounts.models import User
from groups import space
from groups.models import GroupState, MemberRole, Threshold
from groups.services import add_member, personal_link
from groups.space_models import PostKind, SpacePost
from shops.models import OperatorRole
from tests.factories import GroupFactory, OperatorFactory, ShopFactory, UserFactory
from tests.groups.space_support import photo

pytestmark = pytest.mark.browser


def test_a_member_asks_an_admin_answers_and_the_operator_sees_the_reply_time(
    phone, new_phone, desktop, live_site, shot, sign_in_by_phone, sign_in_operator
):
    shop = ShopFactory(name="小满母婴生活馆")
    operator = OperatorFactory(
        shop=shop, role=OperatorRole.OPERATOR, user__display_name="运营小林", user__email="lin@xiaoman.test"
    ).user
    group = GroupFactory(shop=shop, name="小满宝妈辅食交流 3 群", state=GroupState.ACTIVE, threshold=Threshold.OPEN)
    admin = UserFactory(display_name="群管理阿珍", phone="+8613900001111")
    add_member(group=group, user=admin, by=operator, role=MemberRole.ADMIN)
    core = UserFactory(display_name="资深宝妈小雨")
    add_member(group=group, user=core, by=operator, role=MemberRole.CORE)
    space.create_post(
        group=group, actor=space.Actor(core), kind=PostKind.POST, body="分享：南瓜小米糊，8 个月宝宝很爱吃。"
    )
    space.create_post(
        group=group,
        actor=space.Actor(operator, as_operator=True),
        kind=PostKind.ANNOUNCEMENT,
        body="本周六晚 8 点辅食微课，群内直播，欢迎提问。",
    )
    space.set_contact(
        group=group,
        by=operator,
        service_contact="客服微信 xiaoman-kf",
        wechat_qr=photo((400, 400), exif=False),
        wechat_qr_expires_at=timezone.now() + timedelta(days=5),
    )
    link = personal_link(user=admin, group=group)

    # A member joins through the admin's link and finds the group space on the group page.
    phone.goto(link.public_url)
    phone.get_by_role("button", name="登录并加入").click()
    sign_in_by_phone(phone, "13812345678", step="1-sign-in")
    expect(phone.get_by_text("欢迎加入「小满宝妈辅食交流 3 群」！")).to_be_visible()
    phone.get_by_role("link", name="群空间：公告、动态与问答").click()

    # The pinned announcement, the WeChat group QR code and the contact; the core member's post stands out.
    expect(phone.get_by_role("heading", name="群空间")).to_be_visible()
    expect(phone.get_by_test_id("space-announcements")).to_contain_text("本周六晚 8 点辅食微课")
    expect(phone.get_by_test_id("space-contact")).to_contain_text("客服微信 xiaoman-kf")
    qr = phone.get_by_role("img", name="微信群二维码")
    expect(qr).to_be_visible()
    assert phone.evaluate("img => img.naturalWidth", qr.element_handle()) > 0  # the image really loaded
    expect(phone.get_by_test_id("space-posts").locator(".space-core")).to_contain_text("南瓜小米糊")
    expect(phone.get_by_test_id("space-posts")).not_to_contain_text("辅食微课")  # pinned above, not repeated
    expect(phone.get_by_test_id("core-badge").first).to_be_visible()
    assert phone.evaluate("document.documentElement.scrollWidth") <= 390  # nothing wider than the phone
    shot(phone, "2-space")
    phone.get_by_test_id("space-announcements").get_by_role("link").first.click()
    expect(phone.get_by_test_id("space-post-detail")).to_contain_text("群内直播")
    shot(phone, "3-announcement")
    phone.get_by_role("link", name="返回群空间").click()

    # The member asks a question.
    phone.get_by_role("link", name="发动态 / 提问").click()
    phone.get_by_label("类型").select_option("question")
    expect(phone.get_by_label("类型").locator("option[value=announcement]")).to_have_count(0)  # no power
    phone.get_by_label("内容").fill("宝宝 7 个月，南瓜小米糊可以加蛋黄吗？")
    shot(phone, "4-ask")
    phone.get_by_role("button", name="发布").click()
    expect(phone.get_by_test_id("question-state")).to_contain_text("待回复")
    shot(phone, "5-asked")
    member = User.objects.get(phone="+8613812345678")
    question = SpacePost.objects.get(author=member, kind=PostKind.QUESTION)

    # The group's admin answers from the member pages on their own phone.
    admin_phone = new_phone()
    admin_phone.goto(f"{live_site}{reverse('account_request_login_code')}")
    sign_in_by_phone(admin_phone, "13900001111", step="6-admin-sign-in")
    admin_phone.goto(f"{live_site}{reverse('member:space', args=[group.pk])}")
    admin_phone.get_by_test_id("space-posts").get_by_text("可以加蛋黄吗").click()
    expect(admin_phone.get_by_role("button", name="隐藏")).to_be_visible()  # the admin's power, shown
    admin_phone.get_by_label("回复").fill("可以，先从 1/4 个蛋黄开始，观察三天有没有过敏。")
    shot(admin_phone, "7-admin-answers")
    admin_phone.get_by_role("button", name="回答").click()
    expect(admin_phone.get_by_test_id("question-state")).to_contain_text("已回复")
    expect(admin_phone.get_by_test_id("space-comments")).to_contain_text("1/4 个蛋黄")
    shot(admin_phone, "8-answered")
    question.refresh_from_db()
    assert question.first_responder == admin and question.first_reply_at is not None

    # The asker reads the answer and marks the question answered.
    phone.reload()
    expect(phone.get_by_test_id("space-comments")).to_contain_text("群管理阿珍")
    phone.get_by_role("button", name="标记已解决").click()
    expect(phone.get_by_test_id("question-state")).to_contain_text("已解决")
    shot(phone, "9-marked-answered")
    question.refresh_from_db()
    assert question.answered_by == member

    # The operator sees the first-reply time, per group and per responder, against the 5-minute target.
    sign_in_operator(desktop, "lin@xiaoman.test")
    desktop.goto(f"{live_site}{reverse('dashboard:space_reply_times')}")
    groups_table = desktop.get_by_test_id("reply-times-groups")
    expect(groups_table).to_contain_text("小满宝妈辅食交流 3 群")
    row = groups_table.locator("tbody tr").first
    expect(row.locator("td").nth(1)).to_have_text("1")  # asked
    expect(row.locator("td").nth(3)).to_have_text("1")  # within the target
    expect(row.locator("td").nth(4)).to_have_text("100%")
    expect(desktop.get_by_test_id("reply-times-responders")).to_contain_text("群管理阿珍")
    shot(desktop, "10-operator-reply-times")
    desktop.goto(f"{live_site}{reverse('dashboard:group_space', args=[group.pk])}")
    expect(desktop.get_by_test_id("space-posts")).to_contain_text("群管理阿珍")
    expect(desktop.get_by_test_id("group-reply-figures")).to_contain_text("1 个在 5 分钟内首次回复")
    shot(desktop, "11-operator-group-space")
