"""Order figures for the groups' weekly health snapshot (registered with groups.jobs by OrdersConfig.ready,
so groups never imports orders)."""

from datetime import datetime
from decimal import Decimal

from django.db.models import Count, Exists, OuterRef, Sum

from .models import Order


def order_figures(group_ids: list[int], start: datetime, end: datetime) -> dict[int, dict]:
    """Per group, the orders paid in [start, end): how many, their GMV (order totals, refunds included), and
    repeat buyers (members who paid for an order that week and had paid for an earlier one in the shop)."""
    paid = Order.objects.filter(group_id__in=group_ids, paid_at__gte=start, paid_at__lt=end).order_by()
    figures: dict[int, dict] = {}
    for row in paid.values("group_id").annotate(n=Count("pk"), gmv=Sum("total")):
        figures[row["group_id"]] = {"orders": row["n"], "gmv": row["gmv"] or Decimal("0.00"), "repeat_buyers": 0}
    earlier = Order.objects.filter(
        member_id=OuterRef("member_id"), shop_id=OuterRef("shop_id"), paid_at__lt=OuterRef("paid_at")
    )
    repeat = paid.filter(Exists(earlier)).values("group_id").annotate(n=Count("member_id", distinct=True))
    for row in repeat:
        figures[row["group_id"]]["repeat_buyers"] = row["n"]
    return figures
