"""manage.py seed_demo: a believable demo, written through the services, so every count in it is exact."""

import re
from datetime import timedelta
from io import StringIO
from types import SimpleNamespace

import pytest
from django.conf import settings
from django.core.management import call_command
from django.db.models import Count, F, Q
from django.test import override_settings
from django.utils import timezone, translation

from accounts.models import SmsRecord, User
from accounts.sms import VERIFICATION_CODE, LocmemSmsBackend, send_sms
from groups.models import (
    Channel,
    Group,
    GroupSeries,
    GroupState,
    GroupTransition,
    InviteLink,
    Membership,
    Tag,
    Threshold,
)
from groups.services import add_member, join_via_link
from referrals import leaderboards as lb
from referrals.fraud_models import FlagStatus, FraudFlag
from referrals.models import ReferralEdge, ReferralEvent, Reward, RewardRule
from shequn.management.commands.seed_demo import delete_demo
from shops.models import Operator, OperatorRole, Shop
from tests.factories import GroupFactory, ShopFactory, UserFactory
from tests.notifications.backends import RecordingWechatBackend

pytestmark = [pytest.mark.django_db, pytest.mark.slow]  # each builds the whole demo


RECORDING = dict(
    SMS_BACKEND="accounts.sms.LocmemSmsBackend",
    NOTIFICATION_BACKENDS={"wechat": "tests.notifications.backends.RecordingWechatBackend"},
)


@pytest.fixture(scope="module")
def seeded(django_db_setup, django_db_blocker):
    """Seeded once for the module (a seed takes seconds) and committed; each test still runs in its own
    transaction, so what a test changes is rolled back. The demo is deleted after the last test.

    SMS and WeChat go to recording backends (WeChat's reaches everyone), and after the seed the
    notification pumps run over everything it left due, as the first worker would."""
    from notifications.services import release_due, send_due

    LocmemSmsBackend.outbox.clear()
    RecordingWechatBackend.outbox.clear()
    with django_db_blocker.unblock(), translation.override(settings.LANGUAGE_CODE), override_settings(**RECORDING):
        output = seed()
        later = timezone.now() + timedelta(days=1)  # past any quiet hours
        release_due(now=later)
        send_due(now=later)
        sent = SimpleNamespace(sms=list(LocmemSmsBackend.outbox), wechat=list(RecordingWechatBackend.outbox))
    yield SimpleNamespace(output=output, sent=sent)
    with django_db_blocker.unblock():
        delete_demo()


@pytest.fixture(scope="module")
def demo(seeded):
    return seeded.output


def seed(*args) -> str:
    out = StringIO()
    call_command("seed_demo", *args, stdout=out)
    return out.getvalue()


def snapshot(*, demo_only: bool = False) -> dict:
    """How many rows of everything the seed writes (only the demo shop's, or all of them)."""
    models = (Shop, User, Operator, Tag, GroupSeries, Group, GroupTransition, InviteLink, Membership, ReferralEdge)
    if not demo_only:
        return {model.__name__: model.objects.count() for model in models}
    shop_of = {
        Shop: "slug",
        User: "memberships__group__shop__slug",
        Membership: "group__shop__slug",
        GroupTransition: "group__shop__slug",
    }
    return {
        model.__name__: model.objects.filter(**{shop_of.get(model, "shop__slug"): "demo"}).distinct().count()
        for model in models
    }


def chain_depth(edges: dict[int, int], invitee: int) -> int:
    depth = 0
    while invitee in edges:
        invitee = edges[invitee]
        depth += 1
    return depth


