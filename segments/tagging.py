"""Automatic tags: the periodic job that gives each rule's tag to the members who match it now.

Guarantees:
- Idempotent and safe to run twice at once: per rule, one INSERT … SELECT of the matching members ON CONFLICT
  (tag, member) DO NOTHING and one DELETE of the rule's rows whose member no longer matches, in one
  transaction; a run never writes one statement per member.
- Only `MemberTag` rows are written: tags set by hand on memberships are never touched.
- A rule switched off keeps nothing: its rows are deleted by the next run.

Who matches (among the people with a paid order in the shop or a membership in one of its groups):
- bought_product: a paid order (not refunded) with a line of the product;
- spent_over: paid minus refunded over the paid orders at least the amount;
- repeat_buyer: at least `count` paid orders;
- lurker: in one of the shop's groups for more than `days` days with no activity there in the last `days`;
- big_customer: among the `percent`% who spent most (at least the top one; every member whose spend reaches
  the smallest spend of that share, so ties are all in), and spent more than zero.
"""

from datetime import datetime, timedelta

from django.db import connection, transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from accounts.models import User
from groups.models import MemberActivity, Membership, MembershipStatus
from orders.lifecycle import PAID_STATES
from orders.models import Order, OrderLine
from shequn.jobs import JobResult

from .models import MemberTag, RuleKind, TagRule
from .selectors import orders_expr, spent_expr


def _people(shop_id: int):
    """Everyone the shop knows: in one of its groups (any status) or with an order there."""
    return User.objects.filter(
        Q(Exists(Membership.objects.filter(user=OuterRef("pk"), group__shop_id=shop_id)))
        | Q(Exists(Order.objects.filter(member=OuterRef("pk"), shop_id=shop_id)))
    )


def big_customer_threshold(shop_id: int, percent: int):
    """The smallest spend among the shop's top `percent`% of spenders (at least one; None when nobody spent)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT s FROM (SELECT s, row_number() OVER (ORDER BY s DESC) AS n, count(*) OVER () AS total FROM ("
            f"SELECT SUM(paid_amount - refunded_amount) AS s FROM {Order._meta.db_table} "
            "WHERE shop_id = %s AND state = ANY(%s) GROUP BY member_id) AS spends WHERE s > 0) AS ranked "
            "WHERE n = GREATEST(1, FLOOR(total * %s / 100.0))",
            [shop_id, list(PAID_STATES), percent],
        )
        row = cursor.fetchone()
    return row[0] if row else None


def matching(rule: TagRule, now: datetime):
    """The members who match the rule now (a queryset of users; the SELECT the job inserts from)."""
    shop_id = rule.shop_id
    people = _people(shop_id)
    if rule.kind == RuleKind.BOUGHT_PRODUCT:
        return people.filter(
            Exists(
                OrderLine.objects.filter(
                    order__member=OuterRef("pk"),
                    order__shop_id=shop_id,
                    order__state__in=PAID_STATES,
                    product_id=rule.product_id,
                )
            )
        )
    if rule.kind == RuleKind.SPENT_OVER:
        return people.annotate(spent=spent_expr(shop_id)).filter(spent__gte=rule.amount)
    if rule.kind == RuleKind.REPEAT_BUYER:
        return people.annotate(order_count=orders_expr(shop_id)).filter(order_count__gte=rule.count)
    if rule.kind == RuleKind.LURKER:
        since = now - timedelta(days=rule.days)
        return people.filter(
            Exists(
                Membership.objects.filter(
                    user=OuterRef("pk"), group__shop_id=shop_id, status=MembershipStatus.ACTIVE, joined_at__lt=since
                )
            ),
            ~Exists(MemberActivity.objects.filter(user=OuterRef("pk"), group__shop_id=shop_id, at__gte=since)),
        )
    if rule.kind == RuleKind.BIG_CUSTOMER:
        threshold = big_customer_threshold(shop_id, rule.percent)
        if threshold is None:
            return people.none()
        return people.annotate(spent=spent_expr(shop_id)).filter(spent__gte=threshold, spent__gt=0)
    raise ValueError(f"unknown tag rule kind {rule.kind!r}")


def recompute_rule(rule: TagRule, *, now: datetime | None = None) -> tuple[int, int]:
    """Bring the rule's tag up to date: (rows added, rows removed). A constant number of statements."""
    now = now or timezone.now()
    table = MemberTag._meta.db_table
    with transaction.atomic():
        rule = TagRule.objects.get(pk=rule.pk)  # as saved now, whatever the caller holds
        if not rule.is_active:
            removed, _ = MemberTag.objects.filter(rule=rule).delete()
            TagRule.objects.filter(pk=rule.pk).update(computed_at=now, members=0)
            return 0, removed
        select_sql, params = matching(rule, now).order_by().values("pk").query.sql_with_params()
        with connection.cursor() as cursor:
            cursor.execute(
                f"DELETE FROM {table} WHERE rule_id = %s AND user_id NOT IN ({select_sql})", [rule.pk, *params]
            )
            removed = cursor.rowcount
            cursor.execute(
                f"INSERT INTO {table} (shop_id, tag_id, rule_id, user_id, tagged_at) "
                f"SELECT %s, %s, %s, m.uid, %s FROM ({select_sql}) AS m(uid) "
                "ON CONFLICT (tag_id, user_id) DO NOTHING",
                [rule.shop_id, rule.tag_id, rule.pk, now, *params],
            )
            added = cursor.rowcount
        members = MemberTag.objects.filter(rule=rule).count()
        TagRule.objects.filter(pk=rule.pk).update(computed_at=now, members=members)
    return added, removed


def recompute_all(*, now: datetime | None = None, result: JobResult | None = None, shop_id: int | None = None) -> int:
    """Every rule of every shop (or of one shop): the job. Returns the rows changed."""
    now = now or timezone.now()
    rules = TagRule.objects.order_by("pk")
    if shop_id is not None:
        rules = rules.filter(shop_id=shop_id)
    changed = 0
    for rule in rules:
        added, removed = recompute_rule(rule, now=now)
        changed += added + removed
        if result is not None:
            result.count(rule.shop_id, n=added + removed)
    return changed
