"""打卡 rules: the day is the shop's day (Asia/Shanghai) whatever the server's clock says, the daily window's
edges, one check-in per member and day, streak math across day boundaries, make-up cards, milestone rewards
granted once, proof kinds, activity for lurker detection, the reminder's eligibility, and the settings."""

from datetime import UTC, datetime, timedelta

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone

from analytics import selectors as analytics_selectors
from campaigns import services as engine
from campaigns.models import Campaign, CheckIn, CheckinMilestone, CheckinStanding
from campaigns.types.checkin import kind as checkin
from campaigns.types.checkin.boards import streak_board
from campaigns.types.checkin.kind import CheckinRefused
from campaigns.types.coupon.models import Coupon
from groups.models import ActivityKind, MemberActivity, Membership
from notifications.models import Category, Notification, NotificationSettings, NotificationState, Preference
from referrals.models import EventKind, ReferralEvent
from referrals.points import balance_of
from tests.builders.campaigns import coupon_template, make_campaign
from tests.campaigns.checkin_support import a_group, checkin_campaign, days_ago, members_of, png, shop_moment
from tests.factories import ShopFactory, SkuFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def group(shop):
    return a_group(shop)


@pytest.fixture
def people(group):
    return members_of(group, 3)


def _refusal(fn) -> str:
    with pytest.raises(CheckinRefused) as refused:
        fn()
    return refused.value.reason


# --- The day is the shop's day --------------------------------------------------------------------------


def test_the_last_second_before_midnight_in_shanghai_counts_for_that_day(shop, group, people):
    campaign = checkin_campaign(shop)
    day = days_ago(5)
    late = shop_moment(day, "23:59:59")
    assert late.astimezone(UTC).hour == 15  # the server's clock (UTC) is still in the afternoon

    made = checkin.check_in(campaign=campaign, member=people[0], now=late)
    assert made.day == day


def test_midnight_in_shanghai_starts_the_next_day_and_the_streak_goes_on(shop, group, people):
    campaign = checkin_campaign(shop)
    day = days_ago(5)
    checkin.check_in(campaign=campaign, member=people[0], now=shop_moment(day, "23:59:59"))
    next_day = checkin.check_in(campaign=campaign, member=people[0], now=shop_moment(day + timedelta(1), "00:00:00"))

    assert next_day.day == day + timedelta(days=1)
    standing = CheckinStanding.objects.get(campaign=campaign, member=people[0])
    assert (standing.streak, standing.best_streak, standing.total_days) == (2, 2, 2)


def test_two_moments_of_one_shanghai_day_that_straddle_utc_midnight_are_one_day(shop, group, people):
    campaign = checkin_campaign(shop)
    day = days_ago(5)
    early = shop_moment(day, "07:59:59")  # 23:59:59 UTC of the day before
    assert early.astimezone(UTC).date() == day - timedelta(days=1)
    checkin.check_in(campaign=campaign, member=people[0], now=early)

    assert _refusal(
        lambda: checkin.check_in(campaign=campaign, member=people[0], now=shop_moment(day, "08:00:00"))
    ) == ("already")
    assert CheckIn.objects.filter(campaign=campaign, member=people[0]).count() == 1


def test_shop_day_is_shanghai_all_year_with_no_daylight_saving():
    for month in (1, 3, 4, 7, 10, 11):
        moment = datetime(2026, month, 15, 16, 0, tzinfo=UTC)  # 00:00 in Shanghai, every month alike
        assert checkin.shop_day(moment).day == 16
        assert checkin.shop_day(moment - timedelta(seconds=1)).day == 15


