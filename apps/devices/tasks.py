import time

from celery import shared_task
from django.conf import settings

from .bulk.services import bulk_operation_step, bulk_operations_due
from .models import Device
from .playlist import playlists_rebuild
from .policies.delivery import devices_settings_refresh
from .screenshots.services import screenshots_request_due
from .services import devices_flush_fetches, devices_flush_heartbeats, devices_mark_offline


@shared_task
def mark_devices_offline() -> list[int]:
    """Periodic (beat, every 30 s): devices silent for 1.5 heartbeat intervals, and their screens, go offline."""
    return list(devices_mark_offline())


@shared_task
def flush_heartbeats() -> int:
    """Periodic (beat, every SIGNAGE_HEARTBEAT_FLUSH_SECONDS): buffered last-seen, telemetry and playlist fetches
    to the database."""
    devices_flush_fetches()
    return devices_flush_heartbeats()


@shared_task
def rebuild_playlists() -> int:
    """After a content change, and periodically for states past their valid-until: rebuild playlist states."""
    return playlists_rebuild()


@shared_task(acks_late=True, reject_on_worker_lost=True)
def bulk_operation_run(operation_id: int) -> int:
    """Step a bulk operation while its next step is due at once, for at most SIGNAGE_BULK_STEP_SECONDS
    (the periodic `bulk_operations_tick` picks it up again). Safe to run twice, or on two workers at once:
    each step locks the operation and claims its players under row locks. Returns the steps taken."""
    deadline = time.monotonic() + settings.SIGNAGE_BULK_STEP_SECONDS
    steps = 1
    while bulk_operation_step(operation_id=operation_id) and time.monotonic() < deadline:
        steps += 1
    return steps


@shared_task
def bulk_operations_tick() -> int:
    """Periodic (beat, every SIGNAGE_BULK_TICK_SECONDS): a run for every live bulk operation with something
    to do (a start time reached, a batch due, results to collect). This is also what resumes the batch of
    a worker that died: its transaction was rolled back, and the next run claims the same players."""
    due = bulk_operations_due()
    for operation_id in due:
        bulk_operation_run.delay(operation_id)
    return len(due)


@shared_task
def request_periodic_screenshots() -> int:
    """Periodic (beat, every minute): screenshot commands for the online players of fleets with a
    `screenshot_interval`, once per interval each."""
    return screenshots_request_due()


@shared_task
def refresh_screen_settings(fleet_id: int, screen_ids: list[str]) -> int:
    """After screens of a fleet changed (orientation, rotation, type, time zone...): their players' settings
    versions."""
    return devices_settings_refresh(devices=Device.objects.of_fleet(fleet_id).filter(screen_id__in=screen_ids))


@shared_task
def refresh_screen_type_settings(fleet_id: int, screen_type_id: int) -> int:
    """After a screen type of a fleet changed (its size is their resolution): its screens' players' settings
    versions."""
    players = Device.objects.of_fleet(fleet_id).filter(screen__screen_type_id=screen_type_id)
    return devices_settings_refresh(devices=players)
