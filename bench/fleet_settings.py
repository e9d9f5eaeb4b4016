"""Settings of the load test's stack (`bench/fleet.py`): production settings, plus a trivial view to compare
with and a Celery queue of its own."""

from signage.settings import *  # noqa: F403

ROOT_URLCONF = "bench.fleet_urls"
CELERY_TASK_DEFAULT_QUEUE = "fleet-bench"
DEBUG = False