# --- The daily window -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("clock", "allowed"),
    [("05:59:59", False), ("06:00:00", True), ("22:59:59", True), ("23:00:00", False), ("23:59:59", False)],
)
def test_the_window_lets_in_from_its_start_until_just_before_its_end(shop, group, people, clock, allowed):
    campaign = checkin_campaign(shop, settings={"window_start": "06:00", "window_end": "23:00"})
    at = shop_moment(days_ago(3), clock)
    if allowed:
        assert checkin.check_in(campaign=campaign, member=people[0], now=at).day == days_ago(3)
    else:
        with pytest.raises(CheckinRefused) as refused:
            checkin.check_in(campaign=campaign, member=people[0], now=at)
        assert refused.value.reason == "window"
        assert "06:00–23:00" in refused.value.message_text
        assert not CheckIn.objects.exists()


# --- Who may check in, and with what ---------------------------------------------------------------------


def test_a_non_member_cannot_check_in(shop, group):
    campaign = checkin_campaign(shop)
    stranger = UserFactory()
    assert _refusal(lambda: checkin.check_in(campaign=campaign, member=stranger)) == "not_member"
    assert not CheckIn.objects.exists() and not CheckinStanding.objects.exists()


def test_a_member_of_a_group_the_campaign_does_not_run_in_cannot_check_in(shop, group, people):
    other_group = a_group(shop)
    campaign = checkin_campaign(shop, all_groups=False, groups=[other_group])
    assert _refusal(lambda: checkin.check_in(campaign=campaign, member=people[0])) == "not_member"


def test_a_text_proof_needs_its_least_length(shop, group, people):
    campaign = checkin_campaign(shop, settings={"proof": "text", "min_length": 5})
    assert _refusal(lambda: checkin.check_in(campaign=campaign, member=people[0], text=" 四个字啊 ")) == "text_short"
    made = checkin.check_in(campaign=campaign, member=people[0], text="今天敷了面膜")
    assert made.text == "今天敷了面膜"


def test_a_photo_proof_needs_a_photo_and_stores_it_through_the_image_gate(shop, group, people):
    campaign = checkin_campaign(shop, settings={"proof": "photo"})
    assert _refusal(lambda: checkin.check_in(campaign=campaign, member=people[0], text="没有照片")) == "photo_needed"

    upload = SimpleUploadedFile("IMG_0001.png", png(), content_type="image/png")
    made = checkin.check_in(campaign=campaign, member=people[0], photo=upload)
    assert made.photo.name.startswith("checkins/") and "IMG_0001" not in made.photo.name
    assert made.thumbnail.name.startswith("checkins/thumbs/")


def test_a_file_that_is_not_an_image_is_refused_and_nothing_is_written(shop, group, people):
    campaign = checkin_campaign(shop, settings={"proof": "photo"})
    upload = SimpleUploadedFile("x.png", b"<html>not an image</html>", content_type="image/png")
    with pytest.raises(ValidationError) as refused:
        checkin.check_in(campaign=campaign, member=people[0], photo=upload)
    assert "photo" in refused.value.message_dict
    assert not CheckIn.objects.exists()


def test_a_campaign_not_running_refuses(shop, group, people):
    campaign = checkin_campaign(shop, run=False)
    assert _refusal(lambda: checkin.check_in(campaign=campaign, member=people[0])) == "not_running"


# --- Streaks, totals and make-up cards ---------------------------------------------------------------------


def _on(campaign, member, day, clock="12:00:00"):
    return checkin.check_in(campaign=campaign, member=member, now=shop_moment(day, clock))


def test_a_gap_breaks_the_streak_but_not_the_best_or_the_total(shop, group, people):
    campaign = checkin_campaign(shop, settings={"makeup_cards": 0})
    for n in (10, 9, 8, 6, 5):  # day 7 missed
        _on(campaign, people[0], days_ago(n))
    standing = CheckinStanding.objects.get(campaign=campaign, member=people[0])
    assert (standing.streak, standing.best_streak, standing.total_days, standing.last_day) == (2, 3, 5, days_ago(5))
    # Alive only while the last day is today or yesterday.
    assert checkin.current_streak(standing, days_ago(4)) == 2
    assert checkin.current_streak(standing, days_ago(3)) == 0


