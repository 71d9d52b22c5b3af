"""Run the beat schedule in this process, for the embedded mode (no Redis, no separate beat/worker).

scripts/run starts it beside the web server when REDIS_URL is not set, so overdue orders are still
cancelled and the simulated provider still sends its callbacks. With Redis, run celery beat instead.
"""

import logging
import threading
import time

from celery import current_app
from django.conf import settings
from django.core.management.base import BaseCommand

logger = logging.getLogger("shequn.schedule")


class Command(BaseCommand):
    help = "Run CELERY_BEAT_SCHEDULE's tasks in-process on their intervals (embedded mode only)."

    def add_arguments(self, parser):
        parser.add_argument("--once", action="store_true", help="run every job once and exit")

    def handle(self, *args, once: bool = False, **options):
        # A worker imports every app's tasks module when it starts; this process must do the same.
        current_app.loader.import_default_modules()
        schedule = {name: entry for name, entry in settings.CELERY_BEAT_SCHEDULE.items()}
        next_run = {name: 0.0 for name in schedule}
        stop = threading.Event()
        self.stdout.write(f"running {len(schedule)} scheduled jobs in-process: {', '.join(schedule)}")
        while not stop.is_set():
            now = time.monotonic()
            for name, entry in schedule.items():
                if now < next_run[name]:
                    continue
                try:
                    current_app.tasks[entry["task"]].apply()
                except Exception:  # one failing job must not stop the others
                    logger.exception("scheduled job %s failed", name)
                    if once:
                        raise
                next_run[name] = now + entry["schedule"].total_seconds()
            if once:
                return
            stop.wait(1)