def test_demo_has_a_shop_staff_groups_in_every_state_and_hundreds_of_members(demo):
    output = seed()  # already there: prints the login again, with this test's SITE_URL

    shop = Shop.objects.get(slug="demo")
    assert shop.name == "好物社 (demo)"
    roles = dict(Operator.objects.filter(shop=shop).values_list("user__email", "role"))
    assert roles["owner@demo.shequn"] == OperatorRole.OWNER
    assert set(roles.values()) == {OperatorRole.OWNER, OperatorRole.OPERATOR, OperatorRole.VIEWER}
    assert User.objects.get(email="owner@demo.shequn").check_password("shequn-demo-2026")

    groups = Group.objects.filter(shop=shop)
    assert 6 <= groups.count() <= 8
    assert set(groups.values_list("state", flat=True)) == set(GroupState.values)
    assert set(groups.values_list("threshold", flat=True)) == set(Threshold.values)
    assert groups.get(threshold=Threshold.PAID).entry_price > 0
    rolled_over = GroupSeries.objects.filter(shop=shop).annotate(n=Count("groups")).filter(n__gte=2)
    assert rolled_over.exists(), "a series has filled its first group and opened the next"

    memberships = Membership.objects.filter(group__shop=shop)
    assert memberships.count() >= 300
    statuses = set(memberships.values_list("status", flat=True))
    assert {"active", "pending", "rejected", "left", "removed", "banned"} <= statuses
    assert set(memberships.values_list("role", flat=True)) >= {"owner", "admin", "core", "member"}
    channels = set(memberships.values_list("channel", flat=True))
    assert {
        Channel.MEMBER,
        Channel.POSTER,
        Channel.PARCEL_CARD,
        Channel.PARTNER_GROUP,
        Channel.OFFLINE,
        Channel.SELF_MEDIA,
        Channel.SERIES_CODE,
    } <= channels
    assert memberships.filter(tags__isnull=False).distinct().count() > 200
    assert not User.objects.filter(memberships__group__shop=shop, display_name="").exists()

    assert "http://testserver/accounts/login/" in output
    assert "owner@demo.shequn" in output and "shequn-demo-2026" in output
    code = re.search(r"http://testserver/m/j/([\w-]+)/", output).group(1)
    link = InviteLink.objects.get(code=code)
    assert link.series is not None and link.channel == Channel.SERIES_CODE and not link.is_personal
    phone = re.search(r"\+86138\d{8}", output).group(0)
    assert Membership.objects.filter(user__phone=phone, group__shop=shop, status="active").exists()


def test_the_services_kept_every_count_exact(demo):
    shop = Shop.objects.get(slug="demo")

    in_group = Count("memberships", filter=Q(memberships__status="active"))
    groups = Group.objects.filter(shop=shop).annotate(active=in_group)
    for group in groups:
        assert group.active_member_count == group.active, group.name
        assert group.active_member_count <= group.capacity

    links = InviteLink.objects.filter(shop=shop).annotate(
        admitted=Count("memberships", filter=~Q(memberships__status="rejected")),  # a rejection gives the use back
        joined=Count("memberships", filter=Q(memberships__first_joined_at__isnull=False)),
    )
    for link in links:
        assert link.use_count == link.admitted, link
        assert link.join_count == link.joined, link
        assert link.open_count >= link.sign_in_count >= link.join_count
        assert link.max_uses is None or link.use_count <= link.max_uses


def test_members_brought_friends_who_brought_friends(demo):
    shop = Shop.objects.get(slug="demo")
    edges = dict(ReferralEdge.objects.filter(shop=shop).values_list("invitee_id", "inviter_id"))
    assert len(edges) > 100
    assert max(chain_depth(edges, invitee) for invitee in edges) >= 3

    # Each edge is the invitee's first join in the shop, through the inviter's own link.
    for edge in ReferralEdge.objects.filter(shop=shop).select_related("link"):
        first = Membership.objects.filter(user_id=edge.invitee_id, group__shop=shop).order_by("first_joined_at").first()
        assert first.group_id == edge.group_id
        assert first.inviter_id == edge.inviter_id
        assert edge.link.inviter_id == edge.inviter_id


def test_running_it_again_changes_nothing(demo):
    assert "演示店铺已创建" in demo
    before = snapshot()
    output = seed()
    assert snapshot() == before
    assert "已存在" in output
    assert "shequn-demo-2026" in output  # the login is printed again


def test_reset_rebuilds_the_same_demo_and_keeps_people_who_belong_elsewhere(demo):
    first = snapshot(demo_only=True)
    shop = Shop.objects.get(slug="demo")
    demo_member = Membership.objects.filter(group__shop=shop).exclude(user__phone=None).first().user
    # Someone from another shop follows the demo's public code: they must survive the reset.
    outsider = UserFactory()
    add_member(group=GroupFactory(shop=ShopFactory()), user=outsider, by=None)
    public_code = InviteLink.objects.filter(shop=shop, channel=Channel.SERIES_CODE).first()
    join_via_link(user=outsider, code=public_code.code)

    seed("--reset")

    assert User.objects.filter(pk=outsider.pk).exists()
    assert Membership.objects.filter(user=outsider).count() == 1  # the one in their own shop
    assert not User.objects.filter(pk=demo_member.pk).exists()
    assert User.objects.filter(phone=demo_member.phone).exists(), "the same seed makes the same people"
    assert snapshot(demo_only=True) == first