def test_a_make_up_card_fills_the_gap_and_joins_the_two_runs(shop, group, people):
    campaign = checkin_campaign(shop, settings={"makeup_cards": 1, "makeup_every_days": 0, "makeup_days_back": 3})
    _on(campaign, people[0], days_ago(3))
    _on(campaign, people[0], days_ago(1))  # day 2 missed
    now = shop_moment(days_ago(0), "09:00:00")

    filled = checkin.make_up(campaign=campaign, member=people[0], day=days_ago(2), now=now)

    assert filled.made_up and filled.day == days_ago(2)
    standing = CheckinStanding.objects.get(campaign=campaign, member=people[0])
    assert (standing.streak, standing.best_streak, standing.total_days, standing.cards_used) == (3, 3, 3, 1)
    assert checkin.cards_left(campaign, standing) == 0
    _on(campaign, people[0], days_ago(5))
    reason = _refusal(lambda: checkin.make_up(campaign=campaign, member=people[0], day=days_ago(4), now=now))
    assert reason == "makeup_day"  # four days back is beyond the three allowed


def test_cards_run_out_and_are_earned_by_real_days(shop, group, people):
    campaign = checkin_campaign(shop, settings={"makeup_cards": 0, "makeup_every_days": 2, "makeup_days_back": 5})
    now = shop_moment(days_ago(0), "09:00:00")
    _on(campaign, people[0], days_ago(5))
    assert _refusal(lambda: checkin.make_up(campaign=campaign, member=people[0], day=days_ago(4), now=now)) == "no_card"
    _on(campaign, people[0], days_ago(3))  # two real days: one card earned

    checkin.make_up(campaign=campaign, member=people[0], day=days_ago(4), now=now)
    assert _refusal(lambda: checkin.make_up(campaign=campaign, member=people[0], day=days_ago(2), now=now)) == "no_card"
    standing = CheckinStanding.objects.get(campaign=campaign, member=people[0])
    assert (standing.total_days, standing.cards_used, standing.streak) == (3, 1, 3)


def test_a_card_cannot_fill_today_a_taken_day_or_a_day_before_the_start(shop, group, people):
    campaign = checkin_campaign(
        shop, starts_at=shop_moment(days_ago(1), "00:00:00"), settings={"makeup_cards": 5, "makeup_days_back": 5}
    )
    now = shop_moment(days_ago(0), "09:00:00")
    _on(campaign, people[0], days_ago(1))
    assert _refusal(lambda: checkin.make_up(campaign=campaign, member=people[0], day=days_ago(0), now=now)) == (
        "makeup_day"
    )
    assert _refusal(lambda: checkin.make_up(campaign=campaign, member=people[0], day=days_ago(1), now=now)) == (
        "makeup_taken"
    )
    assert _refusal(lambda: checkin.make_up(campaign=campaign, member=people[0], day=days_ago(3), now=now)) == (
        "makeup_day"
    )


def test_the_days_a_card_could_fill_are_the_missed_ones_within_reach(shop, group, people):
    campaign = checkin_campaign(shop, settings={"makeup_days_back": 3})
    _on(campaign, people[0], days_ago(2))
    assert checkin.missing_days(campaign, people[0], days_ago(0)) == [days_ago(3), days_ago(1)]


# --- Milestones ---------------------------------------------------------------------------------------------


