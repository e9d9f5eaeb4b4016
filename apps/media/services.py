import hashlib
import io
import os
import re
import tempfile
import uuid
from contextlib import contextmanager
from datetime import timedelta
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files import File
from django.core.files.base import ContentFile
from django.core.files.storage import storages
from django.db import transaction
from django.db.models import ProtectedError, Q
from django.http import Http404
from django.utils import timezone
from django.utils.text import slugify
from PIL import Image, ImageOps

from apps.accounts.content import fleet_content_changed
from apps.accounts.models import Fleet
from signage.arguments import UNCHANGED, Unchanged, given
from signage.errors import DomainError, field_error

from .capture import CaptureError, capture_page
from .fetching import FetchError, fetch
from .models import WITHOUT_FILE, Media, MediaType
from .probing import PICTURE, InvalidMedia, Probe, probe_file, probe_picture, sniff

FOLDER = re.compile(r"^[A-Za-z0-9 _-]+(/[A-Za-z0-9 _-]+)*$")
HTML = "html"  # a page: captured as a picture
REFRESH_REFUSED = "Only media created from a URL (or a web page's capture) can be refreshed."
CONTENT_TYPES = {"image/": PICTURE, "video/": MediaType.VIDEO, "application/pdf": MediaType.PDF}


class NoExternalStorage(DomainError):
    """A 403: the fleet has no external storage to read from."""

    def __init__(self):
        super().__init__({"detail": "This fleet has no external storage.", "code": "no_external_storage"}, 403)


@contextmanager
def _spooled(upload):
    """The upload copied to a temporary file (path, sha256, size), removed afterwards."""
    digest, size = hashlib.sha256(), 0
    with tempfile.NamedTemporaryFile(prefix="signage-upload-", delete=False) as out:
        for chunk in upload.chunks():
            digest.update(chunk)
            size += len(chunk)
            out.write(chunk)
    try:
        yield out.name, digest.hexdigest(), size
    finally:
        os.unlink(out.name)


def display_time_clean(*, kind: str, display_time: int | None) -> int | None:
    """The display time a media of this type stores: pictures, PDFs and pages need one (seconds); a video
    plays for its own duration and keeps none."""
    if kind == MediaType.VIDEO:
        return None
    if not display_time:
        raise field_error("display_time", f"A {kind} needs a display_time (seconds).", "required")
    return display_time


def _store(media: Media, path: str, probe: Probe, checksum: str, size: int) -> None:
    """Fill `media` from a probed file and save it with its file and thumbnail. If the row cannot be
    saved, the files just written are removed: no orphan file is left behind."""
    media.type, media.mime_type = probe.type, probe.mime_type
    media.width, media.height, media.duration = probe.width, probe.height, probe.duration
    media.metadata, media.checksum, media.size = probe.metadata, checksum, size
    with open(path, "rb") as source:
        media.file.save(f"media.{probe.extension}", File(source), save=False)
    if probe.thumbnail:
        media.thumbnail.save("thumbnail.jpg", ContentFile(probe.thumbnail), save=False)
    if probe.pages:
        media.metadata = {**probe.metadata, "pages": _save_pages(media, probe)}
    try:
        media.full_clean(exclude=["file", "thumbnail", "source_url"])
        media.save()
    except Exception:
        _delete_files(media_files(media))
        raise


def _save_pages(media: Media, probe: Probe) -> list[dict]:
    """A PDF's rendered pages written to storage, described for players: file, size, sha256."""
    storage = storages["default"]
    pages = []
    for number, png in enumerate(probe.pages, start=1):
        name = storage.save(f"pdfpages/{media.fleet_id}/{uuid.uuid4().hex}-{number}.png", ContentFile(png))
        with Image.open(io.BytesIO(png)) as image:
            width, height = image.size
        pages.append(
            {
                "file": name,
                "width": width,
                "height": height,
                "size": len(png),
                "sha256": hashlib.sha256(png).hexdigest(),
            }
        )
    return pages


def media_files(media: Media) -> list[str]:
    """Every file a media has in storage: the file, its thumbnail and, for a PDF, its rendered pages."""
    pages = [page["file"] for page in (media.metadata or {}).get("pages", [])]
    return [media.file.name, media.thumbnail.name, *pages]


def _delete_files(names) -> None:
    storage = storages["default"]
    for name in names:
        if name:
            storage.delete(name)


def _delete_files_after_commit(names) -> None:
    names = [name for name in names if name]
    transaction.on_commit(lambda: _delete_files(names))


