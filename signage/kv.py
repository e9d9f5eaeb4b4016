"""Raw Redis for the hot paths, beside Django's cache API.

Django's cache pickles values and offers no pipelines, hashes, sets or scripts; the players' hot paths
need all of those to answer in one round trip. This module keeps its own redis-py client, built with
redis-py's public API from the default cache's settings (the same server), so nothing here depends on
the private parts of Django's `RedisCache`. Keys go through the cache's public `make_key`, so they share
its prefix and version (and tests' cache clearing).

Without Redis (the embedded default: a local-memory cache) `client()` is None and callers take their
plain path through the database and the cache API.
"""

import hashlib
import os
import threading

import redis as redis_py
from django.conf import settings
from django.core.cache import caches
from django.core.cache.backends.redis import RedisCache
from redis import exceptions as redis_errors


def _backend():
    return caches["default"]


_clients: dict[str, redis_py.Redis] = {}


def client() -> redis_py.Redis | None:
    """A redis-py client of the default cache's (write) server, or None when the cache is not Redis.
    One client, with its connection pool, per server URL and process (redis-py's pool resets after a fork)."""
    if not isinstance(_backend(), RedisCache):
        return None
    location = settings.CACHES["default"]["LOCATION"]
    redis = _clients.get(location)
    if redis is None:
        redis = _clients[location] = redis_py.Redis.from_url(_write_server(location))
    return redis


def _write_server(location: str | list[str]) -> str:
    """The first server of a cache LOCATION: Django's RedisCache writes to it (the others are replicas)."""
    servers = location.split(",") if isinstance(location, str) else location
    return servers[0].strip()


def keys(*names: str) -> list[str]:
    """Several full keys, the cache backend looked up once."""
    backend = _backend()
    return [backend.make_key(name) for name in names]


def key(name: str) -> str:
    """The full Redis key of a cache key name (with the cache's prefix and version). Not checked for
    memcached's limits: these keys are Redis's only."""
    return _backend().make_key(name)


_scripts: dict = {}
_digests: dict = {}


def _pack(parts: list[bytes]) -> bytes:
    out = [b"*%d\r\n" % len(parts)]
    for part in parts:
        out += [b"$%d\r\n" % len(part), part, b"\r\n"]
    return b"".join(out)


def hot_script(source: str, keys: list[str], args: list[str]):
    """`run_script` for the hottest path: the command packed here and sent on a pooled connection, without
    redis-py's command layer (its argument encoding and retry machinery cost more than Redis does). One
    round trip; the script is loaded again if Redis lost it."""
    redis = client()
    digest = _digests.get(source)
    if digest is None:
        digest = _digests[source] = hashlib.sha1(source.encode()).hexdigest().encode()  # Redis names scripts by SHA-1
    packed = _pack([b"EVALSHA", digest, b"%d" % len(keys), *(str(item).encode() for item in (*keys, *args))])
    connection = _hot_connection(redis)
    try:
        connection.send_packed_command([packed], check_health=False)
        return connection.read_response()
    except redis_errors.NoScriptError:  # first use since Redis started: redis-py's path loads it
        return run_script(source, keys, args)
    except (redis_errors.ConnectionError, redis_errors.TimeoutError):
        connection.disconnect()  # a stale connection: redis-py's own path reconnects (and retries)
        return run_script(source, keys, args)


_hot = threading.local()


def _hot_connection(redis):
    """A connection of the pool kept by this thread (and process) for the hot path: no checkout per request."""
    pool, pid = redis.connection_pool, os.getpid()
    held = getattr(_hot, "held", None)
    if held is None or held[0] is not pool or held[1] != pid:
        held = _hot.held = (pool, pid, pool.get_connection())
    return held[2]


def run_script(source: str, keys: list, args: list):
    """Run a Lua script: EVALSHA, one round trip (the source is sent again only if Redis lost it)."""
    redis = client()
    registered = _scripts.get(source)
    if registered is None:
        registered = _scripts[source] = redis.register_script(source)
    return registered(keys=keys, args=args, client=redis)
