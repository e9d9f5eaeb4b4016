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
    """The redis-py client behind the default cache, or None when the cache is not Redis. Django builds a
    client object on every `get_client()`; one per cache backend is kept (they share the connection pool)."""
    backend = _backend()
    if not isinstance(backend, RedisCache):
        return None
    redis = backend.__dict__.get("_signage_client")
    if redis is None:
        redis = backend.__dict__["_signage_client"] = backend._cache.get_client(write=True)
    return redis


def key(name: str) -> str:
    """The full Redis key of a cache key name (with the cache's prefix and version)."""
    return _backend().make_and_validate_key(name)


_scripts: dict = {}


def run_script(source: str, keys: list, args: list):
    """Run a Lua script: EVALSHA, one round trip (the source is sent again only if Redis lost it)."""
    redis = client()
    registered = _scripts.get(source)
    if registered is None:
        registered = _scripts[source] = redis.register_script(source)
    return registered(keys=keys, args=args, client=redis)
