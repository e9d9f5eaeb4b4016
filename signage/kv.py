"""Raw Redis for the hot paths, beside Django's cache API.

Django's cache pickles values and offers no pipelines, hashes, sets or scripts; the players' hot paths
need all of those to answer in one round trip. This module is the one place the project reaches behind
Django's `RedisCache` (`backend._cache`, its client wrapper) for the redis-py client. Keys go through
the cache's own `make_key`, so they share its prefix and version (and tests' cache clearing).

Without Redis (the embedded default: a local-memory cache) `client()` is None and callers take their
plain path through the database and the cache API.
"""

from django.core.cache import caches
from django.core.cache.backends.redis import RedisCache


def _backend():
    return caches["default"]


def client():
    """The redis-py client behind the default cache, or None when the cache is not Redis."""
    backend = _backend()
    if isinstance(backend, RedisCache):
        return backend._cache.get_client(write=True)
    return None


def key(name: str) -> str:
    """The full Redis key of a cache key name (with the cache's prefix and version)."""
    return _backend().make_and_validate_key(name)


_scripts: dict = {}


def script(source: str):
    """A Lua script registered once per client (EVALSHA: one round trip, the source sent only once)."""
    redis = client()
    registered = _scripts.get((id(redis), source))
    if registered is None:
        registered = _scripts[(id(redis), source)] = redis.register_script(source)
    return registered
