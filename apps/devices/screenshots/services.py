import base64
import binascii
import io
import re
from datetime import timedelta

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone
from PIL import Image, UnidentifiedImageError

from apps.accounts.models import Fleet
from apps.media.probing import thumbnail_jpeg
from signage.errors import field_error

from .. import records
from ..models import CommandType, Device, DeviceCommand
from .models import Screenshot

FORMATS = {"JPEG": ("image/jpeg", ".jpg"), "PNG": ("image/png", ".png"), "WEBP": ("image/webp", ".webp")}
DATA_URL = re.compile(r"^data:image/(?:jpeg|png|webp);base64,", re.IGNORECASE)


def _checked(data: bytes, field: str) -> tuple[Image.Image, str, str]:
    """The decoded image, its mime type and extension; a 400 on `field` for anything else. The header's
    size is checked before a pixel is decoded (a decompression bomb costs nothing)."""
    limit = settings.SIGNAGE_SCREENSHOT_MAX_BYTES
    if len(data) > limit:
        raise field_error(field, f"The screenshot is too large: at most {limit} bytes are accepted.", "too_large")
    try:
        image = Image.open(io.BytesIO(data), formats=list(FORMATS))
        width, height = image.size
        if width * height > settings.SIGNAGE_SCREENSHOT_MAX_PIXELS:
            raise field_error(field, f"The screenshot has too many pixels ({width}x{height}).", "too_many_pixels")
        image.load()
    except Image.DecompressionBombError:  # Pillow's own guard, past our limit anyway
        raise field_error(field, "The screenshot has too many pixels.", "too_many_pixels") from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError):
        raise field_error(field, "Not a JPEG, PNG or WebP image that can be read.", "invalid_image") from None
    mime_type, extension = FORMATS[image.format]
    return image, mime_type, extension


def decode_data_url(value, field: str = "result") -> bytes:
    """The bytes of a `data:image/...;base64,` URL (what the web player sends); a 400 on `field` otherwise.
    The length is checked before decoding."""
    if not isinstance(value, str) or not DATA_URL.match(value):
        raise field_error(field, "Expected a data:image/jpeg, png or webp;base64 URL.", "invalid_image")
    encoded = value.split(",", 1)[1]
    if len(encoded) > (settings.SIGNAGE_SCREENSHOT_MAX_BYTES // 3 + 1) * 4:
        limit = settings.SIGNAGE_SCREENSHOT_MAX_BYTES
        raise field_error(field, f"The screenshot is too large: at most {limit} bytes are accepted.", "too_large")
    try:
        return base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError):
        raise field_error(field, "The data URL is not valid base64.", "invalid_image") from None


def screenshot_result(shot: Screenshot) -> dict:
    """What a screenshot command's `result` keeps: a reference to the stored screenshot, not the image."""
    return {"screenshot": shot.pk, "width": shot.width, "height": shot.height}


@transaction.atomic
def screenshot_store(*, device: Device, data: bytes, command: DeviceCommand | None = None,
                     field: str = "image") -> Screenshot:  # fmt: skip
    """Store a screenshot a paired player sent (checked by Pillow, with a thumbnail), answer `command`
    with it (a pending screenshot command of this device: it succeeds), and keep only the fleet's
    `screenshots_kept` newest of the player. A second answer to the same command stores nothing new."""
    if device.fleet_id is None or device.screen_id is None:
        raise field_error(field, "This device is not paired with a screen.", "not_paired")
    if command is not None:
        command = device.commands.select_for_update().filter(pk=command.pk).first()
        if command is None or command.type != CommandType.SCREENSHOT:
            raise field_error("command", "Not a screenshot command of this device.")
        if not command.pending:
            existing = Screenshot.objects.of_fleet(device.fleet_id).filter(command=command).first()
            if existing is not None:
                return existing
            raise field_error("command", "This command is already answered.")
    image, mime_type, extension = _checked(data, field)
    now = timezone.now()
    shot = Screenshot(
        device=device, fleet_id=device.fleet_id, screen_id=device.screen_id, command=command, taken_at=now,
        mime_type=mime_type, width=image.width, height=image.height, size=len(data),
    )  # fmt: skip
    shot.image.save(f"shot{extension}", ContentFile(data), save=False)
    shot.thumbnail.save("thumb.jpg", ContentFile(thumbnail_jpeg(image)), save=False)
    try:
        shot.save()
    except Exception:  # the row could not be written: neither can its files stay
        delete_files([shot.image.name, shot.thumbnail.name])
        raise
    if command is not None:
        DeviceCommand.objects.filter(pk=command.pk).update(
            succeeded_at=now, delivered_at=command.delivered_at or now, result=screenshot_result(shot)
        )
    screenshots_trim(device=device, keep=device.fleet.screenshots_kept)
    return shot


def screenshots_trim(*, device: Device, keep: int) -> int:
    """Delete a player's screenshots beyond its `keep` newest, those of fleets it was in before included
    (files after commit). Two queries."""
    old = list(device.screenshots.order_by("-taken_at", "-id").values_list("pk", flat=True)[keep:])
    if not old:
        return 0
    return screenshots_delete(device.screenshots.filter(pk__in=old))


def screenshots_delete(queryset) -> int:
    """Delete screenshots; their files go once the deletion commits (the post_delete receiver)."""
    deleted, _ = queryset.delete()
    return deleted


def delete_files(names) -> None:
    for name in names:
        if name:
            default_storage.delete(name)


def screenshots_request_due(*, now=None) -> int:
    """Periodic screenshots: queue a screenshot command for every online, paired player of a fleet with a
    `screenshot_interval` whose last screenshot command is older than that interval, unless one is still
    waiting for it. One query per distinct interval, then one INSERT and one UPDATE. Returns how many."""
    now = now or timezone.now()
    intervals = Fleet.objects.filter(screenshot_interval__isnull=False).values_list("screenshot_interval", flat=True)
    due: list[tuple[int, str]] = []
    for interval in sorted(set(intervals)):
        shots = DeviceCommand.objects.filter(device=OuterRef("pk"), type=CommandType.SCREENSHOT)
        recent = shots.filter(created_at__gt=now - timedelta(seconds=interval))
        waiting = shots.filter(succeeded_at__isnull=True, failed_at__isnull=True)
        players = Device.objects.filter(fleet__screenshot_interval=interval, online=True, screen__isnull=False)
        due += players.exclude(Exists(recent)).exclude(Exists(waiting)).values_list("pk", "token_hash")
    if not due:
        return 0
    with transaction.atomic():
        DeviceCommand.objects.bulk_create(
            [DeviceCommand(device_id=pk, type=CommandType.SCREENSHOT, payload={}) for pk, _ in due]
        )
        Device.objects.filter(pk__in=[pk for pk, _ in due]).update(has_pending_commands=True)
        records.forget([hashed for _, hashed in due])  # their next heartbeat takes the full path: the command
    return len(due)