def media_create_from_upload(
    *, fleet: Fleet, upload, display_time: int | None = None, name: str = "", folder: str = "", author=None
) -> Media:
    """A media from an uploaded file, typed by its content whatever its name says."""
    if upload.size > settings.SIGNAGE_MEDIA_MAX_UPLOAD_BYTES:
        raise field_error(
            "file", f"The file is larger than the {settings.SIGNAGE_MEDIA_MAX_UPLOAD_BYTES} bytes accepted."
        )
    with _spooled(upload) as (path, checksum, size):
        try:
            probe = probe_file(path)
        except InvalidMedia as error:
            raise field_error("file", str(error)) from None
        display_time = display_time_clean(kind=probe.type, display_time=display_time)
        media = Media(
            fleet=fleet,
            author=author,
            name=name or os.path.basename(upload.name or "") or probe.type,
            folder=folder,
            display_time=display_time,
        )
        _store(media, path, probe, checksum, size)
    return media


def _type_of_response(fetched, field: str) -> str:
    """The media type of a fetched URL: its Content-Type, or its first bytes when that says nothing."""
    content_type = fetched.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type in ("text/html", "application/xhtml+xml"):
        return HTML
    for prefix, kind in CONTENT_TYPES.items():
        if content_type.startswith(prefix):
            return kind
    if content_type in ("", "application/octet-stream", "binary/octet-stream"):
        sniffed = sniff(fetched.head)
        if sniffed is not None:
            return sniffed[0]
    raise field_error(
        field, f"The URL's content ({content_type or 'unknown type'}) is not a picture, a video or a PDF."
    )


def media_create_from_url(
    *,
    fleet: Fleet,
    url: str,
    field: str = "url_origin",
    display_time: int | None = None,
    refresh_time: int | None = None,
    validity_time: int | None = None,
    name: str = "",
    folder: str = "",
    author=None,
) -> Media:
    """A media fetched from `url`; with `refresh_time` (minutes) it is kept up to date."""
    try:
        fetched = fetch(url)
    except FetchError as error:
        raise field_error(field, str(error)) from None
    if fetched.status != 200:
        raise field_error(field, f"The URL answered HTTP {fetched.status}.")
    try:
        kind = _type_of_response(fetched, field)
    except ValidationError:
        os.unlink(fetched.path)
        raise
    if kind == HTML:
        os.unlink(fetched.path)
        width, height = settings.SIGNAGE_CAPTURE_GEOMETRY
        return media_create_from_capture(
            fleet=fleet, url=url, width=width, height=height, field=field, display_time=display_time,
            refresh_time=refresh_time, validity_time=validity_time, name=name, folder=folder, author=author,
        )  # fmt: skip
    try:
        try:
            probe = probe_file(fetched.path, claimed_type=kind)
        except InvalidMedia as error:
            raise field_error(field, str(error)) from None
        display_time = display_time_clean(kind=probe.type, display_time=display_time)
        now = timezone.now()
        media = Media(
            fleet=fleet,
            author=author,
            name=name or os.path.basename(url.split("?")[0].rstrip("/")) or probe.type,
            folder=folder,
            display_time=display_time,
            source_url=url,
            refresh_time=refresh_time,
            validity_time=validity_time,
            etag=fetched.headers.get("etag", "")[:255],
            last_modified_header=fetched.headers.get("last-modified", "")[:100],
            last_successful_update=now,
            last_checked_at=now,
            next_refresh_at=now + timedelta(minutes=refresh_time) if refresh_time else None,
        )
        _store(media, fetched.path, probe, fetched.sha256, fetched.size)
    finally:
        os.unlink(fetched.path)
    return media


def _captured_file(url: str, width: int, height: int, extra: dict | None = None):
    """A capture of the page written to a temporary file (the caller deletes it): (path, probe, sha256,
    size, the capture's metadata). Raises CaptureError."""
    capture = capture_page(url, width=width, height=height)
    with tempfile.NamedTemporaryFile(prefix="signage-capture-", suffix=".png", delete=False) as out:
        out.write(capture.png)
    try:
        probe = probe_picture(out.name, "image/png", "png")
    except InvalidMedia as error:
        os.unlink(out.name)
        raise CaptureError(str(error)) from None
    metadata = {
        **(extra or {}),
        "url": url,
        "geometry": [width, height],
        "captured_at": timezone.now().isoformat(),
        "requests": capture.requests,
        "blocked": capture.blocked[:50],
    }
    return out.name, probe, hashlib.sha256(capture.png).hexdigest(), len(capture.png), metadata


