"""Inside WeChat's browser (a MicroMessenger user agent): a friend's invite link, one tap on 微信一键登录,
WeChat (a local fake of its web authorisation) asks once to share the nickname and avatar, and the page
greets the member by their WeChat nickname; the next visit is a single silent tap."""

import re

import pytest
from playwright.sync_api import expect

from accounts.models import User
from groups.models import GroupState, Threshold
from groups.services import add_member, personal_link
from shops.models import OperatorRole
from tests.factories import GroupFactory, OperatorFactory, ShopFactory, UserFactory
from tests.fakes.wechat import FakeWechat

pytestmark = pytest.mark.browser
APP = ("wx-official-app", "official-secret")
WECHAT_UA = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Mobile/15E148 MicroMessenger/8.0.47(0x18002f2c) NetType/WIFI Language/zh_CN"
)


@pytest.fixture
def wechat(settings):
    fake = FakeWechat(official=APP).start()
    settings.WEIXIN_LOGIN_ENABLED = True
    settings.WECHAT_API_BASE = fake.url
    settings.WEIXIN_APP_ID, settings.WEIXIN_APP_SECRET = APP
    settings.SOCIALACCOUNT_PROVIDERS = {
        "weixin": {
            "APP": {"client_id": APP[0], "secret": APP[1]},
            "SCOPE": ["snsapi_base"],
            "AUTHORIZE_URL": f"{fake.url}/connect/oauth2/authorize",
        }
    }
    yield fake
    fake.stop()


def test_in_wechat_a_member_signs_in_with_one_tap_and_sees_their_nickname(new_phone, live_site, wechat, shot, db):
    shop = ShopFactory(name="小满母婴生活馆")
    operator = OperatorFactory(shop=shop, role=OperatorRole.OPERATOR).user
    group = GroupFactory(shop=shop, name="小满宝妈辅食交流群", state=GroupState.ACTIVE, threshold=Threshold.OPEN)
    friend = UserFactory(display_name="王小丫")
    add_member(group=group, user=friend, by=operator)
    link = personal_link(user=friend, group=group)

    page = new_phone(user_agent=WECHAT_UA)
    page.goto(link.public_url)
    page.get_by_role("button", name="登录并加入").click()
    one_tap = page.get_by_role("button", name="微信一键登录")
    expect(one_tap).to_be_visible()
    shot(page, "1-sign-in-in-wechat")
    one_tap.click()

    # A new member: WeChat asks (once) to share the nickname and avatar.
    expect(page.get_by_role("button", name="允许")).to_be_visible()
    shot(page, "2-wechat-asks")
    page.get_by_role("button", name="允许").click()
    expect(page.get_by_role("heading", name="你好，小林")).to_be_visible()
    shot(page, "3-first-sign-in")
    page.get_by_role("button", name="我是新成员，直接进入").click()

    # Signed in, the join the member tapped is finished: the group page, greeted by the WeChat nickname.
    expect(page.get_by_text("欢迎加入「小满宝妈辅食交流群」！")).to_be_visible()
    expect(page.locator(".footer-account")).to_contain_text("小林")
    shot(page, "4-joined-as-xiaolin")
    member = User.objects.get(username=f"wx_{wechat.browser_user.openid}")
    assert member.display_name == "小林" and member.avatar_url == wechat.browser_user.headimgurl
    page.context.close()

    # Another day, another session: one tap, no WeChat screen, straight back.
    page = new_phone(user_agent=WECHAT_UA)
    page.goto(f"{live_site}/accounts/login/code/?next=/m/groups/")
    page.get_by_role("button", name="微信一键登录").click()
    page.wait_for_url(re.compile(r"/m/groups/(#wechat_redirect)?$"))  # the browser keeps WeChat's fragment
    expect(page.get_by_text("小满宝妈辅食交流群")).to_be_visible()
    expect(page.locator(".footer-account")).to_contain_text("小林")
    shot(page, "5-one-tap-again")
    page.context.close()
    assert User.objects.filter(username__startswith="wx_").count() == 1


def test_outside_wechat_there_is_no_wechat_button(phone, live_site, wechat):
    phone.goto(f"{live_site}/accounts/login/code/")
    expect(phone.get_by_role("heading", name="手机号登录")).to_be_visible()
    expect(phone.get_by_role("button", name="微信一键登录")).to_have_count(0)
