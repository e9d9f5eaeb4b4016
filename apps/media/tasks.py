from celery import shared_task

from .services import media_refresh, media_refresh_due


@shared_task
def refresh_due_url_media() -> int:
    """Periodic (beat, every minute): queue a refresh for every URL media that is due."""
    due = media_refresh_due()
    for media_id in due:
        refresh_url_media.delay(media_id)
    return len(due)


@shared_task(acks_late=True)
def refresh_url_media(media_id: int) -> str:
    """Idempotent and safe to run twice at once (see media_refresh)."""
    return media_refresh(media_id=media_id)
