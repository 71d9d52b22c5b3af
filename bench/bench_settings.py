"""Settings of the web benchmarks (bench/_web.py): the product's production settings, with the bench's
URLconf in front (the product's routes plus the baselines, bench/bench_urls.py) and the Celery queue and
cache prefix of this run, so a run never shares them with anyone else on the same Redis.

Bench-only: the product never imports this module; gunicorn and the Celery workers of a bench run find it
through `--pythonpath bench`.
"""

import os

from shequn.settings import *  # noqa: F403

ROOT_URLCONF = "bench_urls"
CELERY_TASK_DEFAULT_QUEUE = os.environ.get("BENCH_QUEUE", "bench")
CACHES["default"]["KEY_PREFIX"] = os.environ.get("CACHE_KEY_PREFIX", "bench")  # noqa: F405
