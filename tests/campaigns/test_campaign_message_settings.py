"""The campaign messages' thresholds are the shop's settings (店铺设置): how near its floor a bargain is when its
starter is told, and how long before a coupon's end its member is reminded. Today's values are the defaults;
changing them (an owner's write, audited) changes when the message is written to the outbox."""

from datetime import timedelta

import pytest

from campaigns import services
from campaigns.types.bargain import kind as bargaining
from campaigns.types.coupon.kind import claim_coupon
from notifications.models import Notification
from shops.models import AuditEntry, ShopSettings
from tests.builders.campaigns import coupon_template
from tests.builders.shops import change_settings
from tests.campaigns.coupon_support import member_of
from tests.campaigns.social_support import bargain_campaign, friends, starter_in
from tests.factories import OperatorFactory

pytestmark = pytest.mark.django_db


def _told(kind: str, member=None) -> list[Notification]:
    found = Notification.objects.filter(kind=kind)
    return list((found if member is None else found.filter(user=member)).order_by("pk"))


def _bargain_to_the_floor(shop):
    """A bargain from ¥100 to ¥10 (the first cut half the way) cut to its floor: after which cut its starter was
    told it is near the floor, and the bargain."""
    starter, group = starter_in(shop)
    task = bargaining.start_bargain(campaign=bargain_campaign(shop), member=starter, group=group)
    told_after = None
    for number, cutter in enumerate(friends(task.cuts_planned), start=1):
        bargaining.cut(task=task, cutter=cutter)
        if told_after is None and _told("bargain_near_floor", starter):
            told_after = number
    task.refresh_from_db()
    assert task.cuts_done == task.cuts_planned
    assert len(_told("bargain_near_floor", starter)) == 1  # once, whatever the threshold
    return told_after, task


def test_the_defaults_are_todays_values(shop):
    assert ShopSettings._meta.get_field("bargain_near_floor_percent").default == 10
    assert ShopSettings._meta.get_field("coupon_expiry_notice_hours").default == 24
    assert (shop.settings.bargain_near_floor_percent, shop.settings.coupon_expiry_notice_hours) == (10, 24)


def test_by_default_the_starter_is_told_after_the_first_cut_and_before_the_last(shop):
    told_after, task = _bargain_to_the_floor(shop)
    assert 1 < told_after < task.cuts_planned  # half the way left after the first cut is not "near"


def test_at_half_the_way_the_starter_is_told_after_the_first_cut(shop, owner):
    change_settings(shop, owner, bargain_near_floor_percent=50)
    told_after, _task = _bargain_to_the_floor(shop)
    assert told_after == 1  # the first cut leaves exactly half the way: near, for this shop


def test_at_zero_the_starter_is_told_only_with_one_cut_left(shop, owner):
    change_settings(shop, owner, bargain_near_floor_percent=0)
    told_after, task = _bargain_to_the_floor(shop)
    assert told_after == task.cuts_planned - 1


def test_a_longer_notice_reminds_a_coupon_earlier(shop, owner):
    member, _group = member_of(shop)
    coupon = claim_coupon(campaign=coupon_template(shop), member=member)  # valid 7 days
    forty_hours_before = coupon.valid_until - timedelta(hours=40)
    assert services.run_due_jobs(now=forty_hours_before)["coupon_messages"] == 0  # the default: a day before

    change_settings(shop, owner, coupon_expiry_notice_hours=48)
    assert services.run_due_jobs(now=forty_hours_before)["coupon_messages"] == 1
    assert services.run_due_jobs(now=forty_hours_before + timedelta(minutes=1))["coupon_messages"] == 0
    assert len(_told("coupon_expiring", member)) == 1
    entry = AuditEntry.objects.get(action="shop.settings.update")
    assert entry.actor == owner and (
        entry.before["coupon_expiry_notice_hours"],
        entry.after["coupon_expiry_notice_hours"],
    ) == (24, 48)


def test_each_shop_reminds_on_its_own_notice(shop, owner, other_shop):
    change_settings(shop, owner, coupon_expiry_notice_hours=2)
    mine, _ = member_of(shop)
    theirs, _ = member_of(other_shop)
    coupon = claim_coupon(campaign=coupon_template(shop), member=mine)
    claim_coupon(campaign=coupon_template(other_shop), member=theirs)

    assert services.run_due_jobs(now=coupon.valid_until - timedelta(hours=10))["coupon_messages"] == 1
    assert [n.user_id for n in _told("coupon_expiring")] == [theirs.pk]  # the other shop's default day
    assert services.run_due_jobs(now=coupon.valid_until - timedelta(hours=1))["coupon_messages"] == 1
    assert [n.user_id for n in _told("coupon_expiring", mine)] == [mine.pk]


def test_the_thresholds_out_of_range_are_refused_in_chinese(shop, owner):
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError) as refused:
        change_settings(shop, owner, bargain_near_floor_percent=51, coupon_expiry_notice_hours=0)
    assert refused.value.message_dict == {
        "bargain_near_floor_percent": ["砍价接近底价提醒须为 0 到 50 之间的百分数。"],
        "coupon_expiry_notice_hours": ["优惠券到期提醒须提前 1 小时到 7 天。"],
    }
    with pytest.raises(ValidationError) as refused:
        change_settings(shop, owner, coupon_expiry_notice_hours=7 * 24 + 1)
    assert set(refused.value.message_dict) == {"coupon_expiry_notice_hours"}
    shop.settings.refresh_from_db()
    assert (shop.settings.bargain_near_floor_percent, shop.settings.coupon_expiry_notice_hours) == (10, 24)
    assert not AuditEntry.objects.filter(action="shop.settings.update").exists()


def test_an_operator_below_owner_cannot_change_them(shop):
    """The settings page is the owner's: an operator's POST changes nothing."""
    from django.test import Client
    from django.urls import reverse

    from shops.models import OperatorRole

    client = Client()
    client.force_login(OperatorFactory(shop=shop, role=OperatorRole.OPERATOR).user)
    response = client.post(
        reverse("dashboard:shop_settings"),
        {
            "group_hard_cap": 350,
            "default_group_capacity": 200,
            "default_rotation_threshold": 180,
            "payment_timeout_minutes": 30,
            "bargain_pay_within_minutes": 1440,
            "bargain_near_floor_percent": 40,
        },
    )
    assert response.status_code in (403, 404)
    shop.settings.refresh_from_db()
    assert shop.settings.bargain_near_floor_percent == 10
