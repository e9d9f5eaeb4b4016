from celery import shared_task

from .services import share_of_voice_audit


@shared_task
def audit_share_of_voice() -> int:
    """Periodic (beat, hourly): record the share-of-voice overflows of live campaigns."""
    return share_of_voice_audit()
