from celery import shared_task

from .services import stats_storage_maintain


@shared_task
def maintain_stats_storage() -> dict:
    """Partitions ahead, retention behind (idempotent: safe to run at any time, twice)."""
    return stats_storage_maintain()
