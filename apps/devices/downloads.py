"""Players' media downloads: the one place where a media file becomes a response, and the file facts that the
lean path (`lean.download`) serves a download from without SQL.

A download URL is signed for a device, a media and an expiry (`services.download_url`). The full view
(`protocol.ContentDownloadView`) checks through the database that the device's screen needs the media, then
`remember_file`s the file's facts (storage name, type, checksum) in Redis under the media's content id. Later
downloads of that media, by any player, are answered by `lean.download` from those facts, the device's screen
(`records.screen_key`) and the screen's published state. A media saved or deleted is forgotten at once and
again after commit (signals.py), so a replaced file is never served from stale facts.

With SIGNAGE_DOWNLOAD_ACCEL_REDIRECT set (production behind nginx), a checked download is handed to the web
server: an empty response with `X-Accel-Redirect: <prefix><storage name>`, and nginx serves the bytes (and
their ranges) from an `internal` location, so a worker spends nothing on them.
"""

import json
import re
from typing import NamedTuple
from urllib.parse import quote

from django.conf import settings
from django.core.files.storage import default_storage
from django.db import transaction
from django.http import FileResponse, HttpResponse

from apps.media.models import parse_public_id
from signage import kv

from . import services

FILE_SECONDS = 24 * 3600  # facts unused for a day are dropped; the next download goes the full way
NUMBER = re.compile(r"^[0-9]{1,18}$")


class SignedDownload(NamedTuple):
    media_type: str
    media_id: int
    device_id: int


def signed_download(*, content_id: str, device: str, expires: str, signature: str, now: float):
    """The media and player a signed download URL names, once its expiry and signature are checked; else why
    it is refused: "malformed" (a 404), "expired" or "invalid_signature" (403s). The full view and the lean
    path both check a URL with it."""
    parsed = parse_public_id(content_id)
    if parsed is None or not NUMBER.match(device) or not NUMBER.match(expires):
        return "malformed"
    if int(expires) < now:
        return "expired"
    if not services.download_signature_matches(int(device), parsed[1], int(expires), signature):
        return "invalid_signature"
    return SignedDownload(parsed[0], parsed[1], int(device))


def file_key(content_id: str) -> str:
    return f"media-file:{content_id}"


def remember_file(*, content_id: str, name: str, mime_type: str, checksum: str) -> None:
    redis = kv.client()
    if redis is not None:
        facts = json.dumps({"name": name, "mime": mime_type, "checksum": checksum})
        redis.set(kv.key(file_key(content_id)), facts, ex=FILE_SECONDS)


def forget_file(content_id: str) -> None:
    """Drop a media's facts now and once the transaction commits (a download served in between read the
    database before the commit)."""
    redis = kv.client()
    if redis is not None:
        key = kv.key(file_key(content_id))
        redis.delete(key)
        transaction.on_commit(lambda: redis.delete(key))


def whole_file_response(*, name: str, mime_type: str, checksum: str) -> HttpResponse:
    """A whole media file: streamed by the worker (gunicorn sends it with sendfile), or handed to the web
    server when SIGNAGE_DOWNLOAD_ACCEL_REDIRECT names its internal location."""
    prefix = settings.SIGNAGE_DOWNLOAD_ACCEL_REDIRECT
    if prefix:
        response = HttpResponse(content_type=mime_type)
        response["X-Accel-Redirect"] = prefix + quote(name)
    else:
        response = FileResponse(default_storage.open(name, "rb"), content_type=mime_type)
    response["Accept-Ranges"] = "bytes"
    response["ETag"] = f'"{checksum}"'
    return response