def test_a_milestone_is_granted_once_when_the_streak_reaches_it(shop, group, people):
    campaign = checkin_campaign(shop, settings={"milestones": "3:10,5:30"})
    for n in (9, 8, 7):
        _on(campaign, people[0], days_ago(n))
    granted = CheckinMilestone.objects.get(campaign=campaign, member=people[0])
    assert (granted.days, granted.points, granted.kind) == (3, 10, "points")
    notice = Notification.objects.get(user=people[0], kind="checkin_milestone")
    assert "3" in notice.title and "10" in notice.title
    assert balance_of(shop_id=shop.pk, member_id=people[0].pk) == 10  # into the points ledger

    # The streak breaks and reaches three again: still one reward for three days.
    for n in (5, 4, 3):
        _on(campaign, people[0], days_ago(n))
    assert CheckinMilestone.objects.filter(campaign=campaign, member=people[0]).count() == 1
    assert checkin.settle_milestones() == 0
    assert balance_of(shop_id=shop.pk, member_id=people[0].pk) == 10


def test_the_job_grants_a_milestone_a_standing_reached_and_lacks(shop, group, people):
    campaign = checkin_campaign(shop, settings={"milestones": "2:5"})
    for n in (3, 2):
        _on(campaign, people[0], days_ago(n))
    CheckinMilestone.objects.all().delete()  # as if the grant had been lost (a restore, a settings change)

    assert checkin.settle_milestones() == 1
    assert checkin.settle_milestones() == 0
    assert CheckinMilestone.objects.get(campaign=campaign, member=people[0]).points == 5


def test_a_coupon_milestone_gives_the_templates_coupon_once_as_the_check_in_campaigns_cost(shop, group, people):
    template = coupon_template(shop, stock_cap=5)
    campaign = checkin_campaign(
        shop, settings={"milestones": "2:5", "milestone_coupons": f"2:{template.pk},3:{template.pk}"}
    )
    for n in (9, 8):
        _on(campaign, people[0], days_ago(n))
    granted = CheckinMilestone.objects.get(campaign=campaign, member=people[0], days=2)
    assert (granted.kind, granted.points) == ("coupon", 5) and granted.coupon_issued_at is not None
    coupon = Coupon.objects.get(member=people[0])
    assert (coupon.campaign_id, coupon.issuer_campaign_id) == (template.pk, campaign.pk)
    assert coupon.grant_key == f"checkin:{campaign.pk}:{people[0].pk}:2"
    assert balance_of(shop_id=shop.pk, member_id=people[0].pk) == 5  # the points as well
    assert "优惠券" in Notification.objects.get(user=people[0], kind="checkin_milestone").title

    # The streak breaks and reaches two again; the job runs twice: still one coupon for two days.
    for n in (6, 5):
        _on(campaign, people[0], days_ago(n))
    assert checkin.settle_milestones() == 0 and checkin.settle_milestones() == 0
    assert Coupon.objects.filter(member=people[0]).count() == 1

    _on(campaign, people[0], days_ago(4))  # three days in a row: the coupon-only milestone
    three = CheckinMilestone.objects.get(campaign=campaign, member=people[0], days=3)
    assert (three.kind, three.points) == ("coupon", 0)
    assert Coupon.objects.filter(member=people[0]).count() == 2


def test_a_sold_out_template_leaves_the_milestone_waiting_and_the_job_gives_the_coupon_later(shop, group, people):
    template = coupon_template(shop, stock_cap=1)
    campaign = checkin_campaign(shop, settings={"milestone_coupons": f"1:{template.pk}"})
    _on(campaign, people[0], days_ago(3))
    _on(campaign, people[1], days_ago(3))  # the only coupon went to the first
    waiting = CheckinMilestone.objects.get(campaign=campaign, member=people[1])
    assert waiting.coupon_issued_at is None and not Coupon.objects.filter(member=people[1]).exists()
    assert checkin.settle_milestones() == 0  # still sold out

    Campaign.objects.filter(pk=template.pk).update(stock_cap=2)
    assert checkin.settle_milestones() == 1
    assert checkin.settle_milestones() == 0
    waiting.refresh_from_db()
    assert waiting.coupon_issued_at is not None
    assert Coupon.objects.get(member=people[1]).issuer_campaign_id == campaign.pk