def media_create_from_capture(
    *,
    fleet: Fleet,
    url: str,
    width: int,
    height: int,
    field: str = "url",
    display_time: int | None = None,
    refresh_time: int | None = None,
    validity_time: int | None = None,
    name: str = "",
    folder: str = "",
    author=None,
    owner: dict | None = None,
    kind: str = PICTURE,
) -> Media:
    """A picture of the HTML page at `url`, rendered at `width` x `height` (SPEC 4.4). With `refresh_time`
    (minutes) the page is captured again on schedule; `owner` is kept in the capture's metadata (the
    campaign an adupdater screenshot belongs to). A page that cannot be captured is a 400 on `field`.
    `kind` "web" makes it a web page (reference 002): shown live where players can, the capture elsewhere."""
    display_time = display_time_clean(kind=kind, display_time=display_time)
    try:
        path, probe, checksum, size, capture = _captured_file(url, width, height, owner)
    except CaptureError as error:
        raise field_error(field, str(error)) from None
    now = timezone.now()
    try:
        probe.type = kind
        probe.metadata = {**probe.metadata, "capture": capture}
        media = Media(
            fleet=fleet,
            author=author,
            name=name or f"Page {urlsplit(url).hostname or url}"[:255],
            folder=folder,
            display_time=display_time,
            source_url=url,
            refresh_time=refresh_time,
            validity_time=validity_time,
            last_successful_update=now,
            last_checked_at=now,
            next_refresh_at=now + timedelta(minutes=refresh_time) if refresh_time else None,
        )
        _store(media, path, probe, checksum, size)
    finally:
        os.unlink(path)
    return media


def media_refresh(*, media_id: int) -> str:
    """Re-check a URL media with a conditional request and replace its file when it changed.

    Safe to run twice at once: a lease taken with one UPDATE lets a single run fetch; the others return
    "busy". Only the refresh's own columns are written, so a concurrent PATCH (name, times) is not lost,
    and only if the file did not change meanwhile (a transform or a deletion wins: "superseded"). On a
    failure (an error status, a type change, an unreadable file) the old file is kept and the failure
    recorded. Returns "busy", "unchanged", "updated", "failed" or "superseded".
    """
    now = timezone.now()
    lease = now + timedelta(seconds=settings.SIGNAGE_MEDIA_FETCH_TIMEOUT + 60)
    claimed = (
        Media.objects.filter(pk=media_id)
        .exclude(source_url="")
        .exclude(type__in=WITHOUT_FILE)  # a YouTube video or a live stream has nothing to fetch
        .filter(Q(refresh_lease_until__isnull=True) | Q(refresh_lease_until__lt=now))
        .update(refresh_lease_until=lease)
    )
    if not claimed:
        return "busy"
    media = Media.objects.get(pk=media_id)
    conditional = {}
    if media.etag:
        conditional["If-None-Match"] = media.etag
    if media.last_modified_header:
        conditional["If-Modified-Since"] = media.last_modified_header
    changes = {
        "refresh_lease_until": None,
        "last_checked_at": now,
        "next_refresh_at": now + timedelta(minutes=media.refresh_time) if media.refresh_time else None,
    }
    outcome, old_files, new_files = "unchanged", [], []
    try:
        refresh = _refresh_capture if (media.metadata or {}).get("capture") else _refresh_fetch
        outcome, old_files, new_files = refresh(media, conditional, changes)
        changes.update(last_successful_update=now, last_error="", last_error_at=None, consecutive_failures=0)
    except (FetchError, CaptureError) as error:
        outcome = "failed"
        changes.update(last_error=str(error), last_error_at=now, consecutive_failures=media.consecutive_failures + 1)
    except BaseException:
        Media.objects.filter(pk=media_id).update(refresh_lease_until=None)  # let the next run try again
        raise
    with transaction.atomic():
        # Written only if the file is still the one this run started from: a transform or a deletion
        # meanwhile wins, and this run's new files are removed instead of the old ones.
        written = Media.objects.filter(pk=media_id, file=media.file.name).update(**changes)
        if not written:
            _delete_files_after_commit(new_files)
            Media.objects.filter(pk=media_id).update(refresh_lease_until=None)
            return "superseded"
        _delete_files_after_commit(old_files)
        if outcome == "updated" or changes.get("last_successful_update"):
            fleet_content_changed(media.fleet_id)  # new file or a later validity
    return outcome