def test_the_shop_sells_and_every_order_adds_up(demo):
    from orders.demo import CATALOG
    from orders.models import Order, OrderLine, OrderState, Product, Sku
    from orders.services import reconcile

    shop = Shop.objects.get(slug="demo")
    products = Product.objects.filter(shop=shop)
    assert products.count() == len(CATALOG)
    assert all(product.images.exists() for product in products)
    assert products.filter(offered_to_all_groups=False, groups__isnull=False).exists()  # one for a chosen group

    orders = Order.objects.filter(shop=shop)
    assert orders.count() >= 40
    assert {
        OrderState.PENDING_PAYMENT,
        OrderState.PAID,
        OrderState.SHIPPED,
        OrderState.COMPLETED,
        OrderState.CANCELLED,
    } <= set(orders.values_list("state", flat=True))
    assert orders.filter(pickup_point__isnull=False).exists() and orders.filter(address__gt="").exists()
    for order in orders:
        assert reconcile(order)["balanced"], order.number
        assert order.transitions.exists() and order.created_at <= order.transitions.order_by("at").last().at
    assert orders.filter(referrer__isnull=False).exists(), "joined through a member's link: the order names them"

    # Stock: what the catalog started with, less what live orders hold; cancelled ones gave theirs back.
    started = {(name, spec): stock for name, *_rest, specs in CATALOG for spec, _price, stock, _limit in specs}
    for sku in Sku.objects.filter(product__shop=shop).select_related("product"):
        held = sum(
            OrderLine.objects.filter(sku=sku, order__stock_returned_at__isnull=True).values_list("quantity", flat=True)
        )
        assert sku.stock == started[(sku.product.name, sku.spec)] - held, sku

    assert "件商品" in demo and "笔订单" in demo


# --- Nothing leaves the site; the referral records tell the story as it happened -------------------


def test_seeding_sends_nothing_and_demo_members_are_never_reached(seeded, settings):
    assert seeded.sent.sms == [] and seeded.sent.wechat == []
    shop = Shop.objects.get(slug="demo")
    people = User.objects.filter(Q(memberships__group__shop=shop) | Q(operator_seats__shop=shop)).distinct()
    assert people.count() > 250 and not people.filter(is_demo=False).exists()
    assert not SmsRecord.objects.filter(phone__in=people.values("phone")).exists()

    # Signing in as the demo member: the code goes to the log, never to the SMS provider.
    star = re.search(r"\+86138\d{8}", seeded.output).group(0)
    assert send_sms(star, "验证码 123456", kind=VERIFICATION_CODE) == ""
    assert LocmemSmsBackend.outbox == []
    real = UserFactory()
    send_sms(real.phone, "验证码 654321", kind=VERIFICATION_CODE)  # the same call reaches a real member
    assert [m.phone for m in LocmemSmsBackend.outbox] == [real.phone]


def test_referral_events_carry_the_moments_of_their_acts(demo):
    shop = Shop.objects.get(slug="demo")
    events = ReferralEvent.objects.filter(shop=shop)
    for event in events.filter(kind="joined").select_related("edge"):
        assert event.occurred_at == event.edge.created_at
    for event in events.filter(order__isnull=False).select_related("order"):
        assert event.occurred_at == event.order.paid_at
    for reward in Reward.objects.filter(shop=shop).select_related("event"):
        assert reward.created_at == reward.event.occurred_at < reward.due_at
    opened = events.filter(kind="link_opened").values_list("occurred_at", flat=True)
    assert min(opened) < timezone.now() - timedelta(days=30) and max(opened) > timezone.now() - timedelta(days=7)


def top(shop, metric):
    """A board of the demo from its events (each test starts with the Redis cache, boards included, empty)."""
    board = lb.Board.of(shop_id=shop.pk, metric=metric)
    lb.rebuild(board)
    return lb.top(board, 10000)