def test_a_coupon_milestone_must_name_a_coupon_template_of_the_shop(shop):
    other = coupon_template(ShopFactory())
    not_coupon = checkin_campaign(shop)
    for template in (other, not_coupon):
        with pytest.raises(ValidationError) as refused:
            checkin.clean_checkin_settings(settings={"milestone_coupons": f"7:{template.pk}"}, shop=shop)
        assert "milestone_coupons" in refused.value.message_dict
    mine = coupon_template(shop)
    cleaned = checkin.clean_checkin_settings(settings={"milestone_coupons": f"7：{mine.pk}"}, shop=shop)
    assert cleaned["milestone_coupons"] == [[7, mine.pk]]


# --- The streak board ---------------------------------------------------------------------------------------


def test_the_streak_board_ranks_streaks_still_alive_and_drops_broken_ones(shop, group, people):
    campaign = checkin_campaign(shop)
    today = days_ago(0)
    for n in (3, 2, 1):  # people[0]: three days up to yesterday — alive
        _on(campaign, people[0], days_ago(n))
    for n in (1, 0):  # people[1]: two days up to today
        _on(campaign, people[1], days_ago(n))
    for n in (9, 8, 7, 6, 5):  # people[2]: five days, broken four days ago
        _on(campaign, people[2], days_ago(n))
    board = streak_board(campaign, group, people[2], today)
    assert [(r.rank, r.user_id, r.value) for r in board["rows"]] == [(1, people[0].pk, 3), (2, people[1].pk, 2)]
    assert board["mine"] is None and board["size"] == 2

    _on(campaign, people[2], today)  # a new streak of one
    board = streak_board(campaign, group, people[2], today, limit=2)
    assert board["size"] == 3 and [r.user_id for r in board["rows"]] == [people[0].pk, people[1].pk]
    assert (board["mine"].rank, board["mine"].value) == (3, 1)  # below the rows shown, still ranked

    _on(campaign, people[1], days_ago(2))  # people[1] now has three too: the same rank
    board = streak_board(campaign, group, people[1], today)
    assert [(r.rank, r.value) for r in board["rows"]] == [(1, 3), (1, 3), (3, 1)]
    assert board["mine"].rank == 1


def test_the_streak_board_costs_the_same_queries_for_any_group_size(shop, group, people, django_assert_max_num_queries):
    campaign = checkin_campaign(shop)
    for person in [*people, *members_of(group, 12)]:
        _on(campaign, person, days_ago(0))
    outsider = members_of(group, 1)[0]
    with django_assert_max_num_queries(3):
        board = streak_board(campaign, group, outsider, days_ago(0))
    assert len(board["rows"]) == 10 and board["size"] == 15 and board["mine"] is None


# --- What a check-in leads to ---------------------------------------------------------------------------------


def test_a_check_in_is_activity_in_its_group_and_a_board_event_for_the_member(shop, group, people):
    campaign = checkin_campaign(shop)
    made = _on(campaign, people[0], days_ago(1), "20:15:00")

    activity = MemberActivity.objects.get(user=people[0], kind=ActivityKind.CHECK_IN)
    assert activity.group_id == group.pk and activity.ref == f"checkin:{made.pk}"
    membership = Membership.objects.get(user=people[0], group=group)
    assert membership.last_active_at >= made.at
    event = ReferralEvent.objects.get(kind=EventKind.CHECK_IN)
    assert (event.inviter_id, event.invitee_id, event.group_id, event.campaign_id) == (
        people[0].pk,
        None,
        group.pk,
        campaign.pk,
    )


