"""Issue 4 end to end in a real browser: a member opens a 拼团 team on a phone and pays on the simulated
cashier; a friend opens the team's share link on another phone, signs in, joins and pays; the team
succeeds the moment the second payment lands, and the join is credited to the member who shared.

The live server runs in another thread of this process (live_server implies transactional_db). No Celery
worker runs here: the test delivers the simulated provider's outbox itself, as the worker would.
"""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from campaigns import services
from campaigns.models import CampaignAct, SeatState, Team, TeamState
from campaigns.types.coupon import kind as coupons
from groups.services import join_via_link, personal_link
from orders.models import OrderState
from orders.payments.simulated import deliver_due
from referrals.models import EventKind, ReferralEvent
from tests.builders.campaigns import GROUP_BUY_LANDING, make_two_person_group_buy
from tests.builders.shops import add_person, open_shop, rice_cereal
from tests.factories import UserFactory

pytestmark = pytest.mark.browser

ADDRESS = "上海市徐汇区漕溪北路 88 号 2 号楼 502"


def _checkout_and_pay(page, shot, step: str, *, pays: str = "19.90") -> None:
    expect(page.locator(".price-now")).to_contain_text("¥19.90")
    expect(page.locator("#checkout-money")).to_contain_text("活动价 ¥19.90")  # the campaign's price is a row
    page.locator(".segment", has_text="快递配送").click()
    page.get_by_label("收货地址").fill(ADDRESS)
    shot(page, f"{step}-1-checkout")
    page.get_by_role("button", name=f"提交订单 ¥{pays}").click()
    expect(page.get_by_text("已下单，请在付款时限内完成付款。")).to_be_visible()
    shot(page, f"{step}-2-team-unpaid")
    page.get_by_role("button", name="去付款").click()
    expect(page.locator(".cashier-amount")).to_contain_text(f"¥{pays}")
    page.get_by_role("button", name="确认支付").click()
    page.wait_for_url("**/teams/*/")  # back from the cashier on the team page, where friends are invited
    assert deliver_due() == 1  # the provider's signed notification reaches the live server over HTTP


def test_a_member_opens_a_team_and_a_friend_joins_from_the_share_link(
    phone, new_phone, live_site, shot, sign_in_by_phone
):
    front = open_shop()
    shop, owner, group = front
    leader = add_person(front, phone="+8613700005678", display_name="李婷")
    friend = UserFactory(phone="+8613700008888", display_name="王芳")
    join_via_link(user=friend, code=personal_link(user=leader, group=group).code)
    campaign = make_two_person_group_buy(
        shop,
        rice_cereal(shop),
        owner=owner,
        **GROUP_BUY_LANDING | {"proof_text": "有机认证证书编号 OFCC-2026-0815；“宝宝很爱吃”——上周 312 位宝妈的评价"},
    )
    now = timezone.now()
    # The friend holds two coupons: one allowed with a campaign price (3 off), one not (10 off).
    stacks, alone = (
        coupons.claim_coupon(
            campaign=services.schedule_campaign(
                campaign=services.create_campaign(
                    shop=shop,
                    by=owner,
                    type="coupon",
                    name=name,
                    starts_at=now - timedelta(minutes=1),
                    ends_at=now + timedelta(days=3),
                    settings={"coupon_kind": "no_threshold", "amount_off": off, "stack_with_campaign_price": stack},
                    hook_title=name,
                    hook_text="群友专享",
                    proof_text="限量",
                    cta_text="领取",
                ),
                by=owner,
            ),
            member=friend,
        )
        for name, off, stack in (("拼团立减 3 元", "3", True), ("无门槛 10 元", "10", False))
    )

    # The leader: the landing page (hook, proof, the call again), sign in, open a team and pay.
    phone.goto(f"{live_site}{campaign.get_absolute_url()}")
    expect(phone.get_by_role("heading", name="两人成团，米粉半价").first).to_be_visible()
    expect(phone.locator("#proof")).to_contain_text("有机认证证书")
    shot(phone, "1-landing")
    phone.locator("#hook").get_by_role("link", name="我要开团").click()
    sign_in_by_phone(phone, "13700005678", step="2-leader-sign-in")
    expect(phone.get_by_role("heading", name="确认开团")).to_be_visible()
    _checkout_and_pay(phone, shot, "3-leader")

    team = Team.objects.get(campaign=campaign)
    assert team.state == TeamState.OPEN and team.seats_taken == 1
    phone.goto(f"{live_site}{team.get_absolute_url()}")
    expect(phone.get_by_test_id("team-status")).to_contain_text("还差 1 人成团")
    expect(phone.locator(".share-box img")).to_be_visible()
    share_url = phone.locator("#share-url").input_value()
    assert share_url == services.share_link(campaign, leader, team).replace("http://testserver", live_site)
    shot(phone, "4-team-open-share")

    # The friend opens the share link on their own phone, signs in, joins and pays.
    friend_phone = new_phone()
    friend_phone.goto(share_url)
    expect(friend_phone.locator(".team-head")).to_contain_text("李婷 邀请你一起拼")
    shot(friend_phone, "5-friend-opens-link")
    friend_phone.get_by_role("link", name="登录并参团").click()
    sign_in_by_phone(friend_phone, "13700008888", step="6-friend-sign-in")
    expect(friend_phone.get_by_role("heading", name="确认参团")).to_be_visible()
    # Only the coupon allowed with the campaign price is offered, preselected; the server takes it off.
    coupon_field = friend_phone.get_by_label("优惠券")
    expect(coupon_field).to_have_value(str(stacks.pk))
    expect(coupon_field.locator("option")).to_have_count(2)  # "no coupon" and the one that stacks
    expect(friend_phone.locator("#checkout-money")).to_contain_text("−¥3.00")
    _checkout_and_pay(friend_phone, shot, "7-friend", pays="16.90")

    friend_phone.goto(f"{live_site}{team.get_absolute_url()}")
    expect(friend_phone.get_by_test_id("team-status")).to_contain_text("拼团成功")
    expect(friend_phone.locator(".team-avatar")).to_have_count(2)
    shot(friend_phone, "8-team-succeeded")

    team.refresh_from_db()
    assert team.state == TeamState.SUCCEEDED and team.seats_taken == 2
    seats = {seat.member: seat for seat in team.seats.select_related("order")}
    assert {seats[leader].state, seats[friend].state} == {SeatState.WON}
    assert seats[friend].inviter == leader
    assert all(seat.order.state == OrderState.PAID for seat in seats.values())
    assert (seats[leader].order.total, seats[friend].order.total) == (Decimal("19.90"), Decimal("16.90"))
    stacks.refresh_from_db()
    alone.refresh_from_db()
    assert (stacks.state, stacks.order_id, alone.state) == ("used", seats[friend].order.pk, "available")
    assert CampaignAct.objects.filter(campaign=campaign, actor=friend, inviter=leader, kind="team_join").exists()
    assert ReferralEvent.objects.filter(
        kind=EventKind.CAMPAIGN_ACT, campaign_id=campaign.pk, inviter=leader, invitee=friend
    ).exists()
    phone.reload()
    expect(phone.get_by_test_id("team-status")).to_contain_text("拼团成功")
    shot(phone, "9-leader-sees-success")
