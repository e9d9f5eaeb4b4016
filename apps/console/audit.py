"""The models whose history the console shows (django-auditlog, one table). Fields that players and tasks
move all the time (online state, telemetry, refresh bookkeeping) are left out: history is about people's
changes."""

from auditlog.registry import auditlog

from apps.ads.models import Ad, Broadcast
from apps.devices.models import Device
from apps.media.models import Media
from apps.places.models import Place
from apps.screens.models import Screen


def register_models() -> None:
    auditlog.register(Screen, exclude_fields=["online", "online_modified_date", "last_seen_at", "modified"],
                      m2m_fields={"groups"})  # fmt: skip
    auditlog.register(Ad, exclude_fields=["modified"])
    auditlog.register(Broadcast)
    auditlog.register(Place, exclude_fields=["modified"])
    auditlog.register(
        Media,
        include_fields=["name", "folder", "display_time", "refresh_time", "validity_time", "file", "source_url",
                        "external_path", "fleet"],
    )  # fmt: skip
    auditlog.register(
        Device, include_fields=["name", "screen", "fleet", "barcode", "sticker", "is_locked", "paired_at"]
    )
