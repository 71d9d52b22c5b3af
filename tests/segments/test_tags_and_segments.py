"""Automatic tags from behaviour (recomputed by the job, idempotent, in bulk; manual tags kept) and segments:
a saved filter over tags and facts, its live count and its members."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from groups.models import MemberActivity, Membership
from groups.services import set_member_tags
from orders.models import OrderState
from segments import selectors, services, tagging
from segments.models import MemberTag, RuleKind
from shops.models import AuditEntry
from tests.factories import GroupFactory, SkuFactory, TagFactory
from tests.segments.support import active, joined, paid

pytestmark = pytest.mark.django_db


def tagged(rule) -> set[int]:
    return set(MemberTag.objects.filter(rule=rule).values_list("user_id", flat=True))


@pytest.fixture
def people(shop, group):
    now = timezone.now()
    sku = SkuFactory(product__shop=shop)
    big, repeat, once, lurker, refunded = (joined(group) for _ in range(5))
    paid(big, group, "900.00", sku=sku)
    paid(repeat, group, "30.00", at=now - timedelta(days=40))
    paid(repeat, group, "30.00", at=now - timedelta(days=2))
    paid(once, group, "50.00")
    paid(refunded, group, "500.00", sku=sku, state=OrderState.REFUNDED, refunded=Decimal("500.00"))
    Membership.objects.filter(user__in=[lurker, big], group=group).update(
        joined_at=now - timedelta(days=30), first_joined_at=now - timedelta(days=30)
    )
    MemberActivity.objects.filter(user__in=[lurker, big]).update(at=now - timedelta(days=30))
    active(big, group, now - timedelta(days=1))
    return {"big": big, "repeat": repeat, "once": once, "lurker": lurker, "refunded": refunded, "sku": sku}


def test_each_rule_tags_the_members_who_match(shop, owner, people):
    rule = lambda kind, **v: services.create_tag_rule(shop=shop, by=owner, tag_name=kind, kind=kind, **v)  # noqa: E731
    bought = rule(RuleKind.BOUGHT_PRODUCT, product=people["sku"].product)
    spent = rule(RuleKind.SPENT_OVER, amount=Decimal("100"))
    repeat = rule(RuleKind.REPEAT_BUYER)
    lurker = rule(RuleKind.LURKER, days=14)
    big = rule(RuleKind.BIG_CUSTOMER, percent=34)
    tagging.recompute_all(shop_id=shop.pk)
    assert tagged(bought) == {people["big"].pk}  # the refunded order does not count
    assert tagged(spent) == {people["big"].pk}
    assert tagged(repeat) == {people["repeat"].pk}
    assert tagged(lurker) == {people["lurker"].pk}  # big was active; the others joined just now
    assert tagged(big) == {people["big"].pk}  # the top third of three spenders
    assert AuditEntry.objects.filter(action="segments.tag_rule.create").count() == 5


def test_the_job_is_idempotent_in_bulk_and_follows_behaviour(shop, owner, group, people):
    rule = services.create_tag_rule(
        shop=shop, by=owner, tag_name="大于百元", kind=RuleKind.SPENT_OVER, amount=Decimal("100")
    )
    with CaptureQueriesContext(connection) as first:
        tagging.recompute_rule(rule)
    assert tagged(rule) == {people["big"].pk}
    paid(people["once"], group, "80.00")
    with CaptureQueriesContext(connection) as second:
        assert tagging.recompute_rule(rule) == (1, 0)
    assert len(first) == len(second)  # bulk: the statements do not grow with the members
    assert tagging.recompute_rule(rule) == (0, 0)
    services.update_tag_rule(rule=rule, by=owner, is_active=True, amount=Decimal("1000"))
    assert tagging.recompute_rule(rule) == (0, 2)
    assert tagged(rule) == set()


def test_manual_tags_are_kept_and_count_in_segments(shop, owner, group, people):
    manual = TagFactory(shop=shop, name="VIP")
    membership = Membership.objects.get(user=people["once"], group=group)
    set_member_tags(membership=membership, by=owner, tags=[manual])
    rule = services.create_tag_rule(shop=shop, by=owner, tag_name="复购", kind=RuleKind.REPEAT_BUYER)
    tagging.recompute_all()
    assert list(membership.tags.all()) == [manual]
    segment = services.save_segment(shop=shop, by=owner, name="VIP 或复购", tags=[manual, rule.tag])
    assert set(selectors.segment_member_ids(segment)) == {people["once"].pk, people["repeat"].pk}
    excluded = services.save_segment(shop=shop, by=owner, name="非 VIP 买家", min_orders=1, exclude_tags=[manual])
    assert set(selectors.segment_member_ids(excluded)) == {people["big"].pk, people["repeat"].pk}


def test_segment_facts(shop, owner, group, people):
    other = GroupFactory(shop=shop)
    people = people | {"other": joined(other)}
    cases = {
        "spent": ({"min_spent": Decimal("60"), "max_spent": Decimal("1000")}, {"big", "repeat"}),
        "orders": ({"min_orders": 2}, {"repeat"}),
        "recent": ({"ordered_within_days": 7}, {"big", "repeat", "once"}),
        "lapsed": ({"not_ordered_for_days": 7}, {"lurker", "refunded", "other"}),
        "old": ({"joined_before_days": 20}, {"big", "lurker"}),
    }
    for name, (values, expected) in cases.items():
        segment = services.save_segment(shop=shop, by=owner, name=name, **values)
        assert set(selectors.segment_member_ids(segment)) == {people[p].pk for p in expected}, name
    in_other = services.save_segment(shop=shop, by=owner, name="另一个群", groups=[other])
    assert selectors.segment_member_ids(in_other) == [people["other"].pk]
    counts = selectors.segment_counts(list(selectors.segments_for_shop(shop)))
    assert counts[in_other.pk] == 1 and len(counts) == len(cases) + 1


def test_segment_counts_and_member_list_cost_constant_queries(
    shop, owner, group, people, django_assert_max_num_queries
):
    for i in range(5):
        services.save_segment(shop=shop, by=owner, name=f"s{i}", min_orders=i)
    with django_assert_max_num_queries(4):  # the page of segments with their tags, excluded tags and groups
        segments = sorted(selectors.segments_for_shop(shop), key=lambda s: s.name)
    with django_assert_max_num_queries(1):
        counts = selectors.segment_counts(segments)
    assert counts[segments[0].pk] == 5 and counts[segments[2].pk] == 1
    with django_assert_max_num_queries(1):
        listed = list(selectors.segment_members(segments[1])[:50])
    assert listed[0] == people["big"] and listed[0].spent == Decimal("900.00")


def test_segment_rules(shop, owner, other_shop):
    with pytest.raises(ValidationError):
        services.save_segment(shop=shop, by=owner, name="x", min_spent=Decimal("10"), max_spent=Decimal("1"))
    with pytest.raises(ValidationError):
        services.save_segment(shop=shop, by=owner, name="y", tags=[TagFactory(shop=other_shop)])
    services.save_segment(shop=shop, by=owner, name="z")
    with pytest.raises(ValidationError):
        services.save_segment(shop=shop, by=owner, name="z")
    assert AuditEntry.objects.filter(action="segments.segment.create").count() == 1