def _refresh_fetch(media: Media, conditional: dict, changes: dict) -> tuple[str, list, list]:
    """A URL media's file fetched again (conditionally): its new columns go into `changes`."""
    outcome, old_files, new_files = "unchanged", [], []
    fetched = fetch(media.source_url, conditional)
    if fetched.status not in (200, 304):
        raise FetchError(f"The URL answered HTTP {fetched.status}.")
    if fetched.status == 200:
        try:
            kind = _type_of_response(fetched, "url")
            if kind != media.type:
                raise FetchError(f"The URL now serves a {kind}; a refreshed media must stay a {media.type}.")
            if fetched.sha256 != media.checksum:
                probe = probe_file(fetched.path, claimed_type=media.type)
                old_files = media_files(media)
                changes.update(_saved_files(media, fetched.path, probe, fetched.sha256, fetched.size))
                new_files = _new_files(changes)
                outcome = "updated"
        except (InvalidMedia, ValidationError) as error:
            raise FetchError(_message(error)) from None
        finally:
            os.unlink(fetched.path)
        changes["etag"] = fetched.headers.get("etag", "")[:255]
        changes["last_modified_header"] = fetched.headers.get("last-modified", "")[:100]
    return outcome, old_files, new_files


def _refresh_capture(media: Media, conditional: dict, changes: dict) -> tuple[str, list, list]:
    """A captured page captured again (every time: its scripts and images may change without the page)."""
    previous = media.metadata["capture"]
    width, height = previous["geometry"]
    path, probe, checksum, size, capture = _captured_file(media.source_url, width, height, previous)
    outcome, old_files, new_files = "unchanged", [], []
    try:
        if checksum != media.checksum:
            old_files = media_files(media)
            changes.update(_saved_files(media, path, probe, checksum, size))
            new_files = _new_files(changes)
            outcome = "updated"
    finally:
        os.unlink(path)
    changes["metadata"] = {**probe.metadata, "capture": capture}
    return outcome, old_files, new_files


def _message(error) -> str:
    return " ".join(error.messages) if isinstance(error, ValidationError) else str(error)


def _new_files(changes: dict) -> list[str]:
    return [changes["file"], changes["thumbnail"], *(page["file"] for page in changes["metadata"].get("pages", []))]


def _saved_files(media: Media, path: str, probe: Probe, checksum: str, size: int) -> dict:
    """Write a new file (and thumbnail) for `media` in storage; the columns that point to them."""
    storage = storages["default"]
    with open(path, "rb") as source:
        file_name = storage.save(media.file.field.generate_filename(media, f"media.{probe.extension}"), File(source))
    thumbnail_name = ""
    if probe.thumbnail:
        thumbnail_name = storage.save(
            media.thumbnail.field.generate_filename(media, "thumbnail.jpg"), ContentFile(probe.thumbnail)
        )
    return {
        "file": file_name,
        "thumbnail": thumbnail_name,
        "checksum": checksum,
        "size": size,
        "mime_type": probe.mime_type,
        "width": probe.width,
        "height": probe.height,
        "duration": probe.duration,
        "metadata": {**probe.metadata, "pages": _save_pages(media, probe)} if probe.pages else probe.metadata,
    }


def media_refresh_due(*, limit: int = 500) -> list[int]:
    """Ids of URL media whose refresh is due."""
    now = timezone.now()
    return list(
        Media.objects.filter(refresh_time__isnull=False, next_refresh_at__lte=now)
        .exclude(source_url="")
        .exclude(type__in=WITHOUT_FILE)
        .filter(Q(refresh_lease_until__isnull=True) | Q(refresh_lease_until__lt=now))
        .order_by("next_refresh_at")
        .values_list("pk", flat=True)[:limit]
    )


