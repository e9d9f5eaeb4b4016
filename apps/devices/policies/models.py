"""Tags and policies of players (reference 004 "Tag", "Policy", "Device/Policy", "Device/Tag").

Imported by apps/devices/models.py, so Django registers these models under the `devices` app."""

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models

from apps.accounts.models import Fleet
from signage.scopes import FleetOwned

from ..models import Device

PRIORITY_MIN, PRIORITY_MAX = -1_000_000, 1_000_000


class Tag(FleetOwned):
    """A label of players, in a tree (`parent`) of one fleet: filtering by a tag finds the players tagged
    with it or with any tag below it."""

    fleet_lookup = "fleet"

    fleet = models.ForeignKey(Fleet, on_delete=models.CASCADE, related_name="device_tags")
    name = models.CharField(max_length=100)
    color = models.CharField(max_length=7, blank=True, help_text="#RRGGBB")
    parent = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL, related_name="children")
    devices = models.ManyToManyField(Device, through="DeviceTag", related_name="tags", blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["fleet", "parent", "name"], nulls_distinct=False, name="unique_tag_name_per_parent"
            )
        ]

    def __str__(self) -> str:
        return self.name


class DeviceTag(FleetOwned):
    fleet_lookup = "device__fleet"

    device = models.ForeignKey(Device, on_delete=models.CASCADE, related_name="device_tags")
    tag = models.ForeignKey(Tag, on_delete=models.CASCADE, related_name="device_tags")
    assigned_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["tag__name", "id"]
        constraints = [models.UniqueConstraint(fields=["device", "tag"], name="unique_device_tag")]
        indexes = [models.Index(fields=["tag", "device"], name="devicetag_tag_device")]

    def __str__(self) -> str:
        return f"{self.tag_id} on {self.device_id}"


class PolicyItemType(models.TextChoices):
    """The settings a policy can hold (reference 004 "Policy" item types, as its telemetry names them)."""

    VOLUME = "VOLUME", "Volume"
    BRIGHTNESS = "BRIGHTNESS", "Brightness"
    TIMERS = "TIMERS", "On/off timers"
    POWER_ACTIONS_SCHEDULE = "POWER_ACTIONS_SCHEDULE", "Scheduled power actions"
    ORIENTATION = "ORIENTATION", "Orientation"
    RESOLUTION = "RESOLUTION", "Resolution"
    APPLICATION_VERSION = "APPLICATION_VERSION", "Application version"
    REMOTE_CONTROL = "REMOTE_CONTROL", "Remote control"
    DATETIME = "DATETIME", "Time zone and NTP"
    TEMPERATURE = "TEMPERATURE", "Temperature limits"


class Policy(FleetOwned):
    """A named set of desired settings (`items`: `[{"type", "value"}]`, one per type, validated by
    `items.policy_items_clean`). Assigned to players with a priority; an archived policy is inactive."""

    fleet_lookup = "fleet"

    fleet = models.ForeignKey(Fleet, on_delete=models.CASCADE, related_name="policies")
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    archived = models.BooleanField(default=False)
    items = models.JSONField(default=list, blank=True)
    devices = models.ManyToManyField(Device, through="DevicePolicy", related_name="policies", blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    modified_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name", "id"]
        verbose_name_plural = "policies"
        indexes = [models.Index(fields=["fleet", "archived"], name="policy_fleet_archived")]

    def __str__(self) -> str:
        return self.name


class DevicePolicy(FleetOwned):
    """A policy assigned to a player: the higher `priority` wins item by item (see `items.policies_merge`)."""

    fleet_lookup = "device__fleet"

    device = models.ForeignKey(Device, on_delete=models.CASCADE, related_name="device_policies")
    policy = models.ForeignKey(Policy, on_delete=models.CASCADE, related_name="device_policies")
    priority = models.IntegerField(
        default=0, validators=[MinValueValidator(PRIORITY_MIN), MaxValueValidator(PRIORITY_MAX)]
    )
    assigned_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-priority", "policy_id"]
        verbose_name_plural = "device policies"
        constraints = [models.UniqueConstraint(fields=["device", "policy"], name="unique_device_policy")]
        indexes = [models.Index(fields=["policy", "device"], name="devicepolicy_policy_device")]

    def __str__(self) -> str:
        return f"{self.policy_id} on {self.device_id} ({self.priority})"
