"""券 coupons: a template's terms are checked; members claim within the audience, the per-member and per-day
limits (decided by the database) and the supply; a rule's grant is given once per key; what a coupon takes
off an order (kind, scope, stacking); an order's coupon is used once and given back by a cancel or a full
refund (not a partial one); a confirmed fraud flag voids a member's coupons; coupons expire on time."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from campaigns import registry, services
from campaigns.models import CampaignType, Coupon, CouponChannel, CouponState
from campaigns.types.coupon import kind as coupons
from campaigns.types.coupon.kind import CouponRefused, Line
from orders.services import cancel_order, refund_part
from tests.builders.campaigns import coupon_template
from tests.builders.orders import order_for
from tests.factories import TagFactory, UserFactory

from .coupon_support import member_of, sku_of

pytestmark = pytest.mark.django_db


def _settings(shop, **settings):
    now = timezone.now()
    return services.validate_campaign(
        shop=shop,
        type=CampaignType.COUPON,
        fields={"name": "券", "starts_at": now, "ends_at": now + timedelta(days=3)},
        settings=settings,
    )[1]


# --- Terms ------------------------------------------------------------------------------------------------


def test_the_template_terms_are_cleaned_with_their_defaults(shop):
    cleaned = _settings(shop, coupon_kind="threshold", amount_off="20", threshold="100")
    assert cleaned["amount_off"] == "20.00" and cleaned["threshold"] == "100.00"
    assert (cleaned["scope"], cleaned["validity"], cleaned["valid_days"], cleaned["audience"]) == (
        "all",
        "relative",
        7,
        "everyone",
    )
    assert cleaned["return_on_refund"] is True and cleaned["stack_with_campaign_price"] is False
    assert cleaned["in_centre"] is True and cleaned["referral_reward"] is False


@pytest.mark.parametrize(
    ("terms", "field"),
    [
        ({"coupon_kind": "threshold", "amount_off": "20", "threshold": "10"}, "threshold"),
        ({"coupon_kind": "threshold", "threshold": "100"}, "amount_off"),
        ({"coupon_kind": "percent", "percent_off": "100"}, "percent_off"),
        ({"coupon_kind": "exchange"}, "sku"),
        ({"coupon_kind": "bogus"}, "coupon_kind"),
        ({"coupon_kind": "no_threshold", "amount_off": "5", "valid_days": "0"}, "valid_days"),
        ({"coupon_kind": "no_threshold", "amount_off": "5", "per_day_limit": "x"}, "per_day_limit"),
        (
            {"coupon_kind": "no_threshold", "amount_off": "5", "scope": "products", "scope_products": "不存在"},
            "scope_products",
        ),
        ({"coupon_kind": "no_threshold", "amount_off": "5", "audience": "tags", "audience_tags": ""}, "audience_tags"),
        (
            {
                "coupon_kind": "no_threshold",
                "amount_off": "5",
                "validity": "fixed",
                "valid_from": "2026-01-02T00:00",
                "valid_until": "2026-01-01T00:00",
            },
            "valid_until",
        ),
    ],
)
def test_a_bad_term_is_refused_naming_its_field(shop, terms, field):
    with pytest.raises(ValidationError) as refused:
        _settings(shop, **terms)
    assert field in refused.value.message_dict


def test_another_shops_products_and_tags_cannot_be_named(shop, other_shop):
    foreign = sku_of(other_shop).product
    with pytest.raises(ValidationError) as refused:
        _settings(shop, coupon_kind="no_threshold", amount_off="5", scope="products", scope_products=[foreign.pk])
    assert "scope_products" in refused.value.message_dict
    mine = sku_of(shop).product
    cleaned = _settings(shop, coupon_kind="no_threshold", amount_off="5", scope="products", scope_products=mine.name)
    assert cleaned["scope_products"] == [mine.pk]


def _lines(*prices, product_id=1, sku_id=1):
    return [Line(sku_id=sku_id, product_id=product_id, unit_price=Decimal(p), quantity=1) for p in prices]


def test_what_each_kind_takes_off_an_order():
    over_100 = {"coupon_kind": "threshold", "amount_off": "20.00", "threshold": "100.00", "scope": "all"}
    assert coupons.discount(over_100, lines=_lines("99.99"), group_id=1) == Decimal("0.00")
    assert coupons.discount(over_100, lines=_lines("60", "40"), group_id=1) == Decimal("20.00")
    percent = {"coupon_kind": "percent", "percent_off": 15, "max_off": "10.00", "scope": "all"}
    assert coupons.discount(percent, lines=_lines("33.33"), group_id=1) == Decimal("4.99")  # rounded down
    assert coupons.discount(percent, lines=_lines("200"), group_id=1) == Decimal("10.00")  # the cap
    free = {"coupon_kind": "no_threshold", "amount_off": "5.00", "scope": "all"}
    assert coupons.discount(free, lines=_lines("3.00"), group_id=1) == Decimal("3.00")  # never below zero
    exchange = {"coupon_kind": "exchange", "sku_id": 7, "scope": "all"}
    lines = [Line(7, 1, Decimal("12.50"), 3), Line(8, 1, Decimal("99"), 1)]
    assert coupons.discount(exchange, lines=lines, group_id=1) == Decimal("12.50")  # one unit of its SKU
    assert coupons.discount(exchange, lines=lines[1:], group_id=1) == Decimal("0.00")


def test_scope_and_stacking_with_a_campaign_price():
    products = {"coupon_kind": "percent", "percent_off": 50, "scope": "products", "scope_products": [2]}
    lines = [Line(1, 1, Decimal("100"), 1), Line(2, 2, Decimal("10"), 2)]
    assert coupons.discount(products, lines=lines, group_id=1) == Decimal("10.00")  # half of product 2 only
    groups = {"coupon_kind": "no_threshold", "amount_off": "5.00", "scope": "groups", "scope_groups": [9]}
    assert coupons.discount(groups, lines=lines, group_id=1) == Decimal("0.00")
    assert coupons.discount(groups, lines=lines, group_id=9) == Decimal("5.00")
    alone = {"coupon_kind": "no_threshold", "amount_off": "5.00", "scope": "all"}
    assert coupons.discount(alone, lines=lines, group_id=1, campaign_priced=True) == Decimal("0.00")
    stacks = {**alone, "stack_with_campaign_price": True}
    assert coupons.discount(stacks, lines=lines, group_id=1, campaign_priced=True) == Decimal("5.00")


def test_face_words():
    assert coupons.face_words({"coupon_kind": "threshold", "threshold": "100.00", "amount_off": "20.00"}) == (
        "满 100 减 20"
    )
    assert coupons.face_words({"coupon_kind": "percent", "percent_off": 15, "max_off": "30.00"}) == (
        "8.5 折（减 15%）（最多减 30）"
    )
    assert coupons.face_words({"coupon_kind": "percent", "percent_off": 20}) == "8 折（减 20%）"


def test_the_type_is_registered_with_its_own_modules():
    kind = registry.get(CampaignType.COUPON)
    assert kind.module("urls") == "campaigns.types.coupon.urls"
    assert kind.module("api_urls") == "campaigns.types.coupon.api_urls"
    assert kind.module("admin") == "campaigns.types.coupon.admin"


# --- Claiming ----------------------------------------------------------------------------------------------


def test_a_member_claims_a_coupon_valid_for_n_days(shop):
    template = coupon_template(shop)
    member, _group = member_of(shop)
    coupon = coupons.claim_coupon(campaign=template, member=member)
    assert (coupon.state, coupon.channel, coupon.claim_number, coupon.member) == ("available", "centre", 1, member)
    assert timedelta(days=6, hours=23) < coupon.valid_until - coupon.valid_from <= timedelta(days=7)
    assert coupon.terms["amount_off"] == "20.00" and coupon.terms["name"] == template.name
    template.refresh_from_db()
    assert template.stock_used == 1


def test_a_fixed_validity_is_copied_from_the_template(shop):
    start, end = timezone.now() - timedelta(hours=1), timezone.now() + timedelta(days=30)
    template = coupon_template(
        shop, settings={"validity": "fixed", "valid_from": start.isoformat(), "valid_until": end.isoformat()}
    )
    coupon = coupons.claim_coupon(campaign=template, member=member_of(shop)[0])
    assert (coupon.valid_from, coupon.valid_until) == (start, end)


def test_the_per_member_limit_holds_and_is_the_databases(shop):
    template = coupon_template(shop, per_member_limit=2)
    member, _group = member_of(shop)
    coupons.claim_coupon(campaign=template, member=member)
    coupons.claim_coupon(campaign=template, member=member)
    with pytest.raises(CouponRefused) as refused:
        coupons.claim_coupon(campaign=template, member=member)
    assert refused.value.reason == "limit" and "2" in refused.value.message_text
    # The database itself refuses a second coupon with the same claim number.
    first = Coupon.objects.filter(member=member).first()
    with pytest.raises(IntegrityError), transaction.atomic():
        Coupon.objects.create(
            shop=shop,
            campaign=template,
            member=member,
            channel=CouponChannel.CENTRE,
            claim_number=1,
            claim_day=first.claim_day,
            valid_from=first.valid_from,
            valid_until=first.valid_until,
        )


def test_the_per_day_limit_resets_the_next_day(shop):
    template = coupon_template(shop, per_member_limit=5, settings={"per_day_limit": 1})
    member, _group = member_of(shop)
    coupons.claim_coupon(campaign=template, member=member)
    with pytest.raises(CouponRefused) as refused:
        coupons.claim_coupon(campaign=template, member=member)
    assert refused.value.reason == "day_limit"
    tomorrow = timezone.now() + timedelta(days=1)
    assert coupons.claim_coupon(campaign=template, member=member, now=tomorrow).day_number == 1


def test_the_supply_runs_out(shop):
    template = coupon_template(shop, stock_cap=1)
    coupons.claim_coupon(campaign=template, member=member_of(shop)[0])
    with pytest.raises(CouponRefused) as refused:
        coupons.claim_coupon(campaign=template, member=member_of(shop)[0])
    assert refused.value.reason == "sold_out"
    assert Coupon.objects.count() == 1


def test_who_may_claim(shop):
    outsider = UserFactory()
    with pytest.raises(CouponRefused) as refused:
        coupons.claim_coupon(campaign=coupon_template(shop), member=outsider)
    assert refused.value.reason == "not_member"

    member, group = member_of(shop)
    sku = sku_of(shop)
    order = order_for(member, group, sku)
    order.paid_at = timezone.now()
    order.save(update_fields=["paid_at"])
    newcomers = coupon_template(shop, settings={"audience": "new_members"})
    with pytest.raises(CouponRefused) as refused:
        coupons.claim_coupon(campaign=newcomers, member=member)
    assert refused.value.reason == "not_new"
    assert coupons.claim_coupon(campaign=newcomers, member=member_of(shop, group)[0])

    tag = TagFactory(shop=shop, name="大客户")
    tagged_only = coupon_template(shop, settings={"audience": "tags", "audience_tags": "大客户"})
    with pytest.raises(CouponRefused) as refused:
        coupons.claim_coupon(campaign=tagged_only, member=member)
    assert refused.value.reason == "not_tagged"
    member.memberships.get(group=group).tags.add(tag)
    assert coupons.claim_coupon(campaign=tagged_only, member=member)


def test_a_rule_only_template_cannot_be_claimed_but_can_be_granted(shop):
    template = coupon_template(shop, settings={"in_centre": False})
    member, _group = member_of(shop)
    with pytest.raises(CouponRefused) as refused:
        coupons.claim_coupon(campaign=template, member=member)
    assert refused.value.reason == "not_listed"
    granted = coupons.grant_coupon(template=template, member=member, reason="比赛奖品", key="contest:3:1")
    assert (granted.channel, granted.reason, granted.claim_number) == ("rule", "比赛奖品", None)


def test_a_grant_is_given_once_per_key_and_ignores_the_claim_limit(shop):
    template = coupon_template(shop)
    member, _group = member_of(shop)
    coupons.claim_coupon(campaign=template, member=member)  # the member's one claim
    first = coupons.grant_coupon(template=template, member=member, reason="复购提醒", key="reminder:5")
    again = coupons.grant_coupon(template=template, member=member, reason="复购提醒", key="reminder:5")
    assert first.pk == again.pk
    assert Coupon.objects.filter(member=member).count() == 2
    template.refresh_from_db()
    assert template.stock_used == 2


def test_a_grant_of_a_sold_out_template_is_refused(shop):
    template = coupon_template(shop, stock_cap=1)
    member, _group = member_of(shop)
    coupons.grant_coupon(template=template, member=member, reason="r", key="a")
    with pytest.raises(CouponRefused) as refused:
        coupons.grant_coupon(template=template, member=member, reason="r", key="b")
    assert refused.value.reason == "sold_out"


# --- Using, giving back, voiding, expiring -------------------------------------------------------------------


def _used(shop, *, settings=None):
    template = coupon_template(shop, settings=settings)
    member, group = member_of(shop)
    coupon = coupons.claim_coupon(campaign=template, member=member)
    order = order_for(member, group, sku_of(shop, price="120.00"))
    with transaction.atomic():
        coupons.use_coupon(coupon_id=coupon.pk, order=order)
    coupon.refresh_from_db()
    assert (coupon.state, coupon.order) == (CouponState.USED, order)
    return coupon, order


def test_a_coupon_pays_for_one_order_only(shop):
    coupon, order = _used(shop)
    other = order_for(order.member, order.group, sku_of(shop))
    with pytest.raises(ValidationError), transaction.atomic():
        coupons.use_coupon(coupon_id=coupon.pk, order=other)
    stranger, group = member_of(shop)
    theirs = order_for(stranger, group, sku_of(shop))
    coupon.state = CouponState.AVAILABLE
    coupon.save(update_fields=["state"])
    with pytest.raises(ValidationError), transaction.atomic():  # not the stranger's coupon
        coupons.use_coupon(coupon_id=coupon.pk, order=theirs)


def test_cancelling_the_order_gives_the_coupon_back(shop):
    coupon, order = _used(shop)
    cancel_order(order=order, by=order.member, reason="不要了")
    coupon.refresh_from_db()
    assert (coupon.state, coupon.order, coupon.returned_count) == (CouponState.AVAILABLE, None, 1)


def test_a_full_refund_gives_it_back_unless_the_template_keeps_it(shop):
    coupon, order = _used(shop)
    with transaction.atomic():
        coupons.on_order_refunded(order)
    coupon.refresh_from_db()
    assert coupon.state == CouponState.AVAILABLE

    kept, kept_order = _used(shop, settings={"return_on_refund": False})
    with transaction.atomic():
        coupons.on_order_refunded(kept_order)
    kept.refresh_from_db()
    assert kept.state == CouponState.USED


def test_an_expired_coupon_is_not_given_back(shop):
    coupon, order = _used(shop)
    Coupon.objects.filter(pk=coupon.pk).update(
        valid_from=timezone.now() - timedelta(days=2), valid_until=timezone.now() - timedelta(seconds=1)
    )
    cancel_order(order=order, by=order.member, reason="不要了")
    coupon.refresh_from_db()
    assert coupon.state == CouponState.USED


def test_a_partial_refund_keeps_the_coupon_used(shop, transport):
    from tests.builders.orders import pay

    template = coupon_template(shop)
    member, group = member_of(shop)
    coupon = coupons.claim_coupon(campaign=template, member=member)
    order = order_for(member, group, sku_of(shop, price="120.00"), quantity=2)
    with transaction.atomic():
        coupons.use_coupon(coupon_id=coupon.pk, order=order)
    pay(order, transport)
    refund_part(order=order, amount=Decimal("10.00"), key="part-1", reason="少发一件")
    coupon.refresh_from_db()
    assert coupon.state == CouponState.USED


def test_a_confirmed_fraud_flag_voids_the_members_available_coupons(shop, operator):
    from referrals.fraud import confirm_flag
    from referrals.fraud_models import FlagKind, FraudFlag

    coupon, _order = _used(shop)
    member = coupon.member
    spare = coupons.claim_coupon(campaign=coupon_template(shop), member=member)
    bystander = coupons.claim_coupon(campaign=coupon_template(shop), member=member_of(shop)[0])
    flag = FraudFlag.objects.create(
        shop=shop,
        kind=FlagKind.SELF_REFERRAL,
        subject=f"user:{member.pk}",
        member=member,
        deadline=timezone.now() + timedelta(days=1),
    )
    confirm_flag(flag=flag, by=operator, reason="自己邀请自己")
    for one in (coupon, spare, bystander):
        one.refresh_from_db()
    assert (spare.state, coupon.state, bystander.state) == (CouponState.VOID, CouponState.USED, CouponState.AVAILABLE)
    assert spare.voided_at is not None and spare.void_reason


def test_a_confirmed_device_flag_voids_the_coupons_of_every_member_it_covers(shop, operator):
    """A shared-device flag names no member: its events' inviter and invitees are who it covers."""
    from referrals import services as referral_services
    from referrals.fraud import confirm_flag
    from referrals.fraud_models import FlagKind, FraudFlag

    template = coupon_template(shop)
    inviter, _group = member_of(shop)
    puppets = [member_of(shop)[0] for _ in range(2)]
    bystander = member_of(shop)[0]
    held = {
        person.pk: coupons.claim_coupon(campaign=template, member=person) for person in [inviter, *puppets, bystander]
    }
    events = [
        referral_services.record_campaign_act(
            shop_id=shop.pk, campaign_id=template.pk, inviter=inviter, invitee=puppet, key=f"act:{puppet.pk}"
        )
        for puppet in puppets
    ]
    flag = FraudFlag.objects.create(
        shop=shop, kind=FlagKind.SHARED_DEVICE, subject="device:abc", deadline=timezone.now() + timedelta(days=1)
    )
    flag.events.set(events)
    confirm_flag(flag=flag, by=operator, reason="同一设备多个账号")
    states = {pk: Coupon.objects.get(pk=coupon.pk).state for pk, coupon in held.items()}
    assert {pk for pk, state in states.items() if state == CouponState.VOID} == {inviter.pk, *(p.pk for p in puppets)}
    assert states[bystander.pk] == CouponState.AVAILABLE


