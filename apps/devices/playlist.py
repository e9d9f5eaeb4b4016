"""A screen's playlist as players get it: built in bulk off the request path, published per screen.

The state holds the loop now, the media to have within the look-ahead window (default 48 h: players
pre-load tomorrow's campaigns), the emergency alerts and the instant until which all of this holds (the
next display-period or opening-hours boundary, midnight, a media's validity end).

States are published in Redis per screen: the whole state (JSON) for playlist fetches, and a one-line
summary (ETag, valid-until, emergency alerts) that the heartbeat reads in its single round trip. A
content change marks the screens it affects (`screens_mark`); a Celery task (`playlists_rebuild`)
rebuilds marked screens, and screens whose state expired, in batches with one query phase per batch.
Until then players are answered from the last published state: the delay is the task's queueing and
run time after the change is committed (`make loadtest` measures it), and at most one beat interval
(SIGNAGE_PLAYLIST_REBUILD_SECONDS) after a state's valid-until. A screen without a published state (never
built, or Redis lost) is built on its first request.

Without Redis (the embedded default) states live in the local cache and marked screens are rebuilt at once.
"""

import hashlib
import json
import math
import time as clock
import zoneinfo
from datetime import datetime, time, timedelta

from django.conf import settings
from django.core.cache import cache
from django.utils import timezone

from apps.ads.conditions import PLACE_KEYS
from apps.ads.models import runs_between
from apps.broadcasts.loop import build_loop, candidates_for_screens, condition_changes, screen_state
from apps.media.models import WITHOUT_FILE, MediaType, public_id
from apps.screens.models import Screen
from signage import kv

STATE_SECONDS = 3 * 24 * 3600  # a published state outlives any valid-until (midnight is always one)
PLACE_FIELDS = tuple(f"place__{name}" for name in PLACE_KEYS)  # public holidays and feed paths read them
BATCH = 500  # screens per query phase
DIRTY, DUE, QUEUED, RUNNING = "playlists:dirty", "playlists:due", "playlists:queued", "playlists:running"
SCREEN_FIELDS = ("id", "fleet_id", "name", "active", "timezone", "opening_hours", "schedule_mode", "place")


def state_key(screen_id) -> str:
    return f"playlist:{screen_id}"


def summary_key(screen_id) -> str:
    return f"playlist-summary:{screen_id}"


def name_key(screen_id) -> str:
    """The screen's name, which the lean full fetch puts in the playlist (states are shared by screens)."""
    return f"playlist-name:{screen_id}"


def name_publish(screen_id, name: str) -> None:
    redis = kv.client()
    if redis is not None:
        redis.set(kv.key(name_key(screen_id)), name, ex=STATE_SECONDS)


def _boundaries(week: dict, day, zone) -> list[datetime]:
    ranges = (week or {}).get(str(day.isoweekday()), [])
    out = []
    for start, end in ranges:
        for text in (start, end):
            if text == "24:00":
                continue
            hours, minutes = map(int, text.split(":"))
            out.append(datetime.combine(day, time(hours, minutes), tzinfo=zone))
    return out


def _next_change(screen, at: datetime, candidates) -> datetime:
    """The first instant after `at` at which the loop may differ: a boundary of the opening hours, of a
    display period or of a condition's time range, local midnight, a media's validity end, or a feed
    value going stale."""
    zone = zoneinfo.ZoneInfo(screen.timezone or "UTC")
    local = at.astimezone(zone)
    today = local.date()
    moments = [datetime.combine(today + timedelta(days=1), time(0), tzinfo=zone)]
    for week in [screen.opening_hours, *(candidate.display_periods for candidate in candidates)]:
        moments += _boundaries(week, today, zone)
    moments += [candidate.valid_until for candidate in candidates if candidate.valid_until]
    for candidate in candidates:
        moments += condition_changes(candidate, today, zone)
    return min(moment for moment in moments if moment > at) if any(m > at for m in moments) else moments[0]


