from celery import shared_task

from apps.devices.services import devices_flush_heartbeats

from .services import alert_rules_evaluate_due, notifications_send


@shared_task
def evaluate_alert_rules() -> int:
    """Periodic (beat, every minute): evaluate the due rules on fresh data (the heartbeats buffered by the
    lean path are flushed first), then retry notifications that failed."""
    devices_flush_heartbeats()
    evaluated = alert_rules_evaluate_due()
    notifications_send()
    return len(evaluated)


@shared_task
def send_alert_notifications(ids: list[int]) -> int:
    """Enqueued after the evaluating transaction commits: send these notifications (once each)."""
    return notifications_send(ids=ids)
