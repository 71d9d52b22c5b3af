"""The demo shop's segments: automatic tags on two of its tags, three segments, and a broadcast sent before."""

from datetime import datetime, time, timedelta

from django.utils import timezone

from groups.models import Group, GroupState, Tag

from . import services, tagging
from .models import Broadcast, RuleKind, TagRule


def seed_segments(*, shop, staff, now: datetime) -> None:
    """Rules for the tags 大客户 (the top 10% by spend) and 复购 (two paid orders or more), computed now; the
    segments 大客户, 沉睡老客 and 新入群宝妈; and a broadcast to the busiest active group three days ago at 10:00."""
    for name, kind in (("大客户", RuleKind.BIG_CUSTOMER), ("复购", RuleKind.REPEAT_BUYER)):
        tag, _created = Tag.objects.get_or_create(shop=shop, name=name)
        if not TagRule.objects.filter(tag=tag).exists():
            TagRule.objects.create(
                shop=shop, tag=tag, kind=kind, created_by=staff, **services._rule_values(shop, kind, {})
            )
    tagging.recompute_all(shop_id=shop.pk, now=now)
    big = Tag.objects.get(shop=shop, name="大客户")
    mums = Tag.objects.filter(shop=shop, name="宝妈").first()
    services.save_segment(shop=shop, by=staff, name="大客户", description="消费前 10% 的会员", tags=[big])
    services.save_segment(
        shop=shop,
        by=staff,
        name="沉睡老客",
        description="买过两次以上、30 天没有下单",
        min_orders=2,
        not_ordered_for_days=30,
    )
    services.save_segment(shop=shop, by=staff, name="新入群宝妈", tags=[mums] if mums else [], joined_within_days=30)
    group = Group.objects.filter(shop=shop, state=GroupState.ACTIVE).order_by("-active_member_count", "pk").first()
    if group is None:
        return
    broadcast = services.create_broadcast(
        shop=shop, by=staff, title="本周新品：有机小米到货", body="群内专享价，本周下单满 99 元包邮。", group=group
    )
    at = datetime.combine(timezone.localdate(now) - timedelta(days=3), time(10), tzinfo=timezone.get_default_timezone())
    Broadcast.objects.filter(pk=broadcast.pk).update(created_at=at - timedelta(minutes=20))
    services.send_broadcast(broadcast=broadcast, by=staff, now=at)
