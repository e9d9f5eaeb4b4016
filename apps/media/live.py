"""Reference 002's content types, in this API's conventions: media that players show live.

- `web`: a web page. The web player shows it live in a sandboxed frame; its file is a capture of the page
  (a picture, taken like an HTML media's, refreshed with `refresh_time`), which players that cannot show
  web pages play instead.
- `youtube`: a YouTube video by its id (11 characters), or any YouTube watch, youtu.be, embed or shorts
  URL it is read from. No file: players embed it (the web player through the privacy-enhanced
  youtube-nocookie.com embed).
- `livestream`: an HLS stream (an `.m3u8` playlist URL), checked at creation: it must answer an HLS
  playlist (`#EXTM3U`). No file: players play the stream.

Each needs a `display_time` (seconds in the loop): a page and a stream have no end, and a YouTube video's
length is not known without calling YouTube, so it plays for its display time (cut, or looped when
shorter). Every URL goes through the fetcher's address checks (`fetching.check_url`): private, loopback
and link-local destinations are refused as for URL media, also for what only players will fetch.
"""

import os
import re
from urllib.parse import parse_qs, urlsplit

from django.conf import settings
from django.utils import timezone

from apps.accounts.models import Fleet
from signage.errors import field_error

from .fetching import FetchError, check_url, fetch
from .models import Media, MediaType
from .services import REFRESH_REFUSED, display_time_clean, media_create_from_capture

YOUTUBE_ID = re.compile(r"^[A-Za-z0-9_-]{11}$")
YOUTUBE_HOSTS = {"youtube.com", "www.youtube.com", "m.youtube.com", "youtube-nocookie.com", "www.youtube-nocookie.com"}
YOUTUBE_PATH = re.compile(r"^/(?:embed|shorts|live|v)/([^/?#]+)")
YOUTUBE_MESSAGE = (
    "A YouTube video is given by its 11-character id (letters, digits, '-' and '_', e.g. 'aqz-KE-bpKQ') "
    "or by a YouTube watch, youtu.be, embed or shorts URL."
)
HLS_MIME = "application/vnd.apple.mpegurl"
HLS_MAX_BYTES = 1024 * 1024  # a playlist, not the stream


def youtube_id_of(value: str, field: str = "youtube_id") -> str:
    """The video id in `value` (an id, or a YouTube URL); a 400 on `field` otherwise."""
    value = (value or "").strip()
    if YOUTUBE_ID.match(value):
        return value
    candidate = ""
    try:
        parts = urlsplit(value)
        host = (parts.hostname or "").lower()
    except ValueError:
        raise field_error(field, YOUTUBE_MESSAGE) from None
    if parts.scheme.lower() in ("http", "https"):
        if host == "youtu.be":
            candidate = parts.path.strip("/").split("/")[0]
        elif host in YOUTUBE_HOSTS:
            match = YOUTUBE_PATH.match(parts.path)
            candidate = match[1] if match else (parse_qs(parts.query).get("v") or [""])[0]
    if YOUTUBE_ID.match(candidate):
        return candidate
    raise field_error(field, YOUTUBE_MESSAGE)


def _checked(url: str, field: str) -> str:
    try:
        check_url(url)
    except FetchError as error:
        raise field_error(field, str(error)) from None
    return url


def _check_hls(url: str, field: str) -> dict:
    """Fetch the stream's playlist (through the SSRF-safe fetcher) and check that it is one."""
    try:
        fetched = fetch(
            url,
            {"Accept": f"{HLS_MIME}, application/x-mpegurl, */*"},
            timeout=min(10, settings.SIGNAGE_MEDIA_FETCH_TIMEOUT),
            limit=HLS_MAX_BYTES,
        )
    except FetchError as error:
        raise field_error(field, str(error)) from None
    if fetched.path:
        os.unlink(fetched.path)
    if fetched.status != 200:
        raise field_error(field, f"The stream's URL answered HTTP {fetched.status}.")
    head = fetched.head.lstrip(b"\xef\xbb\xbf \t\r\n")
    if not head.startswith(b"#EXTM3U"):
        raise field_error(field, "The URL does not serve an HLS playlist (.m3u8 starting with #EXTM3U).")
    return {"checked_at": timezone.now().isoformat(), "variants": head.count(b"#EXT-X-STREAM-INF")}


def media_create_live(
    *,
    fleet: Fleet,
    kind: str,
    url: str = "",
    youtube_id: str = "",
    field: str = "url",
    display_time: int | None = None,
    refresh_time: int | None = None,
    validity_time: int | None = None,
    name: str = "",
    folder: str = "",
    author=None,
) -> Media:
    """A web page, YouTube video or live stream of `fleet` (see the module's docstring). `field` names the
    request field the URL came in, for errors. Bad input is a ValidationError, nothing stored."""
    if kind not in (MediaType.WEB, MediaType.YOUTUBE, MediaType.LIVESTREAM):
        raise field_error("type", f"'{kind}' is not a content type given by URL or id.")
    display_time = display_time_clean(kind=kind, display_time=display_time)
    if refresh_time and kind != MediaType.WEB:
        raise field_error("refresh_time", REFRESH_REFUSED)
    if kind == MediaType.WEB:
        width, height = settings.SIGNAGE_CAPTURE_GEOMETRY
        return media_create_from_capture(
            fleet=fleet, url=_checked(url, field), width=width, height=height, field=field, kind=MediaType.WEB,
            display_time=display_time, refresh_time=refresh_time, validity_time=validity_time, name=name,
            folder=folder, author=author,
        )  # fmt: skip
    now = timezone.now()
    if kind == MediaType.YOUTUBE:
        video = youtube_id_of(youtube_id or url, "youtube_id" if youtube_id else field)
        values = {
            "source_url": f"https://www.youtube.com/watch?v={video}",
            "mime_type": "text/html",
            "metadata": {"youtube_id": video},
            "name": name or f"YouTube {video}",
        }
    else:
        stream = _check_hls(_checked(url, field), field)
        values = {
            "source_url": url,
            "mime_type": HLS_MIME,
            "metadata": {"hls": stream},
            "name": name or f"Stream {urlsplit(url).hostname}"[:255],
        }
    media = Media(
        fleet=fleet,
        author=author,
        type=kind,
        folder=folder,
        display_time=display_time,
        validity_time=validity_time,
        size=0,
        checksum="",
        last_successful_update=now,
        last_checked_at=now,
        **values,
    )
    media.full_clean(exclude=["file", "thumbnail", "checksum", "source_url"])
    media.save()
    return media
