"""Rebuild the analytics fact tables for a date range (or a shop's whole history), e.g. after a data repair:

    manage.py build_analytics                         every shop, its whole history
    manage.py build_analytics --shop 3 --from 2026-11-01 --to 2026-11-30

Safe to run beside the periodic job: both rewrite whole days under the shop's advisory lock.
"""

from datetime import date

from django.core.management.base import BaseCommand, CommandError

from shops.models import Shop

from ... import facts


def _date(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError as error:
        raise CommandError(f"not a date (YYYY-MM-DD): {value}") from error


class Command(BaseCommand):
    help = "Rebuild the analytics fact tables from the source tables for a date range."

    def add_arguments(self, parser):
        parser.add_argument("--shop", type=int, action="append", help="shop id (repeatable; default: every shop)")
        parser.add_argument("--from", dest="start", type=_date, help="first day (default: the shop's first act)")
        parser.add_argument("--to", dest="end", type=_date, help="last day, inclusive (default: today)")

    def handle(self, *args, shop=None, start=None, end=None, **options):
        if start and end and end < start:
            raise CommandError("--to is before --from")
        shops = Shop.objects.order_by("pk")
        if shop:
            shops = shops.filter(pk__in=shop)
            missing = set(shop) - set(shops.values_list("pk", flat=True))
            if missing:
                raise CommandError(f"no such shop: {', '.join(map(str, sorted(missing)))}")
        for shop_id in shops.values_list("pk", flat=True):
            rows = facts.rebuild_shop(shop_id=shop_id, start=start, end=end)
            self.stdout.write(f"shop {shop_id}: {rows} daily fact rows")
