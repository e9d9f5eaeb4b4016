"""Delivering one notification: an e-mail through Django's e-mail backend (SMTP settings from the
environment), or a JSON POST through the project's SSRF-safe fetcher."""

from django.conf import settings
from django.core.mail import EmailMessage

from apps.media.fetching import post_json

from .models import AlertNotification, Channel


def deliver(notification: AlertNotification) -> None:
    """Send it; raises on any failure (the caller records it and tries again later)."""
    if notification.channel == Channel.WEBHOOK:
        post_json(notification.recipient, notification.payload)
        return
    EmailMessage(
        subject=notification.subject,
        body=notification.body,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[notification.recipient],
        headers={"X-Signage-Alert": str(notification.alert_id), "X-Signage-Event": notification.event},
    ).send(fail_silently=False)
