"""Settings of the statistics benchmark's gunicorn (`bench/stats.py`): production settings, plus a trivial
authenticated view to compare the statistics pages with."""

from signage.settings import *  # noqa: F403

ROOT_URLCONF = "bench.stats_urls"
DEBUG = False
