"""Issue 14's 打卡 end to end in a real browser, over a week the test moves through: a member of the skin-care
group signs in on their phone and checks in on days 1–4, misses day 5, fills it with a make-up card on day 6
and checks in on days 6 and 7. The page shows the streak growing, breaking and joining up again, the feed
of the day, the group's boards, and the 7-day milestone reward once.

The clock: the check-in rules and pages read `timezone.now()` of their own modules; the test replaces it
there with its own clock (the live server runs in this process), so each day is a real day in Asia/Shanghai
while sessions, cookies and everything else keep the real time."""

from datetime import datetime, time, timedelta

import pytest
from django.urls import reverse
from django.utils import timezone
from playwright.sync_api import expect

from campaigns import services
from campaigns.models import CampaignType, CheckIn, CheckinMilestone
from campaigns.types.checkin import kind as checkin
from campaigns.types.checkin import views as checkin_views
from groups.models import GroupState, Threshold
from groups.services import add_member
from shops.models import OperatorRole
from tests.factories import GroupFactory, OperatorFactory, ShopFactory, UserFactory

pytestmark = pytest.mark.browser


class Clock:
    """`timezone` for the check-in modules: now() is the test's moment, everything else Django's own."""

    def __init__(self, at: datetime):
        self.at = at

    def now(self) -> datetime:
        return self.at

    def __getattr__(self, name):
        return getattr(timezone, name)


def test_a_week_of_check_ins(phone, live_site, shot, sign_in_by_phone, monkeypatch):
    shop = ShopFactory(name="好物社")
    owner = OperatorFactory(shop=shop, role=OperatorRole.OWNER).user
    group = GroupFactory(shop=shop, name="护肤打卡营", state=GroupState.ACTIVE, threshold=Threshold.OPEN)
    member = UserFactory(phone="+8613700007777", display_name="王小雨")
    add_member(group=group, user=member, by=owner)
    real_now = timezone.now()
    campaign = services.create_campaign(
        shop=shop,
        by=owner,
        type=CampaignType.CHECKIN,
        name="21 天护肤打卡",
        starts_at=real_now - timedelta(days=1),
        ends_at=real_now + timedelta(days=21),
        all_groups=False,
        groups=[group],
        hook_title="21 天护肤打卡",
        settings={
            "window_start": "06:00",
            "window_end": "23:00",
            "proof": "text",
            "min_length": 4,
            "milestones": "7:10",
            "makeup_cards": 1,
            "makeup_every_days": 0,
            "makeup_days_back": 3,
        },
    )
    services.schedule_campaign(campaign=campaign, by=owner)
    first_day = checkin.shop_day(real_now)
    clock = Clock(datetime.combine(first_day, time(8, 30), tzinfo=checkin.shop_zone()))
    monkeypatch.setattr(checkin, "timezone", clock)
    monkeypatch.setattr(checkin_views, "timezone", clock)
    page_url = live_site + reverse("campaigns:checkin_page", args=[campaign.pk])

    phone.goto(page_url)
    sign_in_by_phone(phone, "13700007777", step="0-sign-in")
    expect(phone.get_by_role("heading", name="21 天护肤打卡")).to_be_visible()

    def on_day(n: int, clock_time: time = time(8, 30)) -> None:
        clock.at = datetime.combine(first_day + timedelta(days=n - 1), clock_time, tzinfo=checkin.shop_zone())
        phone.goto(page_url)

    def check_in(n: int, words: str) -> None:
        on_day(n)
        phone.get_by_label("打卡内容").fill(words)
        phone.get_by_test_id("do-checkin").click()
        expect(phone.get_by_test_id("checked-in")).to_be_visible()

    for n in (1, 2, 3, 4):
        check_in(n, f"第 {n} 天：洁面、水乳、防晒")
        expect(phone.get_by_test_id("streak")).to_have_text(str(n))
    feed = phone.get_by_test_id("feed")
    expect(feed.get_by_test_id("feed-item")).to_have_count(1)
    expect(feed).to_contain_text("第 4 天：洁面、水乳、防晒")
    expect(phone.get_by_test_id("board-day")).to_contain_text("王小雨")
    shot(phone, "1-day-4")

    # Day 5 passes without a check-in; on day 6 the streak has broken, the window's edge is kept, and a card
    # fills the missed day.
    on_day(6, time(5, 59))
    expect(phone.get_by_test_id("checkin-problem")).to_contain_text("06:00–23:00")
    expect(phone.get_by_test_id("streak")).to_have_text("0")
    on_day(6)
    expect(phone.get_by_label("补卡")).to_have_value((first_day + timedelta(days=4)).isoformat())
    phone.get_by_test_id("do-makeup").click()
    expect(phone.get_by_test_id("streak")).to_have_text("5")
    expect(phone.get_by_test_id("cards")).to_have_text("0")
    shot(phone, "2-made-up")
    check_in(6, "第 6 天：敷面膜")
    expect(phone.get_by_test_id("streak")).to_have_text("6")

    check_in(7, "第 7 天：坚持一周啦")
    expect(phone.get_by_test_id("streak")).to_have_text("7")
    expect(phone.get_by_test_id("total")).to_have_text("7")
    expect(phone.get_by_test_id("milestone-7")).to_be_visible()
    shot(phone, "3-day-7")

    # A second tap on day 7 is refused and writes nothing.
    phone.goto(page_url)
    expect(phone.get_by_test_id("do-checkin")).to_have_count(0)
    rows = CheckIn.objects.filter(campaign=campaign, member=member)
    assert rows.count() == 7 and rows.filter(made_up=True).count() == 1
    assert list(CheckinMilestone.objects.filter(member=member).values_list("days", flat=True)) == [7]
    assert rows.order_by("-day").first().day == first_day + timedelta(days=6)
