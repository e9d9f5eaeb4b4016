from celery import shared_task

from .services import alert_rules_evaluate_due, notifications_send


@shared_task
def evaluate_alert_rules() -> int:
    """Periodic (beat, every minute): evaluate the due rules, then retry notifications that failed."""
    evaluated = alert_rules_evaluate_due()
    notifications_send()
    return len(evaluated)


@shared_task
def send_alert_notifications(ids: list[int]) -> int:
    """Enqueued after the evaluating transaction commits: send these notifications (once each)."""
    return notifications_send(ids=ids)
