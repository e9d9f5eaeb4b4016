"""The players' hottest requests, answered from Redis in one round trip.

An idle heartbeat and an unchanged playlist (304) are most of a fleet's traffic. Here they run without
the ORM, DRF or any SQL: one Lua script authenticates the token against the device's record, counts
the rate limit, buffers last-seen and telemetry for the bulk flush (`services.devices_flush_heartbeats`)
and reads the screen's published playlist summary (`playlist.summary_text`).

Anything unusual goes to the full DRF view, which does the work through the database and then
`remember`s the device so its next requests are lean: a token without a record (first request, record
expired or forgotten), a device offline or with pending commands, command results, a body this module
does not accept as plainly valid (the DRF serializer then says why), a screen without a published state,
a stale ETag. The script counts the rate limit only when it answers, so nothing is counted twice.

A device's record is a Redis hash keyed by its token hash. Whatever changes a device from the outside
(saves, pairing, commands, locking, deletion, going offline) `forget`s it after commit; a generation
counter, read before the database, keeps a slow request from writing back a record older than a forget.
"""

import io
import ipaddress
import json
import math
import time
from datetime import datetime
from urllib.parse import parse_qsl

from django.http import HttpResponse

from signage import kv
from signage.api.ratelimit import WINDOWS, WindowState, rule_for, throttled_payload, tightest, window_keys
from signage.api.ratelimit import table as rate_limit_table

from . import downloads, services
from .models import token_hash
from .playlist import name_key, state_key, summary_key
from .records import (  # noqa: F401  (lean.remember, lean.forget, ... for the device protocol and bench/fleet.py)
    RECORD_SECONDS,
    SEEN,
    TELEMETRY,
    _record_key,
    forget,
    generation,
    remember,
    remember_many,
    screen_key,
)

MAX_BODY = 8192  # bigger heartbeats take the full path (and its limits)
ID = "@ID@"  # the device id's place in rate-limit key templates
DECLINED = "signage.lean_declined"  # set in the WSGI environ when LeanDeviceWSGI passed a request on

COUNT = """
local function count(id, a)
  local hourly, daily = a.prefix .. id .. a.hourly_suffix, a.prefix .. id .. a.daily_suffix
  local h = redis.call('INCR', hourly)
  redis.call('EXPIRE', hourly, a.hourly_ttl, 'NX')
  local d = redis.call('INCR', daily)
  redis.call('EXPIRE', daily, a.daily_ttl, 'NX')
  if h > tonumber(a.hourly_limit) or d > tonumber(a.daily_limit) then
    -- refused: stays counted only in the windows it exceeded
    if h <= tonumber(a.hourly_limit) then redis.call('DECR', hourly) end
    if d <= tonumber(a.daily_limit) then redis.call('DECR', daily) end
    return false, h, d
  end
  return true, h, d
end
local function limits(first)
  return {prefix = ARGV[first], hourly_suffix = ARGV[first + 1], hourly_ttl = ARGV[first + 2],
          hourly_limit = ARGV[first + 3], daily_suffix = ARGV[first + 4], daily_ttl = ARGV[first + 5],
          daily_limit = ARGV[first + 6]}
end
"""

# KEYS: record, seen buffer, telemetry buffer. ARGV: uuid sent ('' if none), now, summary key prefix,
# the 7 rate-limit arguments, then telemetry as field / JSON value pairs.
HEARTBEAT = (
    COUNT
    + """
local r = redis.call('HMGET', KEYS[1], 'id', 'uuid', 'screen', 'online', 'pending', 'locked', 'pin', 'etag',
                     'interval', 'settings', 'fetched')
if not r[1] then return '0' end
if r[4] ~= '1' or r[5] ~= '0' or (ARGV[1] ~= '' and ARGV[1] ~= r[2]) then return '1' end
local summary = ''
if r[3] ~= '' then
  summary = redis.call('GET', ARGV[3] .. r[3])
  if not summary then return '1' end
end
local ok, h, d = count(r[1], limits(4))
if not ok then return table.concat({2, h, d}, '\\n') end
redis.call('HSET', KEYS[2], r[1], ARGV[2])
for i = 11, #ARGV, 2 do
  redis.call('HSET', KEYS[3], r[1] .. ':' .. ARGV[i], ARGV[i + 1])
end
return table.concat({3, h, d, r[3], r[6], r[7], r[8], r[9], r[10] or '', r[11] or '', summary}, '\\n')
"""
)

