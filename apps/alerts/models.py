from django.db import models
from django.db.models import Q

from apps.accounts.models import Fleet
from apps.devices.models import Device
from signage.scopes import FleetOwned


class AlertType(models.TextChoices):
    DEVICE = "DEVICE", "Devices"
    SHARE_OF_VOICE = "SHARE_OF_VOICE", "Share-of-voice overflows"


class AlertRule(FleetOwned):
    """What to watch (reference 004 "Alert/Rule"): the devices `filter` selects, the `conditions` all of
    which a device must meet, the `threshold` share of filtered devices that opens an alert, how often
    (`periodicity`) and whom to tell (`action`). The JSON fields are validated by `rules.rule_clean`."""

    fleet_lookup = "fleet"

    fleet = models.ForeignKey(Fleet, on_delete=models.CASCADE, related_name="alert_rules")
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    alert_type = models.CharField(max_length=20, choices=AlertType.choices, default=AlertType.DEVICE)
    filter = models.JSONField(default=dict, blank=True)
    conditions = models.JSONField(default=dict, blank=True)
    threshold = models.JSONField(default=dict, blank=True)
    periodicity = models.JSONField(default=dict, blank=True)
    action = models.JSONField(default=dict, blank=True)
    paused = models.BooleanField(default=False)
    archived_at = models.DateTimeField(null=True, blank=True)
    builtin = models.CharField(max_length=40, blank=True, help_text="Key of a built-in rule; empty for others")
    last_evaluated_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    modified_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["fleet", "builtin"], condition=~Q(builtin=""), name="unique_builtin_rule_per_fleet"
            )
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def archived(self) -> bool:
        return self.archived_at is not None


class Alert(FleetOwned):
    """Opened by evaluation when a rule's threshold is crossed; one open alert per rule at a time (a partial
    unique index says so even to two evaluations racing). It follows the devices matching now, and resolves
    by itself when none does any more; the condition coming back opens a new alert."""

    fleet_lookup = "fleet"

    fleet = models.ForeignKey(Fleet, on_delete=models.CASCADE, related_name="alerts")
    rule = models.ForeignKey(AlertRule, on_delete=models.CASCADE, related_name="alerts")
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    devices = models.ManyToManyField(Device, through="AlertDevice", related_name="alerts", blank=True)
    details = models.JSONField(default=dict, blank=True, help_text="What the rule found (share-of-voice overflows)")
    created_at = models.DateTimeField(auto_now_add=True)
    latest_change_at = models.DateTimeField()
    archived_at = models.DateTimeField(null=True, blank=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    snoozed_until = models.DateTimeField(null=True, blank=True)
    change_number = models.PositiveIntegerField(default=0, help_text="Counts the changes people were told about")

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["rule"], condition=Q(resolved_at__isnull=True), name="one_open_alert_per_rule"
            )
        ]
        indexes = [models.Index(fields=["fleet", "resolved_at"])]

    def __str__(self) -> str:
        return self.name


class AlertDevice(FleetOwned):
    """A device on an alert: matched by evaluation, or assigned by hand (then evaluation leaves it be)."""

    fleet_lookup = "alert__fleet"

    alert = models.ForeignKey(Alert, on_delete=models.CASCADE, related_name="alert_devices")
    device = models.ForeignKey(Device, on_delete=models.CASCADE, related_name="alert_devices")
    assigned_by_hand = models.BooleanField(default=False)
    snoozed_until = models.DateTimeField(null=True, blank=True)
    added_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["added_at", "id"]
        constraints = [models.UniqueConstraint(fields=["alert", "device"], name="unique_alert_device")]

    def __str__(self) -> str:
        return f"{self.device_id} on {self.alert_id}"


class NotificationEvent(models.TextChoices):
    OPENED = "opened", "Opened"
    DEVICES_ADDED = "devices_added", "Gained devices"
    RESOLVED = "resolved", "Resolved"


class Channel(models.TextChoices):
    EMAIL = "email", "E-mail"
    WEBHOOK = "webhook", "Webhook"


class AlertNotification(FleetOwned):
    """One message to one recipient about one change of an alert (an outbox row). Written in the evaluating
    transaction, sent after it commits; retried until sent, and never sent twice: the row is claimed under a
    lock and marked sent before the claim is released, and (alert, change, recipient) is unique."""

    fleet_lookup = "alert__fleet"

    alert = models.ForeignKey(Alert, on_delete=models.CASCADE, related_name="notifications")
    change_number = models.PositiveIntegerField()
    event = models.CharField(max_length=20, choices=NotificationEvent.choices)
    channel = models.CharField(max_length=10, choices=Channel.choices, default=Channel.EMAIL)
    recipient = models.CharField(max_length=2000)
    subject = models.CharField(max_length=300)
    body = models.TextField()
    payload = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    last_error = models.CharField(max_length=500, blank=True)

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["alert", "change_number", "channel", "recipient"], name="one_notification_per_change"
            )
        ]
        indexes = [models.Index(fields=["sent_at", "next_attempt_at"])]

    def __str__(self) -> str:
        return f"{self.event} of {self.alert_id} to {self.recipient}"


def open_alerts_count(fleet_ids=None, *, user=None) -> int:
    """Open (unresolved, unarchived) alerts, for the console's dashboard: of the given fleets, of the
    fleets `user` sees, or of all fleets."""
    alerts = Alert.objects.filter(resolved_at__isnull=True, archived_at__isnull=True)
    if user is not None:
        from apps.accounts.scoping import scope_queryset

        alerts = scope_queryset(alerts, user)
    if fleet_ids is not None:
        alerts = alerts.filter(fleet_id__in=fleet_ids)
    return alerts.count()