def test_the_check_in_boards_count_days_per_member(shop, group, people, django_capture_on_commit_callbacks):
    from campaigns.types.checkin.boards import boards_for
    from referrals import leaderboards as lb

    campaign = checkin_campaign(shop)
    with django_capture_on_commit_callbacks(execute=True):
        for n in (3, 2, 1):
            _on(campaign, people[0], days_ago(n))
        _on(campaign, people[1], days_ago(1), "06:00:00")
        _on(campaign, people[2], days_ago(1), "07:00:00")

    daily, period, all_time = (board for _title, board in boards_for(campaign, group, days_ago(1)))
    assert [(e.user_id, e.value) for e in lb.top(period)] == [(people[0].pk, 3), (people[1].pk, 1), (people[2].pk, 1)]
    assert [e.user_id for e in lb.top(daily)] == [people[1].pk, people[2].pk, people[0].pk]  # earliest first on a tie
    assert lb.rank_of(all_time, people[0].pk)[0].value == 3
    # Rebuilt from PostgreSQL, the boards read the same.
    assert [(s.user_id, s.raw) for s in lb.standings(period)] == [(e.user_id, e.value) for e in lb.top(period)]


# --- Reminders ---------------------------------------------------------------------------------------------------


def _reminders():
    return set(Notification.objects.filter(kind="checkin_reminder").values_list("user_id", flat=True))


def test_the_reminder_goes_near_the_end_to_members_who_have_not_checked_in(shop, group, people):
    campaign = checkin_campaign(
        shop, settings={"window_start": "06:00", "window_end": "23:00", "remind_before_minutes": 180}
    )
    NotificationSettings.objects.create(shop=shop, quiet_start="22:00", quiet_end="08:00")
    day = days_ago(0)
    _on(campaign, people[0], day, "08:00:00")

    assert checkin.remind_campaign(campaign, now=shop_moment(day, "19:59:00")) == 0  # before the stretch
    assert checkin.remind_campaign(campaign, now=shop_moment(day, "20:10:00")) == 2
    assert _reminders() == {people[1].pk, people[2].pk}
    notice = Notification.objects.filter(kind="checkin_reminder").first()
    assert notice.category == Category.CAMPAIGN and "23:00" in notice.body
    assert checkin.remind_campaign(campaign, now=shop_moment(day, "20:20:00")) == 0  # once a day each


def test_the_reminder_honours_quiet_hours_opt_outs_and_the_cap(shop, group, people):
    campaign = checkin_campaign(
        shop, settings={"window_start": "06:00", "window_end": "23:00", "remind_before_minutes": 180}
    )
    NotificationSettings.objects.create(shop=shop, quiet_start="22:00", quiet_end="08:00", daily_cap=1)
    quiet, opted_out, capped = people
    Preference.objects.create(user=quiet, shop=shop, quiet_start="20:00", quiet_end="08:00")
    Preference.objects.create(user=opted_out, shop=shop, campaign=False)
    Notification.objects.create(
        shop=shop,
        user=capped,
        category=Category.MARKETING,
        kind="promo",
        key="promo-1",
        title="t",
        body="b",
        state=NotificationState.SENT,
        sent_at=shop_moment(days_ago(0), "12:00:00"),
    )
    control = members_of(group, 1)[0]

    assert checkin.remind_campaign(campaign, now=shop_moment(days_ago(0), "21:00:00")) == 1
    assert _reminders() == {control.pk}


def test_staff_in_the_group_get_no_reminder(shop, group, people, operator):
    from groups.models import MembershipStatus

    campaign = checkin_campaign(shop, settings={"window_end": "23:00", "remind_before_minutes": 180})
    Membership.objects.create(user=operator, group=group, status=MembershipStatus.ACTIVE)
    checkin.remind_campaign(campaign, now=shop_moment(days_ago(0), "20:30:00"))  # before the shop's 21:00 quiet hours
    assert operator.pk not in _reminders() and len(_reminders()) == 3


# --- Settings -----------------------------------------------------------------------------------------------------


def test_settings_are_cleaned_with_defaults():
    assert checkin.clean_checkin_settings(settings={}) == {
        "window_start": "06:00",
        "window_end": "23:00",
        "proof": "text",
        "min_length": 10,
        "milestones": [[7, 10], [21, 30]],
        "milestone_coupons": [],
        "makeup_cards": 1,
        "makeup_every_days": 7,
        "makeup_days_back": 3,
        "remind_before_minutes": 180,
    }