# KEYS: record. ARGV: the ETag the player has, summary key prefix, the 7 rate-limit arguments.
NOT_MODIFIED = (
    COUNT
    + """
local r = redis.call('HMGET', KEYS[1], 'id', 'screen', 'etag')
if not r[1] then return '0' end
if r[2] == '' or r[3] ~= ARGV[1] then return '1' end
local summary = redis.call('GET', ARGV[2] .. r[2])
if not summary or string.sub(summary, 1, 64) ~= ARGV[1] then return '1' end
local ok, h, d = count(r[1], limits(3))
if not ok then return table.concat({2, h, d}, '\\n') end
return table.concat({3, h, d}, '\\n')
"""
)

# KEYS: record. ARGV: state key prefix, name key prefix, the 7 rate-limit arguments.
FULL = (
    COUNT
    + """
local r = redis.call('HMGET', KEYS[1], 'id', 'screen', 'etag', 'contents')
if not r[1] then return '0' end
if r[2] == '' or not r[4] then return '1' end
local state = redis.call('GET', ARGV[1] .. r[2])
local name = redis.call('GET', ARGV[2] .. r[2])
if not state or not name then return '1' end
local ok, h, d = count(r[1], limits(3))
if not ok then return table.concat({2, h, d}, '\\n') end
return table.concat({3, h, d, r[1], r[2], r[3], r[4], name, state}, '\\n')
"""
)

# KEYS: the device's screen key, the media's file facts. ARGV: state key prefix. No rate limit: downloads have
# none (their URLs are signed and expire).
DOWNLOAD = """
local screen = redis.call('GET', KEYS[1])
if not screen or screen == '' then return '0' end
local facts = redis.call('GET', KEYS[2])
local state = redis.call('GET', ARGV[1] .. screen)
if not facts or not state then return '0' end
return table.concat({'3', facts, state}, '\\n')
"""

# --- the lean requests ------------------------------------------------------------------------------------


