"""Issue 18's acceptance for members, counted by the test on a 390 px phone: from opening an invite link
to the joined group page in at most 3 taps (typing the phone number and the code is not a tap), and from
the group page to a paid 拼团 seat in at most 5 taps. Every tap goes through Taps.tap, which counts it;
the counts and the steps are written next to the screenshots (taps.txt)."""

from decimal import Decimal

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from accounts.models import User
from campaigns.models import SeatState, TeamSeat
from groups.models import Membership, MembershipStatus
from groups.services import add_member, personal_link
from orders.payments.simulated import deliver_due
from tests.browser.conftest import _latest_code
from tests.builders.campaigns import make_two_person_group_buy
from tests.builders.shops import add_person, open_shop, rice_cereal
from tests.factories import UserFactory

pytestmark = pytest.mark.browser


class Taps:
    """Counts the member's taps: every press on the page goes through tap(); typing goes through type()."""

    def __init__(self, page, shot, folder):
        self.page, self.shot, self.folder = page, shot, folder
        self.steps: list[str] = []

    @property
    def count(self) -> int:
        return len(self.steps)

    def tap(self, locator, what: str) -> None:
        locator.click()
        self.steps.append(what)
        self.shot(self.page, f"tap-{self.count}")

    def type(self, locator, text: str) -> None:
        locator.fill(text)

    def write(self, name: str) -> None:
        lines = [f"{name}: {self.count} taps"] + [f"  {n}. {what}" for n, what in enumerate(self.steps, 1)]
        (self.folder / "taps.txt").open("a").write("\n".join(lines) + "\n")
        print("\n".join(lines))


@pytest.fixture
def shop_and_group(db):
    return open_shop()


def test_from_an_invite_link_to_the_joined_group_in_three_taps(phone, live_site, shot, shop_and_group):
    shop, owner, group = shop_and_group
    friend = UserFactory(display_name="王小丫")
    add_member(group=group, user=friend, by=owner)
    taps = Taps(phone, shot, shot.folder)

    phone.goto(personal_link(user=friend, group=group).public_url)  # opened from the chat: not a tap
    expect(phone.locator(".inviter")).to_contain_text("王小丫 邀请你加入")
    shot(phone, "0-invite")
    taps.tap(phone.get_by_role("button", name="登录并加入"), "登录并加入")
    taps.type(phone.get_by_label("手机号"), "13812345678")
    taps.tap(phone.get_by_role("button", name="获取验证码"), "获取验证码")
    taps.type(phone.get_by_label("验证码"), _latest_code("13812345678"))
    taps.tap(phone.get_by_role("button", name="登录", exact=True), "登录")

    expect(phone.get_by_text("欢迎加入「小满宝妈辅食交流 3 群」！")).to_be_visible()
    expect(phone.get_by_role("heading", name="小满宝妈辅食交流 3 群")).to_be_visible()
    expect(phone.locator(".facts")).to_contain_text("在群")
    shot(phone, "joined")
    taps.write("invite link → joined group page")
    member = User.objects.get(phone="+8613812345678")
    assert Membership.objects.get(group=group, user=member).status == MembershipStatus.ACTIVE
    assert taps.count <= 3, taps.steps


def test_from_the_group_page_to_a_paid_group_buy_seat_in_five_taps(
    phone, live_site, shot, sign_in_by_phone, shop_and_group
):
    shop, owner, group = shop_and_group
    member = add_person(shop_and_group, phone="+8613700005678", display_name="李婷")
    landing = {"hook_title": "两人成团，米粉半价", "cta_text": "我要开团"}
    make_two_person_group_buy(shop, rice_cereal(shop), owner=owner, **landing)

    # Signed in already (the member comes back to their group): the count starts on the group page.
    phone.goto(live_site + reverse("member:group", args=[group.pk]))
    sign_in_by_phone(phone, "13700005678", step="sign-in")
    expect(phone.get_by_role("heading", name="小满宝妈辅食交流 3 群")).to_be_visible()
    shot(phone, "0-group-page")
    taps = Taps(phone, shot, shot.folder)

    taps.tap(phone.get_by_test_id("group-offers").get_by_role("link", name="两人成团，米粉半价"), "本群活动：两人成团")
    taps.tap(phone.locator("#hook").get_by_role("link", name="我要开团"), "我要开团")
    expect(phone.get_by_role("heading", name="确认开团")).to_be_visible()
    taps.type(phone.get_by_label("收货地址"), "上海市徐汇区漕溪北路 88 号 2 号楼 502")
    taps.tap(phone.get_by_test_id("submit-team-order"), "提交订单")
    taps.tap(phone.get_by_test_id("pay"), "去付款")
    expect(phone.locator(".cashier-amount")).to_contain_text("¥19.90")
    taps.tap(phone.get_by_role("button", name="确认支付"), "确认支付")
    phone.wait_for_url("**/teams/*/")
    assert deliver_due() == 1  # the provider's notification reaches the live server, as the worker would send it
    phone.reload()
    expect(phone.get_by_test_id("team-status")).to_contain_text("还差 1 人成团")
    shot(phone, "paid-seat")
    taps.write("group page → paid 拼团 seat")

    seat = TeamSeat.objects.select_related("order").get(member=member)
    assert seat.state == SeatState.SEATED and seat.order.total == Decimal("19.90")
    assert taps.count <= 5, taps.steps
