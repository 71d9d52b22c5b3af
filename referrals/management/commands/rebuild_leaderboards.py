"""Rebuild leaderboards from the referral events in PostgreSQL (the truth).

manage.py rebuild_leaderboards            # every shop's current boards (day, week, month, all time)
manage.py rebuild_leaderboards --all      # every board the events imply: after Redis lost its data
manage.py rebuild_leaderboards --shop 3
"""

from django.core.management.base import BaseCommand

from referrals import leaderboards as lb
from referrals.leaderboards import rebuilding


class Command(BaseCommand):
    help = "Rebuild referral leaderboards in Redis from the events in PostgreSQL."

    def add_arguments(self, parser):
        parser.add_argument("--shop", type=int, help="only this shop (id)")
        parser.add_argument("--all", action="store_true", help="every board the events imply, not only current ones")

    def handle(self, *args, shop=None, all=False, **options):
        if not lb.live_enabled():
            self.stdout.write("no REDIS_URL: boards are computed from SQL on every read; nothing to rebuild")
            return
        shops = [shop] if shop else lb.shops_with_events()
        total = 0
        for shop_id in shops:
            count = rebuilding.rebuild_shop(shop_id, everything=all)
            total += count
            self.stdout.write(f"shop {shop_id}: {count} boards rebuilt")
        self.stdout.write(self.style.SUCCESS(f"{total} boards rebuilt"))
