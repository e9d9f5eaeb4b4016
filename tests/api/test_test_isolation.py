"""The suite touches only what it created (issue 14, finding 18): keys of its own in a shared Redis,
never a flush of the whole database."""

import redis
from django.core.cache import cache

from tests.conftest import RUN_PREFIX

FOREIGN_KEY = f"not-the-tests-{RUN_PREFIX}"


def test_cache_keys_carry_the_runs_own_prefix(settings):
    assert settings.CACHES["default"]["KEY_PREFIX"].startswith(RUN_PREFIX + "-")
    cache.set("probe", 1)
    assert cache.make_key("probe").startswith(RUN_PREFIX + "-")


def test_someone_elses_key_is_written_to_the_shared_redis(redis_url):
    redis.Redis.from_url(redis_url).set(FOREIGN_KEY, "theirs", ex=600)


def test_someone_elses_key_survives_the_previous_tests_teardown(redis_url):
    client = redis.Redis.from_url(redis_url)
    try:
        assert client.get(FOREIGN_KEY) == b"theirs"
    finally:
        client.delete(FOREIGN_KEY)