@transaction.atomic
def media_transform(*, media: Media, x: int, y: int, width: int, height: int, rotation: float = 0) -> Media:
    """Crop a picture to the frame whose top-left corner is (x, y), then rotate it clockwise by
    `rotation` degrees. Same media id; new file, checksum and dimensions."""
    media = _locked(media)
    if media.type != MediaType.PICTURE:
        raise ValidationError(f"Only pictures can be transformed; this media is a {media.type}.", code="invalid")
    with media.file.open("rb") as source, Image.open(source) as original:
        image = ImageOps.exif_transpose(original)
        image_format = original.format or "PNG"
        if x < 0 or y < 0 or x + width > image.width or y + height > image.height:
            raise ValidationError(
                f"The frame {width}x{height} at ({x}, {y}) is outside the {image.width}x{image.height} picture.",
                code="frame_outside",
            )
        result = image.crop((x, y, x + width, y + height))
        if rotation % 360:
            if image_format == "JPEG" and result.mode not in ("RGB", "L"):
                result = result.convert("RGB")
            result = result.rotate(-rotation, expand=True)
        out = io.BytesIO()
        if image_format == "JPEG" and result.mode not in ("RGB", "L"):
            result = result.convert("RGB")
        result.save(out, image_format)
    with tempfile.NamedTemporaryFile(prefix="signage-transform-", delete=False) as temp:
        temp.write(out.getvalue())
    try:
        try:
            probe = probe_picture(temp.name, media.mime_type, media.file.name.rsplit(".", 1)[-1])
        except InvalidMedia as error:
            raise ValidationError(str(error), code="invalid") from None
        old_files = media_files(media)
        columns = _saved_files(media, temp.name, probe, hashlib.sha256(out.getvalue()).hexdigest(), len(out.getvalue()))
    finally:
        os.unlink(temp.name)
    for column, value in columns.items():
        setattr(media, column, value)
    media.save()
    _delete_files_after_commit(old_files)
    return media


def clean_folder(value: str) -> str:
    """Reference 000: letters without accents, digits, `-`, `_` and space, `/` between folders."""
    value = (value or "").strip()
    if value and not FOLDER.match(value):
        raise field_error(
            "folder",
            "A folder may contain only letters without accents, digits, '-', '_' and spaces, "
            "with '/' between folders (e.g. 'main-folder 2/medias/my_images').",
        )
    return value


def fleet_external_storage(fleet: Fleet):
    if not fleet.external_storage:
        raise NoExternalStorage()
    return storages.create_storage(fleet.external_storage)


def _locked(media: Media) -> Media:
    """The media's row, locked until the transaction ends, as it is now: a transform, a share or a
    deletion of one media runs after the other, never on a file the other has just replaced or
    removed. Gone meanwhile: a 404, as if it had been gone before the request."""
    locked = (
        Media.objects.of_fleet(media.fleet_id).select_for_update().select_related("fleet").filter(pk=media.pk).first()
    )
    if locked is None:
        raise Http404
    return locked


@transaction.atomic
def media_share_external(*, media: Media, folder: str = "") -> Media:
    """Copy the media's file into its fleet's external storage, under `folder`."""
    media = _locked(media)
    storage = fleet_external_storage(media.fleet)
    if not media.file:
        raise ValidationError(f"A {media.type} has no file to share.", code="invalid")
    folder = clean_folder(folder)
    extension = media.file.name.rsplit(".", 1)[-1]
    filename = f"{slugify(media.name.rsplit('.', 1)[0]) or media.type}.{extension}"
    with media.file.open("rb") as source:
        path = storage.save(f"{folder}/{filename}" if folder else filename, File(source))
    Media.objects.filter(pk=media.pk).update(external_path=path)  # not content: players do not care
    media.external_path = path
    return media


def media_update(
    *,
    media: Media,
    name: str | Unchanged = UNCHANGED,
    folder: str | Unchanged = UNCHANGED,
    display_time: int | Unchanged | None = UNCHANGED,
    refresh_time: int | Unchanged | None = UNCHANGED,
    validity_time: int | Unchanged | None = UNCHANGED,
) -> Media:
    """Change what a media's file does not decide (only the fields given): a picture or PDF keeps a display
    time, only a URL media refreshes (its next refresh counted from now)."""
    values = given(
        name=name, folder=folder, display_time=display_time, refresh_time=refresh_time, validity_time=validity_time
    )
    for field, value in values.items():
        setattr(media, field, value)
    display_time_clean(kind=media.type, display_time=media.display_time)  # checked, a video's left as it is
    if "refresh_time" in values:
        if values["refresh_time"] and not media.refreshable:
            raise field_error("refresh_time", REFRESH_REFUSED)
        media.next_refresh_at = timezone.now() + timedelta(minutes=media.refresh_time) if media.refresh_time else None
    media.full_clean(exclude=["file", "thumbnail", "source_url", "checksum"])  # no checksum: no file (youtube)
    media.save(update_fields=[*values, "next_refresh_at", "modified"])
    return media


@transaction.atomic
def media_delete(*, media: Media) -> None:
    """Delete a media and its files; refused while a broadcast shows it (its foreign key protects it)."""
    media = _locked(media)
    files = media_files(media)
    try:
        media.delete()
    except ProtectedError:
        raise ValidationError("This media is used by a campaign and cannot be deleted.", code="protected") from None
    _delete_files_after_commit(files)