@pytest.mark.parametrize(
    ("given", "field"),
    [
        ({"window_start": "6点"}, "window_start"),
        ({"window_start": "23:00", "window_end": "06:00"}, "window_end"),
        ({"proof": "video"}, "proof"),
        ({"min_length": "-1"}, "min_length"),
        ({"milestones": "7:10,7:20"}, "milestones"),
        ({"milestones": "seven"}, "milestones"),
        ({"milestones": "0:10"}, "milestones"),
        ({"milestone_coupons": "7"}, "milestone_coupons"),
        ({"milestone_coupons": "7:1,7:2"}, "milestone_coupons"),
        ({"milestone_coupons": "0:1"}, "milestone_coupons"),
        ({"makeup_days_back": "0"}, "makeup_days_back"),
        ({"remind_before_minutes": "9999"}, "remind_before_minutes"),
    ],
)
def test_bad_settings_name_their_field(given, field):
    with pytest.raises(ValidationError) as refused:
        checkin.clean_checkin_settings(settings=given)
    assert field in refused.value.message_dict


def test_milestones_read_with_chinese_punctuation():
    assert checkin.parse_milestones("21：30，7：10") == [[7, 10], [21, 30]]


# --- Open-ended ------------------------------------------------------------------------------------------------


def test_an_open_ended_check_in_campaign_runs_reminds_and_is_never_ended_by_the_job(shop, group, people):
    campaign = checkin_campaign(shop, ends_at=None, settings={"remind_before_minutes": 180, "window_end": "23:00"})
    assert campaign.ends_at is None and campaign.state == "running"
    far = shop_moment(days_ago(-400), "20:10:00")  # more than a year on
    assert checkin.check_in_problem(campaign, people[0], now=far) is None
    made = checkin.check_in(campaign=campaign, member=people[0], now=far)
    assert made.day == days_ago(-400)
    assert checkin.remind_due(now=far) == 2  # the two who have not checked in that day
    assert engine.end_due(now=far) == 0
    campaign.refresh_from_db()
    assert campaign.state == "running"
    assert campaign in analytics_selectors.campaigns_in_range(shop.pk, days_ago(-400), days_ago(-399), None)


def test_only_a_check_in_may_have_no_end_in_the_rules_and_in_the_database(shop):
    with pytest.raises(ValidationError) as refused:
        make_campaign(shop, SkuFactory(product__shop=shop), ends_at=None)
    assert "ends_at" in refused.value.message_dict
    sold = make_campaign(shop, SkuFactory(product__shop=shop))
    with pytest.raises(IntegrityError), transaction.atomic():
        Campaign.objects.filter(pk=sold.pk).update(ends_at=None)
    open_ended = checkin_campaign(shop, ends_at=None)
    engine.update_campaign(campaign=open_ended, by=None, ends_at=timezone.now() + timedelta(days=2))
    open_ended.refresh_from_db()
    assert open_ended.ends_at is not None  # an end can be set later, and taken off again
    engine.update_campaign(campaign=open_ended, by=None, ends_at=None)
    open_ended.refresh_from_db()
    assert open_ended.ends_at is None


def test_the_landing_and_dashboard_say_an_open_ended_campaign_has_no_end(client, operator_client, shop, group):
    campaign = checkin_campaign(shop, ends_at=None)
    landing = client.get(campaign.get_absolute_url())
    assert landing.status_code == 200 and 'data-testid="open-ended"' in landing.content.decode()
    detail = operator_client.get(reverse("dashboard:campaign_detail", args=[campaign.pk]))
    assert detail.status_code == 200 and "长期" in detail.content.decode()
    listed = operator_client.get(reverse("dashboard:campaigns"))
    assert listed.status_code == 200 and "长期" in listed.content.decode()
