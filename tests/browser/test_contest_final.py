"""Issue 14's 比 contest end to end in a real browser: an invite contest in the 宝妈 group has ended and been
settled by its job; a member opens the contest from its landing page on their phone, sees the frozen final
ranking, signs in with their phone number and finds their rank and their prize, granted."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone
from playwright.sync_api import expect

from campaigns import services
from campaigns.models import CampaignType, ContestPrize, PrizeState
from campaigns.types.contest import kind as contests
from groups.models import GroupState, Threshold
from groups.services import add_member
from referrals.models import CommissionAccount
from shops.models import OperatorRole
from tests.campaigns.contest_support import end, invites
from tests.factories import GroupFactory, OperatorFactory, ShopFactory, UserFactory

pytestmark = pytest.mark.browser


def test_a_contests_final_page(phone, live_site, shot, sign_in_by_phone):
    shop = ShopFactory(name="好物社")
    owner = OperatorFactory(shop=shop, role=OperatorRole.OWNER).user
    group = GroupFactory(shop=shop, name="宝妈交流群", state=GroupState.ACTIVE, threshold=Threshold.OPEN)
    member = UserFactory(phone="+8613700008888", display_name="王小雨")
    leader = UserFactory(display_name="李姐")
    third = UserFactory(display_name="阿芳")
    for person in (member, leader, third):
        add_member(group=group, user=person, by=owner)
    now = timezone.now()
    campaign = services.create_campaign(
        shop=shop,
        by=owner,
        type=CampaignType.CONTEST,
        name="七天邀请达人赛",
        hook_title="七天邀请达人赛",
        starts_at=now - timedelta(days=7),
        ends_at=now + timedelta(days=1),
        settings={
            "metric": "qualified",
            "tiers": "1 积分 500\n2-3 现金 20",
            "minimum": "2",
            "rules": "邀请好友入群并完成首单，计 1 位合格邀请；成绩相同先达到者在前。",
        },
    )
    services.schedule_campaign(campaign=campaign, by=owner)
    invites(campaign, leader, 6, group=group, at=now - timedelta(days=5))
    invites(campaign, member, 4, group=group, at=now - timedelta(days=3))
    invites(campaign, third, 1, group=group, at=now - timedelta(days=2))  # below the minimum
    end(campaign)
    assert contests.run_jobs()["settled"] == 1

    phone.goto(live_site + campaign.get_absolute_url())
    expect(phone.get_by_test_id("contest-rules")).to_contain_text("合格邀请")
    expect(phone.get_by_test_id("contest-tiers")).to_contain_text("第 2–3 名：¥20.00 现金")
    shot(phone, "1-landing")
    phone.get_by_test_id("go-contest").first.click()

    expect(phone.get_by_test_id("contest-final")).to_be_visible()
    board = phone.get_by_test_id("contest-board")
    expect(board.get_by_test_id("board-row")).to_have_count(3)
    expect(board.get_by_test_id("board-row").nth(0)).to_contain_text("李姐")
    expect(board.get_by_test_id("board-row").nth(2)).to_contain_text("未达门槛")
    shot(phone, "2-final-anonymous")

    phone.get_by_test_id("contest-sign-in").click()
    sign_in_by_phone(phone, "13700008888", step="3-sign-in")

    expect(phone).to_have_url(live_site + reverse("campaigns:contest_page", args=[campaign.pk]))
    expect(phone.get_by_test_id("contest-mine")).to_contain_text("我的排名：第 2 名（4），共 3 名")
    expect(phone.get_by_test_id("my-prize")).to_have_text("第 2 名奖品：¥20.00 现金（已发放）")
    expect(phone.get_by_test_id("contest-gap")).to_have_count(0)  # the contest is over
    shot(phone, "4-final-mine")

    prize = ContestPrize.objects.get(campaign=campaign, member=member)
    assert prize.state == PrizeState.GRANTED
    assert CommissionAccount.objects.get(shop=shop, member=member).balance == Decimal("20.00")
    assert not ContestPrize.objects.filter(campaign=campaign, member=third).exists()