def test_every_dashboard_page_has_something_real(demo):
    from campaigns.models import BargainTask, Campaign, HelpTask, Team

    shop = Shop.objects.get(slug="demo")
    running = dict(Campaign.objects.filter(shop=shop, state="running").values_list("type", "pk"))
    assert set(running) == {"group_buy", "help", "bargain", "checkin", "swap", "coupon", "give", "flash_sale"}
    assert set(Team.objects.filter(campaign_id=running["group_buy"]).values_list("state", flat=True)) == {
        "open",
        "succeeded",
    }
    assert HelpTask.objects.filter(campaign_id=running["help"], state="completed").exists()
    assert BargainTask.objects.filter(campaign_id=running["bargain"], current_price__lt=F("original_price")).exists()
    assert RewardRule.objects.filter(shop=shop, is_active=True).count() == 2
    assert Reward.objects.filter(shop=shop).exists()
    flag = FraudFlag.objects.get(shop=shop, kind="shared_device", status=FlagStatus.OPEN)
    assert flag.events.count() >= 3
    assert top(shop, lb.Metric.CAMPAIGN_ACTS) and top(shop, lb.Metric.JOINS) and top(shop, lb.Metric.QUALIFIED)


def test_the_skin_care_group_has_two_weeks_of_check_ins(demo):
    from campaigns.models import Campaign, CheckIn, CheckinMilestone, CheckinStanding
    from groups.models import GroupSeries

    shop = Shop.objects.get(slug="demo")
    series = GroupSeries.objects.get(shop=shop, name="护肤打卡营")
    campaign = Campaign.objects.get(shop=shop, type="checkin", state="running")
    assert list(campaign.series.all()) == [series] and not campaign.all_groups
    check_ins = CheckIn.objects.filter(campaign=campaign).order_by()
    assert set(check_ins.values_list("group__series", flat=True)) == {series.pk}
    assert check_ins.values("day").distinct().count() >= 10  # days of history, not one burst
    assert check_ins.values("member").distinct().count() >= 10
    assert check_ins.filter(made_up=True).exists()
    standings = CheckinStanding.objects.filter(campaign=campaign)
    assert standings.filter(best_streak__gte=7).exists() and standings.filter(streak__lt=F("best_streak")).exists()
    assert CheckinMilestone.objects.filter(campaign=campaign, days=7).exists()
    assert top(shop, lb.Metric.CHECK_IN_DAYS)
    assert all("06:00" <= f"{timezone.localtime(c.at):%H:%M}" < "23:00" for c in check_ins.filter(made_up=False))


def test_the_swap_market_has_a_history_in_every_state(demo):
    from campaigns.models import Campaign, Swap, SwapListing, SwapMove, SwapReport

    shop = Shop.objects.get(slug="demo")
    campaign = Campaign.objects.get(shop=shop, type="swap", state="running")
    listings = SwapListing.objects.filter(campaign=campaign)
    assert listings.count() >= 8 and listings.filter(photos__isnull=False).exists()
    assert len({item.group_id for item in listings}) == 1  # swaps happen between members of one group
    states = set(Swap.objects.filter(campaign=campaign).values_list("state", flat=True))
    assert {"done", "handed_one", "agreed", "declined", "expired"} <= states
    assert set(listings.values_list("state", flat=True)) >= {"listed", "agreed", "done"}
    moves = SwapMove.objects.filter(listing__campaign=campaign)
    assert moves.values("at__date").distinct().count() >= 5  # moves at their own moments, not one burst
    assert SwapReport.objects.filter(campaign=campaign, state="open").exists()


def test_the_invite_contest_ended_and_was_settled_once(demo, client):
    from campaigns.models import Campaign, ContestEntry, ContestPrize, ContestSettlement
    from campaigns.types.contest import kind as contest

    shop = Shop.objects.get(slug="demo")
    campaign = Campaign.objects.get(shop=shop, type="contest", state="ended")
    assert ContestSettlement.objects.filter(campaign=campaign).count() == 1
    entries = ContestEntry.objects.filter(campaign=campaign)
    assert entries.count() >= 3 and entries.values("reached_at__date").distinct().count() >= 2
    assert ContestPrize.objects.filter(campaign=campaign, state="granted").count() >= 3
    assert contest.settle(campaign) is False  # settled once: the job finds nothing to do
    assert "最终排名" in client.get(f"/m/c/{campaign.pk}/contest/").content.decode()


