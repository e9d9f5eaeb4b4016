"""Data feeds: JSON documents of a fleet that conditions compare against (apps/ads/conditions.py).

A feed is fetched through the SSRF-safe fetcher (apps/media/fetching.py) when it is created or its URL
changes (so a URL that cannot be fetched is a 400 and nothing is stored), then every `refresh_time`
seconds by the beat task `data-feeds-refresh`. The last good value is kept with the time it was fetched;
a failed fetch keeps it and records the error. Staleness rule: a value older than `max_age` seconds is
stale, and a condition on a stale (or never fetched) feed does not hold, so its content does not play.
"""

import json
import os
from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from apps.accounts.content import fleet_content_changed
from apps.accounts.models import Fleet
from apps.media.fetching import FetchError, fetch
from signage.arguments import UNCHANGED, Unchanged, given
from signage.errors import field_error

from .models import DataFeed

MAX_FEED_BYTES = 1024 * 1024


def _download(url: str):
    """The JSON document at `url`. Raises FetchError with a message fit for the client."""
    fetched = fetch(url, headers={"Accept": "application/json"})
    if fetched.status != 200:
        raise FetchError(f"The feed answered HTTP {fetched.status}.")
    try:
        if fetched.size > MAX_FEED_BYTES:
            raise FetchError(f"The feed is larger than the {MAX_FEED_BYTES} bytes accepted.")
        with open(fetched.path, "rb") as body:
            try:
                return json.loads(body.read())
            except (ValueError, UnicodeDecodeError) as error:
                raise FetchError("The feed is not a JSON document.") from error
    finally:
        os.unlink(fetched.path)


@transaction.atomic
def data_feed_save(
    *,
    fleet: Fleet,
    feed: DataFeed | None = None,
    name: str | Unchanged = UNCHANGED,
    source_url: str | Unchanged = UNCHANGED,
    refresh_time: int | Unchanged = UNCHANGED,
    max_age: int | Unchanged = UNCHANGED,
) -> DataFeed:
    """Create or change a feed (only the fields given; left out on creation: the model's default); a new URL
    is fetched at once (a URL that cannot be fetched is a 400)."""
    values = given(name=name, source_url=source_url, refresh_time=refresh_time, max_age=max_age)
    feed = feed or DataFeed(fleet=fleet)
    url_changed = "source_url" in values and values["source_url"] != feed.source_url
    for field, value in values.items():
        setattr(feed, field, value)
    now = timezone.now()
    if url_changed:
        try:
            feed.data = _download(feed.source_url)
        except FetchError as error:
            raise field_error("source_url", str(error)) from None
        feed.fetched_at, feed.last_error = now, ""
    feed.next_fetch_at = (feed.fetched_at or now) + timedelta(seconds=feed.refresh_time)
    feed.save()
    return feed


def data_feeds_due(now=None) -> list[int]:
    now = now or timezone.now()
    return list(DataFeed.objects.filter(next_fetch_at__lte=now).values_list("pk", flat=True))


def data_feed_refresh(*, feed_id: int) -> str:
    """Fetch a feed again (idempotent: a second run stores the same value). Returns what happened."""
    feed = DataFeed.objects.filter(pk=feed_id).first()
    if feed is None:
        return "gone"
    now = timezone.now()
    try:
        data = _download(feed.source_url)
    except FetchError as error:
        DataFeed.objects.filter(pk=feed_id).update(
            last_error=str(error)[:500], next_fetch_at=now + timedelta(seconds=feed.refresh_time)
        )
        return "failed"
    changed = data != feed.data
    feed.data, feed.fetched_at, feed.last_error = data, now, ""
    feed.next_fetch_at = now + timedelta(seconds=feed.refresh_time)
    with transaction.atomic():
        feed.save(update_fields=["data", "fetched_at", "last_error", "next_fetch_at", "modified"])
        if changed:  # an unchanged value keeps the cached playlists (they expire with the value's max_age)
            fleet_content_changed(feed.fleet_id)
    return "changed" if changed else "fetched"
