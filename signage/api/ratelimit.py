"""Rate limits of reference 000: per principal, per endpoint and method, hourly and daily windows.

Each window is a fixed, epoch-aligned period with one integer counter in the cache, keyed by principal,
endpoint, table row and window start, and incremented atomically (Redis INCR in production). A request
costs one increment per window whatever the traffic, unlike DRF's timestamp lists, and the count is
shared by every process that uses the same cache.

The table (SIGNAGE_RATE_LIMITS) is a setting, read once into a `RuleTable` (again only when a test
overrides the setting). The counters go through Django's cache API, or on Redis through `signage.kv`'s
own redis-py client (public APIs only: nothing of the cache backend's insides).

The principal is the OAuth2 application for its tokens, else the user, else the client's IP address
(see clientip.py for how far X-Forwarded-For is trusted).
"""

import math
import time
from dataclasses import dataclass
from functools import cache as memoize
from functools import wraps

from django.conf import settings
from django.core.cache import cache
from django.core.signals import setting_changed
from django.dispatch import receiver
from django.http import JsonResponse
from rest_framework.throttling import BaseThrottle

from signage import kv

from .authentication import oauth2_token
from .clientip import client_ip

API_PREFIXES = ("/api/management/v2/", "/api/statistics/v2/", "/api/")
WINDOWS = (("hourly", 3600), ("daily", 86400))
ALL = "*"


def clock() -> float:
    return time.time()


@dataclass(frozen=True)
class Rule:
    endpoint: str
    methods: tuple[str, ...]
    daily: int
    hourly: int

    @property
    def name(self) -> str:
        return "+".join(self.methods)

    def limit(self, window: str) -> int:
        return self.hourly if window == "hourly" else self.daily


@dataclass(frozen=True)
class WindowState:
    window: str
    limit: int
    used: int
    reset: int  # Unix time at which the window's counter starts again from zero

    @property
    def remaining(self) -> int:
        return max(0, self.limit - self.used)

    @property
    def exceeded(self) -> bool:
        return self.used > self.limit

    def as_dict(self) -> dict:
        return {"limit": self.limit, "used": self.used, "remaining": self.remaining, "reset": self.reset}


UNLIMITED = Rule(ALL, (ALL,), 10**9, 10**9)  # a table without a catch-all row limits nothing else


class RuleTable:
    """The rows of SIGNAGE_RATE_LIMITS, in order (the first row that covers a request applies), with the
    rows that may cover each named endpoint set apart so a lookup scans only those."""

    def __init__(self, rows):
        self.rules = [
            Rule(endpoint, tuple(method.upper() for method in methods), daily, hourly)
            for endpoint, methods, daily, hourly in rows
        ]
        self._catch_all = [rule for rule in self.rules if rule.endpoint == ALL]
        self._candidates = {
            rule.endpoint: [other for other in self.rules if other.endpoint in (rule.endpoint, ALL)]
            for rule in self.rules
            if rule.endpoint != ALL
        }

    def rule_for(self, endpoint: str, method: str) -> Rule:
        method = method.upper()
        for rule in self._candidates.get(endpoint, self._catch_all):
            if ALL in rule.methods or method in rule.methods:
                return rule
        return UNLIMITED


@memoize
def table() -> RuleTable:
    """The rate-limit table, built once per process from the setting."""
    return RuleTable(settings.SIGNAGE_RATE_LIMITS)


@receiver(setting_changed)
def _rebuild_table(setting, **kwargs):
    if setting == "SIGNAGE_RATE_LIMITS":  # tests' settings overrides
        table.cache_clear()


def rules() -> list[Rule]:
    return table().rules


def endpoint_of(path: str) -> str:
    """'screens' for /api/management/v2/screens/<id>/, 'get_jwt_token' for /api/get_jwt_token/."""
    for prefix in API_PREFIXES:
        if path.startswith(prefix):
            return path[len(prefix) :].split("/", 1)[0]
    return ""


def rule_for(endpoint: str, method: str) -> Rule:
    return table().rule_for(endpoint, method)


def principal_of(request) -> str:
    device_principal = getattr(getattr(request, "auth", None), "rate_limit_principal", None)
    if device_principal:  # a player, identified by its own token
        return device_principal
    token = oauth2_token(request)
    if token is not None:
        return f"app:{token.application_id}"
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        return f"user:{user.pk}"
    return f"ip:{client_ip(request)}"


def window_keys(principal: str, endpoint: str, rule: Rule, now: float):
    """(window, reset time, counter key) of each window of `rule` at `now`."""
    for window, seconds in WINDOWS:
        start = int(now) - int(now) % seconds
        yield window, start + seconds, f"rl:{principal}:{endpoint}:{rule.name}:{window}:{start}"


def _increment(key: str, timeout: int) -> int:
    try:
        return cache.incr(key)
    except ValueError:  # first request of the window
        if cache.add(key, 1, timeout):
            return 1
        return cache.incr(key)


def _increment_all(keys_and_ttls: list[tuple[str, int]]) -> list[int]:
    """Increment several counters. On Redis, one round trip for all of them (INCR, and EXPIRE NX so a
    counter's lifetime is set once); on any other cache, through the cache API.

    Django's cache API has no multi-increment, so on Redis this uses `signage.kv`'s redis-py client."""
    redis = kv.client()
    if redis is not None:
        pipeline = redis.pipeline(transaction=False)
        for key, ttl in keys_and_ttls:
            full_key = kv.key(key)
            pipeline.incr(full_key)
            pipeline.expire(full_key, ttl, nx=True)
        return pipeline.execute()[::2]
    return [_increment(key, ttl) for key, ttl in keys_and_ttls]