def _token_hash(request) -> str | None:
    header = request.META.get("HTTP_AUTHORIZATION", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "device" or not token or " " in token.strip():
        return None
    return token_hash(token.strip())


_planned: dict = {}


def _rate_limit_arguments(now: float, method: str) -> tuple[list, list]:
    """The script's rate-limit arguments for the device protocol's table row, and the windows' resets;
    planned once per window (the counters' lifetime is then up to a minute longer, which is harmless)."""
    starts = tuple(int(now) - int(now) % seconds for _, seconds in WINDOWS)
    # Keyed on the table itself, not its id(): the memo holds it alive, so a table a test swapped out can
    # never lend its id to the new one (which served the old table's plan).
    memo = (starts, method, rate_limit_table(), kv.key(""))
    planned = _planned.get(memo)
    if planned is None:
        rule = rule_for("device", method)
        arguments, resets = [], []
        for window, reset, name in window_keys(f"device:{ID}", "device", rule, now):
            prefix, suffix = kv.key(name).split(ID)
            if not arguments:
                arguments.append(prefix)
            arguments += [suffix, reset - int(now) + 60, rule.limit(window)]
            resets.append((window, rule.limit(window), reset))
        if len(_planned) > 64:
            _planned.clear()
        planned = _planned[memo] = (arguments, resets)
    return planned


def _windows(resets, counts) -> WindowState:
    pairs = zip(resets, counts, strict=True)
    return tightest([WindowState(window, limit, int(count), reset) for (window, limit, reset), count in pairs])


def _throttled(state: WindowState, now: float):
    wait = max(1, math.ceil(state.reset - now))
    headers = {"Retry-After": str(wait), **_headers(state)}
    return HttpResponse(
        json.dumps(throttled_payload(wait)), status=429, content_type="application/json", headers=headers
    )


MAX_INT, MAX_BIGINT = 2**31 - 1, 2**63 - 1
INTEGERS = {
    "wifi_signal": (-150, 0),
    "storage_total_mb": (0, MAX_INT),
    "storage_used_mb": (0, MAX_INT),
    "storage_free_mb": (0, MAX_INT),
    "volume": (0, 100),
    "brightness": (0, 100),
    "uptime_seconds": (0, MAX_BIGINT),
}
TEXTS = {"current_content": 255, "app_version": 50}


def _plain_text(value, limit: int) -> bool:
    if not isinstance(value, str) or len(value) > limit or value != value.strip() or "\x00" in value:
        return False
    try:
        value.encode("utf-8")  # no lone surrogates
    except UnicodeEncodeError:
        return False
    return True


def _plainly_valid(value, field: str) -> bool:
    """Whether the heartbeat serializer would take `value` as it is; anything doubtful takes the full path."""
    if field in INTEGERS:
        low, high = INTEGERS[field]
        return value is None or (type(value) is int and low <= value <= high)
    if field == "temperature":
        return value is None or (type(value) in (int, float) and math.isfinite(value) and -50 <= value <= 150)
    if field == "screen_on":
        return value is None or type(value) is bool
    if field == "ip_address":
        if value is None:
            return True
        try:
            return isinstance(value, str) and str(ipaddress.IPv4Address(value)) == value
        except ValueError:
            return False
    return _plain_text(value, TEXTS[field])


FIELDS = (*INTEGERS, "temperature", "screen_on", "ip_address", *TEXTS)


def _telemetry(request) -> tuple[str, list[str]] | None:
    """(uuid sent, telemetry as field / JSON pairs) of a plainly valid heartbeat body, else None."""
    if request.META.get("CONTENT_TYPE", "").split(";")[0].strip() != "application/json":
        return None
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return None
    if length > MAX_BODY:
        return None
    try:
        body = json.loads(request.body or b"{}")
    except (ValueError, RecursionError):
        return None
    if not isinstance(body, dict) or body.get("command_results"):
        return None
    uuid = body.get("uuid", "")
    if "uuid" in body and not (_plain_text(uuid, 100) and uuid):
        return None
    pairs = []
    for field in FIELDS:
        if field in body:
            if not _plainly_valid(body[field], field):
                return None
            pairs += [field, json.dumps(body[field])]
    return uuid, pairs


def _reply(text: bytes, parts: int = 9) -> list[str]:
    return text.decode().split("\n", parts - 1)


def _headers(state: WindowState) -> dict:
    """What the middleware stack would have added: the rate-limit window, and no MIME sniffing."""
    return {
        "X-RateLimit-Limit": str(state.limit),
        "X-RateLimit-Remaining": str(state.remaining),
        "X-RateLimit-Reset": str(state.reset),
        "X-Content-Type-Options": "nosniff",
    }


def heartbeat(request):
    """An idle heartbeat in one Redis round trip, or None for the full view."""
    if request.method != "POST":
        return None
    redis, hashed = kv.client(), _token_hash(request)
    parsed = _telemetry(request) if hashed else None
    if redis is None or parsed is None:
        return None
    uuid, pairs = parsed
    now = time.time()
    limits, resets = _rate_limit_arguments(now, request.method)
    keys = kv.keys(_record_key(hashed), SEEN, TELEMETRY, summary_key(""))
    reply = _reply(
        kv.hot_script(
            HEARTBEAT,
            keys=keys[:3],
            args=[uuid, f"{now:.3f}", keys[3], *limits, *pairs],
        ),
        parts=11,
    )
    if reply[0] < "2":
        return None
    state = _windows(resets, reply[1:3])
    if reply[0] == "2":
        return _throttled(state, now)
    _, _, _, screen, locked, pin, fetched, interval, settings_version, settings_fetched, summary = reply
    current, alerts = None, "[]"
    if screen:
        current, _, alerts = summary.split(" ", 2)
    body = (
        f'{{"status": "ok", "paired": {"true" if screen else "false"}, '
        f'"has_update": {"true" if current is not None and current != fetched else "false"}, '
        f'"is_locked": {"true" if locked == "1" else "false"}, "lock_pin": {json.dumps(pin or None)}, '
        f'"has_pending_commands": false, "pending_commands": [], "emergency_alerts": {alerts}, '
        f'"app_update": null, "next_heartbeat_in": {int(interval)}, '
        f'"settings_version": {json.dumps(settings_version)}, '
        f'"has_new_settings": {"true" if settings_version != settings_fetched else "false"}}}'
    )
    content = body.encode()
    headers = {**_headers(state), "Content-Length": str(len(content))}
    return HttpResponse(content, content_type="application/json", headers=headers)


def playlist_not_modified(request):
    """The 304 of an unchanged playlist in one Redis round trip, or None for the full view."""
    if request.method != "GET":
        return None
    wanted = request.META.get("HTTP_IF_NONE_MATCH", "").strip().strip('"').removeprefix("W/").strip('"')
    redis, hashed = kv.client(), _token_hash(request)
    if redis is None or hashed is None or len(wanted) != 64:
        return None
    now = time.time()
    limits, resets = _rate_limit_arguments(now, request.method)
    keys = kv.keys(_record_key(hashed), summary_key(""))
    reply = _reply(kv.hot_script(NOT_MODIFIED, keys=keys[:1], args=[wanted, keys[1], *limits]))
    if reply[0] < "2":
        return None
    state = _windows(resets, reply[1:3])
    if reply[0] == "2":
        return _throttled(state, now)
    return HttpResponse(status=304, headers={"ETag": f'"{wanted}"', **_headers(state)})  # no body, no length


def _build_url(request):
    """`build_absolute_uri` of the request; outside Django's cycle (LeanDeviceWSGI), of a WSGIRequest made
    from its environ, so the host is checked against ALLOWED_HOSTS as Django would (DisallowedHost: None)."""
    if not isinstance(request, _WSGIRequest):
        return request.build_absolute_uri
    from django.core.exceptions import DisallowedHost
    from django.core.handlers.wsgi import WSGIRequest

    django_request = WSGIRequest(request.environ)
    try:
        django_request.get_host()
    except DisallowedHost:
        return None
    return django_request.build_absolute_uri


def playlist_full(request):
    """A full playlist fetch (no If-None-Match, or one that is not current) from the published state in one
    Redis round trip, the player's own signed download URLs spliced in; when the player takes a new playlist,
    a second round trip for its record and the fetch buffer (services.device_fetched). No SQL. None for the
    full view (which answers the same body)."""
    if request.method != "GET":
        return None
    redis, hashed = kv.client(), _token_hash(request)
    if redis is None or hashed is None:
        return None
    now = time.time()
    limits, resets = _rate_limit_arguments(now, request.method)
    keys = kv.keys(_record_key(hashed), state_key(""), name_key(""))
    text = kv.hot_script(FULL, keys=keys[:1], args=[keys[1], keys[2], *limits])
    if text[:1] < b"2":
        return None
    reply = _reply(text, parts=8)
    state_response = _windows(resets, reply[1:3])
    if reply[0] == "2":
        return _throttled(state_response, now)
    _, _, _, device_id, screen_id, fetched, contents, rest = reply
    name, raw = rest.rsplit("\n", 1)  # a name may hold a newline, the state's JSON does not
    state = json.loads(raw)
    if datetime.fromisoformat(state["valid_until"]).timestamp() <= now:
        return None  # expired: the full view builds it
    build_url = _build_url(request)
    if build_url is None:
        return None
    payload, needed = services.playlist_payload(
        device_id=int(device_id),
        screen_id=screen_id,
        screen_name=name,
        content_ids=contents.split(",") if contents else [],
        state=state,
        build_url=build_url,
    )
    if fetched != state["etag"] or contents != ",".join(needed):  # written behind: no SQL
        services.device_fetched(device_id=int(device_id), token_hash=hashed, etag=state["etag"], content_ids=needed)
    content = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()
    headers = {**_headers(state_response), "ETag": f'"{state["etag"]}"', "Content-Length": str(len(content))}
    return HttpResponse(content, content_type="application/json", headers=headers)


def playlist(request):
    """A 304 when the player's ETag is current, else the full body: a player told `has_update` sends its old
    ETag (two round trips then, the first one counting nothing)."""
    return playlist_not_modified(request) or playlist_full(request)


DOWNLOAD_PREFIX, DOWNLOAD_SUFFIX = "/api/device/content/", "/download/"


def download(request, content_id: str):
    """A whole media file by its signed URL, checked as the full view checks it (signature, expiry, the
    device's screen needs the media) from Redis in one round trip, no SQL; None for the full view, which
    answers anything else (ranges, PDF pages, a refusal) and remembers the file for the next players."""
    if request.method != "GET" or "HTTP_RANGE" in request.META:
        return None
    query = dict(parse_qsl(request.META.get("QUERY_STRING", ""), keep_blank_values=True))
    if "page" in query or "pages" in query or kv.client() is None:
        return None
    now = time.time()
    signed = downloads.signed_download(
        content_id=content_id,
        device=query.get("device", ""),
        expires=query.get("expires", ""),
        signature=query.get("signature", ""),
        now=now,
    )
    if isinstance(signed, str):
        return None  # the full view refuses it
    keys = kv.keys(screen_key(signed.device_id), downloads.file_key(content_id), state_key(""))
    text = kv.hot_script(DOWNLOAD, keys=keys[:2], args=keys[2:])
    if text[:1] != b"3":
        return None
    _, facts, raw = text.decode().split("\n", 2)
    state = json.loads(raw)
    if datetime.fromisoformat(state["valid_until"]).timestamp() <= now:
        return None  # expired: the full view builds it
    if not any(content["content_id"] == content_id for content in state["contents"]):
        return None  # the full view says 404
    facts = json.loads(facts)
    return downloads.whole_file_response(name=facts["name"], mime_type=facts["mime"], checksum=facts["checksum"])


HANDLERS = {
    "/api/device/heartbeat": heartbeat,
    "/api/device/heartbeat/": heartbeat,
    "/api/device/playlist": playlist,
    "/api/device/playlist/": playlist,
}


def handler_for(path: str):
    """The lean handler of a path (a one-argument callable), or None."""
    handler = HANDLERS.get(path)
    if handler is None and path.startswith(DOWNLOAD_PREFIX) and path.endswith(DOWNLOAD_SUFFIX):
        content_id = path[len(DOWNLOAD_PREFIX) : -len(DOWNLOAD_SUFFIX)]
        if content_id and "/" not in content_id:
            return lambda request: download(request, content_id)
    return handler


class LeanDevicePathMiddleware:
    """First in MIDDLEWARE: idle heartbeats and unchanged playlists are answered here, before the rest
    of the stack (sessions, CSRF, users, messages, URL resolution) that a player's request has no use for.
    Every other request, and any of these the lean path declines, goes on down the stack unchanged."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        handler = handler_for(request.path_info)
        if handler is not None and not request.META.get(DECLINED):
            response = handler(request)
            if response is not None:
                return response
        return self.get_response(request)


class _WSGIRequest:
    """What the lean handlers read of a request (method, META, body), straight from the WSGI environ."""

    def __init__(self, environ):
        self.environ = self.META = environ
        self.method = environ.get("REQUEST_METHOD", "GET").upper()
        self._body = None

    @property
    def body(self) -> bytes:
        if self._body is None:
            length = int(self.META.get("CONTENT_LENGTH") or 0)  # _telemetry read and bounded it first
            self._body = self.environ["wsgi.input"].read(length) if length > 0 else b""
            self.environ["wsgi.input"] = io.BytesIO(self._body)  # Django reads it again if we decline
        return self._body


class LeanDeviceWSGI:
    """The lean paths below Django's request cycle (signage/wsgi.py wraps Django's application in it).

    The same handlers as `LeanDevicePathMiddleware`, with the same authentication, rate limit and answers,
    but before Django's WSGI handler: no request object, no request_started / request_finished signals
    (their database connection checks), no middleware chain. What they decline goes to Django with its
    environ and body untouched, where the middleware declines it again and the full view serves it."""

    def __init__(self, application):
        self.application = application

    def __call__(self, environ, start_response):
        handler = handler_for(environ.get("PATH_INFO", ""))
        if handler is not None:
            response = handler(_WSGIRequest(environ))
            if response is not None:
                start_response(f"{response.status_code} {response.reason_phrase}", list(response.items()))
                if not response.streaming:
                    return [response.content]
                stream = getattr(response, "file_to_stream", None)
                if stream is not None and "wsgi.file_wrapper" in environ:  # as Django's WSGIHandler: sendfile
                    return environ["wsgi.file_wrapper"](stream, response.block_size)
                return response
            environ[DECLINED] = True  # the middleware does not ask Redis a second time
        return self.application(environ, start_response)
