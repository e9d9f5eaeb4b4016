"""Bulk operations (reference 004 "Bulk Operation"): one operation applied to many players in rolling
batches, with a row per player that says how it went. See `services.py` for how they run."""

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models

from apps.accounts.models import Fleet
from signage.scopes import FleetOwned

from ..models import Device, DeviceCommand

MAX_BATCH_SIZE = 1000
MAX_BATCH_DELAY = 7 * 24 * 3600
MAX_RESULT_TIMEOUT = 7 * 24 * 3600
MIN_RESULT_TIMEOUT = 10
MAX_STOP_THRESHOLD = 1_000_000


class BulkOperationType(models.TextChoices):
    SEND_COMMAND = "SEND_COMMAND", "Send a command"
    REBOOT = "REBOOT", "Reboot"
    SET_VOLUME = "SET_VOLUME", "Set the volume"
    SET_BRIGHTNESS = "SET_BRIGHTNESS", "Set the brightness"
    SET_APPLICATION_VERSION = "SET_APPLICATION_VERSION", "Set the application version"
    ASSIGN_TAG = "ASSIGN_TAG", "Assign a tag"
    UNASSIGN_TAG = "UNASSIGN_TAG", "Unassign a tag"
    ASSIGN_POLICY = "ASSIGN_POLICY", "Assign a policy"
    UNASSIGN_POLICY = "UNASSIGN_POLICY", "Unassign a policy"


class BulkOperationState(models.TextChoices):
    SCHEDULED = "scheduled", "Scheduled"  # created, waiting for its start time
    RUNNING = "running", "Running"
    PAUSED = "paused", "Paused"
    STOPPED = "stopped", "Stopped"  # by a user or by the stop threshold; final
    FINISHED = "finished", "Finished"  # every player has its result; final


LIVE_STATES = (BulkOperationState.SCHEDULED, BulkOperationState.RUNNING, BulkOperationState.PAUSED)


class BulkOperation(FleetOwned):
    """An operation over a set of players, resolved once when it starts (the snapshot), then applied
    `batch_size` players at a time: a batch starts `batch_delay` seconds after the previous one has all
    its results; once `stop_threshold` players failed, no further batch starts."""

    fleet_lookup = "fleet"

    fleet = models.ForeignKey(Fleet, on_delete=models.CASCADE, related_name="bulk_operations")
    name = models.CharField(max_length=200)
    operation_type = models.CharField(max_length=32, choices=BulkOperationType.choices)
    data = models.JSONField(default=dict, blank=True, help_text="The operation's parameters, canonical")
    filter = models.JSONField(null=True, blank=True, help_text="Which players, resolved at start")
    device_ids = models.JSONField(null=True, blank=True, help_text="Or: these players, checked at start")
    start_at = models.DateTimeField(null=True, blank=True, help_text="Not before (empty: at once)")
    batch_size = models.PositiveIntegerField(
        default=100, validators=[MinValueValidator(1), MaxValueValidator(MAX_BATCH_SIZE)]
    )
    batch_delay = models.PositiveIntegerField(
        default=0, validators=[MaxValueValidator(MAX_BATCH_DELAY)], help_text="Seconds between batches"
    )
    stop_threshold = models.PositiveIntegerField(
        null=True,
        blank=True,
        validators=[MinValueValidator(1), MaxValueValidator(MAX_STOP_THRESHOLD)],
        help_text="Stop once this many players failed (empty: never)",
    )
    result_timeout = models.PositiveIntegerField(
        default=900,
        validators=[MinValueValidator(MIN_RESULT_TIMEOUT), MaxValueValidator(MAX_RESULT_TIMEOUT)],
        help_text="Seconds a player has to report a command's result before it counts as failed",
    )
    state = models.CharField(max_length=16, choices=BulkOperationState.choices, default=BulkOperationState.SCHEDULED)
    stop_reason = models.CharField(max_length=32, blank=True)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    paused_at = models.DateTimeField(null=True, blank=True)
    resumed_at = models.DateTimeField(null=True, blank=True)
    stopped_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    archived_at = models.DateTimeField(null=True, blank=True)
    next_batch_at = models.DateTimeField(null=True, blank=True, help_text="When the next batch may start")
    batches = models.PositiveIntegerField(default=0, help_text="Batches started")
    # Progress, recounted from the players' rows at every step of the operation.
    total = models.PositiveIntegerField(default=0)
    successful = models.PositiveIntegerField(default=0)
    failed = models.PositiveIntegerField(default=0)
    skipped = models.PositiveIntegerField(default=0)
    pending = models.PositiveIntegerField(default=0, help_text="Players without a result yet")
    awaiting_result = models.PositiveIntegerField(default=0, help_text="Of the pending: sent, result not in yet")

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["state", "next_batch_at"], name="devices_bulk_state")]

    def __str__(self) -> str:
        return self.name

    @property
    def is_running(self) -> bool:
        return self.state == BulkOperationState.RUNNING

    @property
    def done(self) -> int:
        return self.successful + self.failed + self.skipped


class TargetState(models.TextChoices):
    PENDING = "pending", "Pending"
    SENT = "sent", "Sent, waiting for its result"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"
    SKIPPED = "skipped", "Skipped"


class BulkOperationDevice(FleetOwned):
    """One player of a bulk operation (the snapshot): claimed once, under a row lock, in the transaction
    that applies the operation to it, so a player never gets an operation twice."""

    fleet_lookup = "operation__fleet"

    operation = models.ForeignKey(BulkOperation, on_delete=models.CASCADE, related_name="targets")
    device = models.ForeignKey(Device, on_delete=models.CASCADE, related_name="bulk_operation_targets")
    state = models.CharField(max_length=16, choices=TargetState.choices, default=TargetState.PENDING)
    batch = models.PositiveIntegerField(null=True, blank=True)
    command = models.ForeignKey(DeviceCommand, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    reason = models.CharField(max_length=64, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["operation", "id"]
        constraints = [
            models.UniqueConstraint(fields=["operation", "device"], name="devices_bulk_once_per_device"),
        ]
        indexes = [models.Index(fields=["operation", "state", "id"], name="devices_bulk_target_state")]

    def __str__(self) -> str:
        return f"{self.device_id} in {self.operation_id}: {self.state}"