def hit(principal: str, endpoint: str, method: str) -> list[WindowState]:
    """Count one request and return the state of each window after it.

    A refused request stays counted only in the windows it exceeded: a client blocked for the hour does
    not burn its daily allowance by retrying."""
    now = clock()
    rule = rule_for(endpoint, method)
    windows = list(window_keys(principal, endpoint, rule, now))
    counts = _increment_all([(key, reset - int(now) + 60) for _, reset, key in windows])
    counted = [
        (key, WindowState(window, rule.limit(window), count, reset))
        for (window, reset, key), count in zip(windows, counts, strict=True)
    ]
    if not any(state.exceeded for _, state in counted):
        return [state for _, state in counted]
    states = []
    for key, state in counted:
        if not state.exceeded:
            cache.decr(key)
            state = WindowState(state.window, state.limit, state.used - 1, state.reset)
        states.append(state)
    return states


def peek(principal: str, endpoints_methods: list[tuple[str, str]]) -> dict[tuple[str, str], list[WindowState]]:
    """The windows of several (endpoint, method) pairs, without counting: one cache round trip."""
    now = clock()
    planned = {}
    for endpoint, method in endpoints_methods:
        rule = rule_for(endpoint, method)
        planned[(endpoint, method)] = (rule, list(window_keys(principal, endpoint, rule, now)))
    values = cache.get_many([key for _, keys in planned.values() for _, _, key in keys])
    return {
        pair: [WindowState(window, rule.limit(window), int(values.get(key, 0)), reset) for window, reset, key in keys]
        for pair, (rule, keys) in planned.items()
    }


def throttled_payload(wait: int) -> dict:
    """The 429 body of reference 000, to the letter."""
    return {"code": "throttled", "message": f"Request was throttled. Expected available in {wait} seconds."}


def tightest(states: list[WindowState]) -> WindowState:
    """The window to report in headers: an exceeded one, else the one with the fewest requests left."""
    return min(states, key=lambda state: (not state.exceeded, state.remaining, state.reset))


class RateLimitThrottle(BaseThrottle):
    """Counts the request; refuses it with 429 once a window of its table row is exhausted."""

    counts = True

    def allow_request(self, request, view):
        principal, endpoint = principal_of(request), endpoint_of(request.path)
        if self.counts:
            states = hit(principal, endpoint, request.method)
        else:
            states = peek(principal, [(endpoint, request.method)])[(endpoint, request.method)]
        request._request.signage_rate_limit = tightest(states)
        exceeded = [state for state in states if state.exceeded]
        self._wait = max(state.reset for state in exceeded) - clock() if exceeded else None
        return not exceeded

    def wait(self):
        return self._wait


def rate_limited(view):
    """The same limits for a plain Django view (the OAuth2 token endpoint), counted per client IP."""

    @wraps(view)
    def limited(request, *args, **kwargs):
        states = hit(f"ip:{client_ip(request)}", endpoint_of(request.path), request.method)
        request.signage_rate_limit = tightest(states)
        exceeded = [state for state in states if state.exceeded]
        if exceeded:
            wait = math.ceil(max(state.reset for state in exceeded) - clock())
            return JsonResponse(throttled_payload(wait), status=429, headers={"Retry-After": str(wait)})
        return view(request, *args, **kwargs)

    return limited


class RateLimitPeekThrottle(RateLimitThrottle):
    """For endpoints that do not count against limits (`/me/`) but still report them."""

    counts = False


class RateLimitHeadersMiddleware:
    """Puts X-RateLimit-Limit/Remaining/Reset on every API response.

    Views that ran the throttle left their window on the request; for the others (a 401, a 404 from the
    URL resolver, the OAuth2 token view) the principal's window for that endpoint is read, not counted.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if not request.path.startswith("/api/") or request.path.startswith(("/api/schema", "/api/docs")):
            return response
        state = getattr(request, "signage_rate_limit", None)
        if state is None:
            endpoint = endpoint_of(request.path)
            state = tightest(peek(principal_of(request), [(endpoint, request.method)])[(endpoint, request.method)])
        response["X-RateLimit-Limit"] = str(state.limit)
        response["X-RateLimit-Remaining"] = str(state.remaining)
        response["X-RateLimit-Reset"] = str(state.reset)
        return response


METHODS = ("GET", "POST", "PATCH", "DELETE")


def report(principal: str, endpoints: list[str]) -> list[dict]:
    """The principal's limits and usage, per endpoint and table row, for `/me/` (one cache round trip)."""
    table = rules()
    named = [rule.endpoint for rule in table if rule.endpoint != ALL]
    entries = []
    for endpoint in dict.fromkeys([*endpoints, *named]):
        groups: dict[Rule, list[str]] = {}
        for method in METHODS:
            groups.setdefault(rule_for(endpoint, method), []).append(method)
        for rule, methods in groups.items():
            entries.append((endpoint, methods if ALL in rule.methods else list(rule.methods), rule))
    states = peek(principal, [(endpoint, methods[0]) for endpoint, methods, _ in entries])
    return [
        {
            "endpoint": f"/{endpoint}/",
            "methods": methods,
            **{state.window: state.as_dict() for state in states[(endpoint, methods[0])]},
        }
        for endpoint, methods, _ in entries
    ]