def test_joins_through_the_shops_codes_are_the_channels_and_staff_earn_nothing(demo):
    shop = Shop.objects.get(slug="demo")
    staff = set(Operator.objects.filter(shop=shop).values_list("user_id", flat=True))
    channel_joins = Membership.objects.filter(group__shop=shop, invite_link__is_personal=False)
    assert channel_joins.filter(channel=Channel.SERIES_CODE).exists()
    assert not channel_joins.filter(inviter__isnull=False).exists()
    assert not ReferralEdge.objects.filter(shop=shop, inviter__in=staff).exists()
    assert not ReferralEvent.objects.filter(shop=shop, inviter__in=staff).exists()
    assert not Reward.objects.filter(shop=shop, inviter__in=staff).exists()
    for metric in (lb.Metric.JOINS, lb.Metric.QUALIFIED, lb.Metric.GMV, lb.Metric.CAMPAIGN_ACTS):
        board = top(shop, metric)
        assert board and not {entry.user_id for entry in board} & staff


def test_the_demo_gives_the_analytics_pages_their_figures(demo):
    from analytics import reports, selectors

    shop = Shop.objects.get(slug="demo")
    start, end = timezone.localdate() - timedelta(days=120), timezone.localdate()
    f = {"start": start, "end": end, "compare_start": start, "compare_end": end, "group": None, "campaign": None}
    funnel = {row["key"]: row["count"] for row in reports.funnel(shop.pk, f).table("funnel").rows}
    assert funnel["link_opens"] > 0 and funnel["joins"] > funnel["first_orders"] > funnel["second_orders"] > 0
    roi = reports.campaign_roi(shop.pk, {"start": start, "end": end, "type": ""}).table("roi").rows
    assert any(row["paid_orders"] and row["cost_fen"] for row in roi)
    assert selectors.repeat_by(shop.pk, start, end, "shop")[0]["repeaters"] > 0
    cohorts = selectors.cohorts(shop.pk, start, end, group_id=None, basis="join", measure="activity", weeks=4)
    assert cohorts and all(c["size"] > 0 for c in cohorts)
    ranking = reports.group_ranking(
        shop.pk, {"start": start, "end": end, "sort": "revenue"}, selectors.groups_of(shop.pk)
    )
    assert ranking.table("ranking").rows[0]["revenue_fen"] > 0


def test_the_demos_analytics_are_plausible_not_just_present(demo):
    """What an operator would doubt at a glance: a funnel that grows, no repeat purchases, all activity this
    week, a ranking without history."""
    from analytics import reports, selectors

    shop = Shop.objects.get(slug="demo")
    start, end = timezone.localdate() - timedelta(days=120), timezone.localdate()
    f = {"start": start, "end": end, "compare_start": start, "compare_end": end, "group": None, "campaign": None}
    funnel = {row["key"]: row["count"] for row in reports.funnel(shop.pk, f).table("funnel").rows}
    # Every link's opens are counted (operators' channels too), and every joiner signed in first.
    assert funnel["link_opens"] >= funnel["signed_in_opens"] >= funnel["joins"] > 0
    products = selectors.repeat_by_product(shop.pk, start, end, 7)
    # Buyers come back about one usage cycle later, some after a reminder.
    assert any(p["median_days"] and 0.5 <= p["median_days"] / p["usage_cycle_days"] <= 1.5 for p in products)
    assert sum(p["reminded_orders"] for p in products) > 0
    # Activity is spread over the weeks it happened in: some members of a cohort come back, not all.
    cohorts = selectors.cohorts(shop.pk, start, end, group_id=None, basis="join", measure="activity", weeks=4)
    assert any(c["retained"][1] is not None and 0 < c["retained"][1] < c["size"] for c in cohorts)
    ranking = reports.group_ranking(
        shop.pk, {"start": start, "end": end, "sort": "trend"}, selectors.groups_of(shop.pk)
    )
    assert len(ranking.table("health").rows) >= 2
    assert any(row["trend"] is not None for row in ranking.table("ranking").rows)


