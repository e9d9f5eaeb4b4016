from celery import shared_task

from .playlist import playlists_rebuild
from .services import devices_flush_heartbeats, devices_mark_offline


@shared_task
def mark_devices_offline() -> list[int]:
    """Periodic (beat, every 30 s): devices silent for 1.5 heartbeat intervals, and their screens, go offline."""
    return list(devices_mark_offline())


@shared_task
def flush_heartbeats() -> int:
    """Periodic (beat, every SIGNAGE_HEARTBEAT_FLUSH_SECONDS): buffered last-seen and telemetry to the database."""
    return devices_flush_heartbeats()


@shared_task
def rebuild_playlists() -> int:
    """After a content change, and periodically for states past their valid-until: rebuild playlist states."""
    return playlists_rebuild()