def test_a_confirmed_ring_flag_voids_the_coupons_of_the_ring(shop, operator):
    from referrals.fraud import confirm_flag
    from referrals.fraud_models import FlagKind, FraudFlag

    template = coupon_template(shop)
    ring = [member_of(shop)[0] for _ in range(3)]
    outside = member_of(shop)[0]
    held = [coupons.claim_coupon(campaign=template, member=person) for person in [*ring, outside]]
    flag = FraudFlag.objects.create(
        shop=shop,
        kind=FlagKind.RING,
        subject="ring:" + "-".join(str(person.pk) for person in ring),
        deadline=timezone.now() + timedelta(days=1),
    )
    confirm_flag(flag=flag, by=operator, reason="互刷")
    for coupon in held:
        coupon.refresh_from_db()
    assert [coupon.state for coupon in held] == [CouponState.VOID] * 3 + [CouponState.AVAILABLE]


def test_a_cleared_flag_voids_nothing(shop, operator):
    from referrals.fraud import clear_flag
    from referrals.fraud_models import FlagKind, FraudFlag

    member, _group = member_of(shop)
    coupon = coupons.claim_coupon(campaign=coupon_template(shop), member=member)
    flag = FraudFlag.objects.create(
        shop=shop, kind=FlagKind.BURST, subject=f"user:{member.pk}", member=member, deadline=timezone.now()
    )
    clear_flag(flag=flag, by=operator, reason="真实好友")
    coupon.refresh_from_db()
    assert coupon.state == CouponState.AVAILABLE


def test_coupons_expire_on_time_through_the_engines_job(shop):
    member, _group = member_of(shop)
    coupon = coupons.claim_coupon(campaign=coupon_template(shop, settings={"valid_days": 1}), member=member)
    assert services.run_due_jobs(now=timezone.now() + timedelta(hours=23))["coupon"] == 0
    assert services.run_due_jobs(now=timezone.now() + timedelta(days=1, minutes=1))["coupon"] == 1
    assert services.run_due_jobs(now=timezone.now() + timedelta(days=1, minutes=2))["coupon"] == 0
    coupon.refresh_from_db()
    assert coupon.state == CouponState.EXPIRED
    assert coupons.usable_coupons(member, shop_id=shop.pk) == []