def live_fields(entry) -> dict:
    """What a player needs to show live content (only these items carry the keys, so the playlists and ETags
    of screens without live content stay as they were). `fallback` says what `download_url` is for a
    player that cannot show the item's type: a web page's capture (a picture); nothing for YouTube videos
    and live streams (such a player skips them)."""
    if entry.media_type == MediaType.WEB:
        return {"url": entry.source, "fallback": MediaType.PICTURE}
    if entry.media_type == MediaType.YOUTUBE:
        return {
            "youtube_id": entry.source,
            "url": f"https://www.youtube.com/watch?v={entry.source}",
            "file_hash": None,
            "fallback": None,
        }
    if entry.media_type == MediaType.LIVESTREAM:
        return {"url": entry.source, "file_hash": None, "fallback": None}
    return {}


def build_states(screens, at: datetime) -> dict:
    """The playlist states of several screens (model instances) at `at`, by screen id: one query phase
    (two or three queries) for the whole batch."""
    lookahead = timedelta(hours=settings.SIGNAGE_DEVICE_LOOKAHEAD_HOURS)
    days = {}
    for screen in screens:
        zone = zoneinfo.ZoneInfo(screen.timezone or "UTC")
        days[screen.pk] = (at.astimezone(zone).date(), (at + lookahead).astimezone(zone).date())
    if not days:
        return {}
    candidates = candidates_for_screens(
        list(days), min(today for today, _ in days.values()), max(horizon for _, horizon in days.values())
    )
    states, shared = {}, {}
    for screen in screens:
        found = candidates[str(screen.pk)]
        shape = _shape(screen, found)
        state = shared.get(shape) if shape is not None else None
        if state is None:
            state = _state(screen, at, *days[screen.pk], found)
            if shape is not None:
                shared[shape] = state
        states[screen.pk] = state
    return states


def _shape(screen, candidates) -> tuple | None:
    """All that a screen's state depends on besides the instant, or None when it depends on the screen
    itself (a sliding campaign's turn, loop indexes of its own). Screens of one shape (same candidates, the
    same timezone, opening hours, schedule mode and place) have the same loop: it is built once per batch."""
    key = str(screen.pk)
    if any(candidate.sliding_order or key in candidate.loop_indexes for candidate in candidates):
        return None
    place = screen.place if screen.place_id else None
    return (
        screen.active,
        screen.timezone,
        json.dumps(screen.opening_hours or {}, sort_keys=True),
        getattr(screen, "schedule_mode", None),
        tuple(getattr(place, name, "") or "" for name in PLACE_KEYS),
        tuple(id(candidate) for candidate in candidates),  # one object per broadcast in a query phase
    )


def build_state(screen, at: datetime) -> dict:
    return build_states([screen], at)[screen.pk]


def _state(screen, at: datetime, today, horizon, candidates) -> dict:
    state = screen_state(screen, at)
    loop = build_loop(state, at, candidates)
    # Everything that may play here before the horizon, whatever the hour: players pre-load it.
    upcoming = {}
    for candidate in candidates:
        if candidate.media_id is None or candidate.status != "active" or candidate.media_type in WITHOUT_FILE:
            continue
        if candidate.valid_until is not None and candidate.valid_until <= at:
            continue
        if not runs_between(candidate.start, candidate.end, today, horizon):
            continue
        upcoming[candidate.media_id] = {
            "content_id": public_id(candidate.media_type, candidate.media_id),
            "media_id": candidate.media_id,
            "type": candidate.media_type,
            "file_hash": candidate.file_hash,
            "size": candidate.size,
        }
    items = [
        {
            "order": entry.position,
            "content_id": public_id(entry.media_type, entry.media_id),
            "media_id": entry.media_id,
            "type": entry.media_type,
            "duration": entry.duration,
            "file_hash": entry.file_hash,
            "broadcast_id": str(entry.broadcast_id),
            "ad_id": str(entry.ad_id),
            "name": entry.ad_name,
            **live_fields(entry),
        }
        for entry in loop
    ]
    contents = sorted(upcoming.values(), key=lambda item: item["media_id"])
    etag = hashlib.sha256(json.dumps([items, contents], sort_keys=True).encode()).hexdigest()
    emergency = [
        {"ad_id": str(candidate.ad_id), "name": candidate.ad_name}
        for candidate in {c.ad_id: c for c in candidates if c.emergency}.values()
        if any(entry.ad_id == candidate.ad_id for entry in loop)
    ]
    return {
        "etag": etag,
        "items": items,
        "contents": contents,
        "emergency_alerts": emergency,
        "valid_until": _next_change(state, at, candidates).isoformat(),
    }


