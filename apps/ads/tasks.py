from celery import shared_task

from .feeds import data_feed_refresh, data_feeds_due
from .services import share_of_voice_audit


@shared_task
def audit_share_of_voice() -> int:
    """Periodic (beat, hourly): record the share-of-voice overflows of live campaigns."""
    return share_of_voice_audit()


@shared_task(acks_late=True)
def adupdater_screenshot(ad_id: str) -> str:
    """Give an HTML campaign the screenshot of its page (idempotent)."""
    from .adupdater import adupdater_screenshot as screenshot

    return screenshot(ad_id=ad_id)


@shared_task
def adupdater_screenshots_due() -> int:
    """Periodic (beat, every minute): campaigns whose screenshot is missing or out of step get one."""
    from .adupdater import adupdater_due

    due = adupdater_due()
    for ad_id in due:
        adupdater_screenshot.delay(ad_id)
    return len(due)


@shared_task
def refresh_due_data_feeds() -> int:
    """Periodic (beat, every minute): queue a fetch for every data feed that is due."""
    due = data_feeds_due()
    for feed_id in due:
        refresh_data_feed.delay(feed_id)
    return len(due)


@shared_task(acks_late=True, autoretry_for=(ConnectionError,), retry_backoff=True, max_retries=3)
def refresh_data_feed(feed_id: int) -> str:
    """Idempotent: fetching twice stores the same value."""
    return data_feed_refresh(feed_id=feed_id)
