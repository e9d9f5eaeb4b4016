"""HTML screenshot campaigns (`adupdater`, SPEC 4.5): the page's screenshot is the broadcast's media.

The first screenshot is taken when the campaign is written (a task after commit) and again by the beat
task whenever the campaign has none that matches its parameters (url, geometry); the screenshot is a URL
media with a refresh time, so the media refresh task captures the page again on schedule, records a
failure on the media and keeps the previous picture. Players download a new picture like any changed
media (same media id, new file hash).
"""

import contextlib
import math

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from apps.accounts.content import fleet_content_changed
from apps.media.models import Media
from apps.media.services import media_create_from_capture, media_delete

from .models import Ad, AdStatus, Broadcast
from .services import fleet_today, is_screenshot_of


def _parameters(ad: Ad) -> tuple[str, int, int, int, int]:
    """(url, width, height, display seconds, refresh minutes) of an adupdater campaign."""
    parameters = ad.adupdater["parameters"]
    width, height = parameters["geometry"]
    minutes = max(1, math.ceil(int(ad.adupdater["refresh_time"]) / 60))  # media refresh times are minutes
    return parameters["url"], int(width), int(height), int(parameters["duration"]), minutes


def screenshot_matches(media: Media | None, ad: Ad) -> bool:
    if media is None or not is_screenshot_of(media, ad):
        return False
    url, width, height, _, _ = _parameters(ad)
    capture = media.metadata["capture"]
    return capture.get("url") == url and capture.get("geometry") == [width, height]


def adupdater_screenshot(*, ad_id) -> str:
    """Give an adupdater campaign a screenshot media that matches its parameters. Idempotent: returns
    "current" when it has one (its display and refresh times kept in step), "captured" after a new one,
    "failed" (the reason kept on the campaign), "superseded" (changed meanwhile) or "gone"."""
    ad = Ad.objects.select_related("fleet").filter(pk=ad_id, adupdater__isnull=False).first()
    broadcast = ad and ad.broadcasts.select_related("media").order_by("order", "created").first()
    if broadcast is None:
        return "gone"
    url, width, height, duration, minutes = _parameters(ad)
    current = broadcast.media
    now = timezone.now()
    if screenshot_matches(current, ad):
        if (current.display_time, current.refresh_time) != (duration, minutes):
            Media.objects.filter(pk=current.pk).update(
                display_time=duration, refresh_time=minutes, next_refresh_at=now
            )  # fmt: skip
            fleet_content_changed(ad.fleet_id)
        return "current"
    try:
        media = media_create_from_capture(
            fleet=ad.fleet, url=url, width=width, height=height, display_time=duration, refresh_time=minutes,
            name=f"Screenshot: {ad.name}"[:255], owner={"ad": str(ad.pk)},
        )  # fmt: skip
    except ValidationError as error:
        Ad.objects.filter(pk=ad.pk).update(adupdater_error=" ".join(error.messages), adupdater_checked_at=now)
        return "failed"
    with transaction.atomic():
        attached = Broadcast.objects.filter(pk=broadcast.pk, media=current).update(media=media)
        if attached:
            Ad.objects.filter(pk=ad.pk).update(adupdater_error="", adupdater_checked_at=now)
            fleet_content_changed(ad.fleet_id)
    if not attached:
        media_delete(media=media)
        return "superseded"
    if current is not None and is_screenshot_of(current, ad):
        with contextlib.suppress(ValidationError):  # still shown elsewhere: kept
            media_delete(media=current)  # the screenshot of the old parameters
    return "captured"


def adupdater_due() -> list[str]:
    """Ids of the live adupdater campaigns without a screenshot that matches their parameters."""
    broadcasts = (
        Broadcast.objects.filter(ad__adupdater__isnull=False, ad__status=AdStatus.ACTIVE)
        .select_related("ad__fleet", "media")
        .order_by("ad_id", "order", "created")
    )
    due = []
    for broadcast in broadcasts:
        ad = broadcast.ad
        if str(ad.pk) in due or (ad.campaign_enddate and ad.campaign_enddate < fleet_today(ad.fleet)):
            continue
        if not screenshot_matches(broadcast.media, ad):
            due.append(str(ad.pk))
    return due
