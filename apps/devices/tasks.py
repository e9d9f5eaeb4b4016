from celery import shared_task

from .services import devices_mark_offline


@shared_task
def mark_devices_offline() -> list[int]:
    """Periodic (beat, every 30 s): devices silent for 1.5 heartbeat intervals, and their screens, go offline."""
    return list(devices_mark_offline())