# --- publishing and reading -----------------------------------------------------------------------------


def summary_text(state: dict) -> str:
    """What a heartbeat reads: the ETag (64 hex characters), valid-until (Unix time), emergency alerts."""
    until = datetime.fromisoformat(state["valid_until"]).timestamp()
    return f"{state['etag']} {until:.0f} {json.dumps(state['emergency_alerts'], separators=(',', ':'))}"


def parse_summary(text) -> tuple[str, float, list]:
    if isinstance(text, bytes):
        text = text.decode()
    etag, until, alerts = text.split(" ", 2)
    return etag, float(until), json.loads(alerts)


def publish(states: dict, names: dict | None = None) -> None:
    """Store built states (screen id -> state) and the screens' names (screen id -> name, for the lean full
    fetch); one round trip for a batch."""
    if not states:
        return
    redis = kv.client()
    if redis is None:
        cache.set_many(
            {
                **{state_key(pk): state for pk, state in states.items()},
                **{summary_key(pk): summary_text(state) for pk, state in states.items()},
            },
            STATE_SECONDS,
        )
        return
    pipeline = redis.pipeline(transaction=False)
    texts: dict = {}  # screens of one shape share their state (build_states): serialized once
    for pk, state in states.items():
        if id(state) not in texts:
            texts[id(state)] = (json.dumps(state, separators=(",", ":")), summary_text(state))
        whole, summary = texts[id(state)]
        pipeline.set(kv.key(state_key(pk)), whole, ex=STATE_SECONDS)
        pipeline.set(kv.key(summary_key(pk)), summary, ex=STATE_SECONDS)
    for pk, name in (names or {}).items():
        pipeline.set(kv.key(name_key(pk)), name, ex=STATE_SECONDS)
    due = {str(pk): datetime.fromisoformat(state["valid_until"]).timestamp() for pk, state in states.items()}
    pipeline.zadd(kv.key(DUE), due)
    pipeline.execute()


def stored_state(screen_id) -> dict | None:
    """The last published state of a screen, expired or not."""
    redis = kv.client()
    if redis is None:
        return cache.get(state_key(screen_id))
    raw = redis.get(kv.key(state_key(screen_id)))
    return None if raw is None else json.loads(raw)


def current_state(screen, at: datetime | None = None) -> dict:
    """The published state if it still holds, else one built now (and published)."""
    at = at or timezone.now()
    state = stored_state(screen.pk)
    if state is None or datetime.fromisoformat(state["valid_until"]) <= at:
        state = build_state(screen, at)
        publish({screen.pk: state}, {screen.pk: screen.name})
    return state


# --- rebuilding off the request path -----------------------------------------------------------------------


def screens_mark(screen_ids) -> None:
    """Mark screens whose playlist may have changed and have them rebuilt by the task (at once without
    Redis). Enqueues the task unless one is already queued."""
    ids = [str(pk) for pk in screen_ids]
    if not ids:
        return
    redis = kv.client()
    if redis is None:
        _rebuild(ids, timezone.now())
        return
    redis.sadd(kv.key(DIRTY), *ids)
    if redis.set(kv.key(QUEUED), "1", nx=True, ex=30):
        from .tasks import rebuild_playlists

        rebuild_playlists.delay()


