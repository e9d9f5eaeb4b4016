from celery import shared_task

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