def test_the_demos_campaigns_have_share_page_visits_and_the_joins_they_brought(demo):
    """Each running campaign's funnel has opens and sign-ins from its share pages, in the sharers' groups;
    some recent joins came through one, within the shop's window after the joiner's visit."""
    from analytics import reports
    from campaigns.models import Campaign, CampaignVisit

    shop = Shop.objects.get(slug="demo")
    start, end = timezone.localdate() - timedelta(days=120), timezone.localdate()
    f = {"start": start, "end": end, "compare_start": start, "compare_end": end, "group": None, "channel": ""}
    joins = 0
    for campaign in Campaign.objects.filter(shop=shop, state="running"):
        visits = CampaignVisit.objects.filter(campaign=campaign)
        assert visits.exclude(group=None).exists(), campaign.type  # in the sharers' groups
        steps = {
            r["key"]: r["count"] for r in reports.funnel(shop.pk, {**f, "campaign": campaign}).table("funnel").rows
        }
        assert steps["link_opens"] >= steps["signed_in_opens"] > 0, campaign.type
        joins += steps["joins"]
        window = timedelta(hours=shop.settings.campaign_join_window_hours)
        for m in Membership.objects.filter(campaign_id=campaign.pk):
            assert visits.filter(
                user_id=m.user_id, signed_in=True, at__lte=m.first_joined_at, at__gt=m.first_joined_at - window
            ).exists()
    assert joins > 0


def test_the_demo_has_a_lively_group_space_and_an_answered_complaint(demo):
    from groups.feedback_models import Feedback
    from groups.space_models import PostKind, SpacePost

    shop = Shop.objects.get(slug="demo")
    posts = SpacePost.objects.filter(group__shop=shop)
    assert posts.filter(kind=PostKind.ANNOUNCEMENT, hidden_at__isnull=True).exists()
    answered = posts.get(kind=PostKind.QUESTION, answered_at__isnull=False)
    assert answered.first_responder_id != answered.author_id
    assert timedelta(0) <= answered.first_reply_at - answered.created_at <= timedelta(minutes=5)
    assert posts.filter(kind=PostKind.POST, comments__isnull=False).exists()
    complaint = Feedback.objects.get(shop=shop, kind="complaint")
    assert complaint.state == "answered" and complaint.department.name == "售后部"


def test_the_demo_runs_the_default_playbook_in_its_two_newest_open_groups(demo):
    from playbooks.models import Playbook, RunStep, RunStepState

    shop = Shop.objects.get(slug="demo")
    playbook = Playbook.objects.get(shop=shop, name="新群7天培育", is_default=True)
    assert playbook.runs.count() == 2
    assert playbook.steps.filter(action="campaign", campaign_template__type="group_buy").exists()
    steps = RunStep.objects.filter(run__playbook=playbook)
    now = timezone.now()
    assert {"done", "overdue"} <= {step.display_state(now) for step in steps}
    # day 0's automatic steps were done once by the job; the ¥1 group buy waits for tomorrow
    assert set(steps.filter(day=0).exclude(action="task").values_list("state", flat=True)) == {RunStepState.DONE}
    assert set(steps.filter(action="campaign").values_list("state", flat=True)) == {RunStepState.PENDING}


def test_the_demo_has_a_coupon_a_gift_and_a_flash_sale(demo):
    """A 满减 coupon claimed by six members and used by two (each order carries its coupon row), a 买一送一 with
    a claimed and an open gift, and a 秒杀 with two paid units."""
    from campaigns.models import Campaign, CampaignOrder, Coupon, CouponState, Gift, GiftState
    from orders.models import AdjustmentKind

    shop = Shop.objects.get(slug="demo")
    template = Campaign.objects.get(shop=shop, type="coupon")
    held = Coupon.objects.filter(campaign=template)
    assert held.count() == 6 and held.filter(state=CouponState.USED).count() == 2
    for coupon in held.filter(state=CouponState.USED).select_related("order"):
        assert coupon.order.state == "paid"
        assert coupon.order.adjustments.filter(kind=AdjustmentKind.COUPON, source=f"coupon:{coupon.pk}").exists()
    gifts = Gift.objects.filter(campaign__shop=shop)
    assert sorted(gifts.values_list("state", flat=True)) == sorted([GiftState.CLAIMED, GiftState.OPEN])
    sale = Campaign.objects.get(shop=shop, type="flash_sale", state="running")
    sold = CampaignOrder.objects.filter(campaign=sale, released_at__isnull=True).select_related("order")
    assert [row.order.state for row in sold] == ["paid", "paid"] and sale.stock_used == 2
