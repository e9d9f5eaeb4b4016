"""A screen's playlist as players get it, cached per screen under the fleet's content token.

The state holds the loop now, the media to have within the look-ahead window (default 48 h: players
pre-load tomorrow's campaigns), the emergency alerts and the instant until which all of this holds (the
next display-period or opening-hours boundary, midnight, a media's validity end). Within that instant
and while the fleet's content token is unchanged, heartbeats and 304s read it without a query.
"""

import hashlib
import json
import zoneinfo
from datetime import datetime, time, timedelta

from django.conf import settings
from django.core.cache import cache
from django.utils import timezone

from apps.accounts.content import fleet_content_token
from apps.broadcasts.loop import build_loop, candidates_for_screens, local_time, screen_state

CACHE_SECONDS = 24 * 3600


def _key(screen_id, token: str) -> str:
    return f"playlist:{screen_id}:{token}"


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
    """The first instant after `at` at which the loop may differ: a boundary of the opening hours or of a
    display period, local midnight, or a media's validity end."""
    zone = zoneinfo.ZoneInfo(screen.timezone or "UTC")
    local = at.astimezone(zone)
    today = local.date()
    moments = [datetime.combine(today + timedelta(days=1), time(0), tzinfo=zone)]
    for week in [screen.opening_hours, *(candidate.display_periods for candidate in candidates)]:
        moments += _boundaries(week, today, zone)
    moments += [candidate.valid_until for candidate in candidates if candidate.valid_until]
    return min(moment for moment in moments if moment > at) if any(m > at for m in moments) else moments[0]


def build_state(screen, at: datetime) -> dict:
    """The playlist state of a screen (a model instance with its fleet) at `at`. Two queries."""
    state = screen_state(screen)
    today = local_time(state, at).date()
    horizon = (at + timedelta(hours=settings.SIGNAGE_DEVICE_LOOKAHEAD_HOURS)).astimezone(
        zoneinfo.ZoneInfo(screen.timezone or "UTC")
    )
    candidates = candidates_for_screens([screen.pk], today, horizon.date())[str(screen.pk)]
    loop = build_loop(state, at, candidates)
    # Everything that may play here before the horizon, whatever the hour: players pre-load it.
    upcoming = {}
    for candidate in candidates:
        if candidate.media_id is None or candidate.status != "active":
            continue
        if candidate.valid_until is not None and candidate.valid_until <= at:
            continue
        if candidate.end is not None and candidate.end < today:
            continue
        upcoming[candidate.media_id] = {
            "content_id": f"{candidate.media_type}-{candidate.media_id}",
            "media_id": candidate.media_id,
            "type": candidate.media_type,
            "file_hash": candidate.file_hash,
            "size": candidate.size,
        }
    items = [
        {
            "order": entry.position,
            "content_id": f"{entry.media_type}-{entry.media_id}",
            "media_id": entry.media_id,
            "type": entry.media_type,
            "duration": entry.duration,
            "file_hash": entry.file_hash,
            "broadcast_id": str(entry.broadcast_id),
            "ad_id": str(entry.ad_id),
            "name": entry.ad_name,
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


def cached_state(screen, at: datetime | None = None) -> dict | None:
    """The cached state if it still holds (content unchanged, before its next change), else None."""
    at = at or timezone.now()
    state = cache.get(_key(screen.pk, fleet_content_token(screen.fleet_id)))
    if state is None or datetime.fromisoformat(state["valid_until"]) <= at:
        return None
    return state


def current_state(screen, at: datetime | None = None) -> dict:
    at = at or timezone.now()
    state = cached_state(screen, at)
    if state is None:
        token = fleet_content_token(screen.fleet_id)
        state = build_state(screen, at)
        cache.set(_key(screen.pk, token), state, CACHE_SECONDS)
    return state