def _rebuild(ids: list[str], at: datetime) -> int:
    screens = Screen.objects.unscoped("the playlists of screens the caller holds, by their ids")
    screens = list(screens.filter(pk__in=ids).select_related("place").only(*SCREEN_FIELDS, *PLACE_FIELDS))
    publish(build_states(screens, at), {screen.pk: screen.name for screen in screens})
    return len(screens)


def playlists_rebuild(*, max_seconds: float = 50.0) -> int:
    """Rebuild the marked screens and those whose state expired, batch by batch, until none is left (or
    the time is up: the next run goes on). Marked screens go soonest heartbeat first (`rebuild_order`). One
    run at a time; a screen stays marked until its batch starts, so a run that dies leaves it for the next.
    Returns how many states were built."""
    redis = kv.client()
    if redis is None:
        return 0
    redis.delete(kv.key(QUEUED))
    if not redis.set(kv.key(RUNNING), "1", nx=True, ex=int(max_seconds) + 30):
        return 0  # the running one takes the marks as it goes
    built, deadline = 0, clock.monotonic() + max_seconds
    try:
        while clock.monotonic() < deadline:
            now = timezone.now()
            due = redis.zrangebyscore(kv.key(DUE), "-inf", now.timestamp(), start=0, num=BATCH)
            if due:
                redis.zrem(kv.key(DUE), *due)
                built += _rebuild(sorted(pk.decode() for pk in due), now)
            marked = [pk.decode() for pk in redis.smembers(kv.key(DIRTY))]
            if not due and not marked:
                break
            for batch in rebuild_order(marked):
                if clock.monotonic() >= deadline:
                    break
                redis.srem(kv.key(DIRTY), *batch)  # a mark made from now on is rebuilt again
                built += _rebuild(batch, timezone.now())
    finally:
        redis.delete(kv.key(RUNNING))
    return built


FIRST_BATCH = 100  # published within moments of a change: the players due to heartbeat next
ORDER_CHUNK = 10000  # screen ids per query (PostgreSQL takes at most 65,535 parameters)


def rebuild_order(screen_ids: list[str]) -> list[list[str]]:
    """Marked screens in batches, the screens whose players are due to heartbeat soonest first (last seen,
    from the lean path's buffer or the database, plus the player's own interval), then screens without a
    player. A player learns of its new playlist at its next heartbeat: a screen rebuilt before that
    heartbeat costs its player nothing, one rebuilt just after costs it a whole interval. So the last
    player has its new playlist about one interval after the change, not the rebuild's duration plus one
    interval. One query per 10,000 screens for the players, one Redis round trip for their buffered
    heartbeats."""
    from apps.accounts.models import DEFAULT_HEARTBEAT_INTERVAL

    from .models import Device, jittered_interval
    from .records import SEEN

    if not screen_ids:
        return []
    players = []
    for start in range(0, len(screen_ids), ORDER_CHUNK):
        players += (
            Device.objects.unscoped("the players of screens marked for a rebuild, by their ids")
            .filter(screen_id__in=screen_ids[start : start + ORDER_CHUNK])
            .values_list("pk", "screen_id", "uuid", "last_seen_at", "fleet__heartbeat_interval")
        )
    redis = kv.client()
    buffered = [None] * len(players)
    if redis is not None and players:
        buffered = redis.hmget(kv.key(SEEN), [pk for pk, *_ in players])
    due: dict[str, float] = {}
    for (_, screen_id, uuid, last_seen, interval), recent in zip(players, buffered, strict=True):
        seen = max(float(recent) if recent else 0.0, last_seen.timestamp() if last_seen else 0.0)
        at = seen + jittered_interval(interval or DEFAULT_HEARTBEAT_INTERVAL, uuid)
        key = str(screen_id)
        due[key] = min(at, due.get(key, math.inf))
    ordered = sorted(screen_ids, key=lambda pk: due.get(pk, math.inf))
    head = ordered[:FIRST_BATCH]
    return [head] * bool(head) + [ordered[start : start + BATCH] for start in range(FIRST_BATCH, len(ordered), BATCH)]
