import hashlib
import secrets
import uuid

from django.conf import settings
from django.db import models

from apps.accounts.models import Fleet
from apps.screens.models import Screen
from signage.scopes import FleetOwned

PAIRING_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, no 1/I

# What a heartbeat reports (reference 002's fields, and a few more), stored on the device as it came.
TELEMETRY_FIELDS = (
    "ip_address", "wifi_signal", "storage_total_mb", "storage_used_mb", "storage_free_mb", "screen_on", "volume",
    "brightness", "temperature", "uptime_seconds", "current_content",
)  # fmt: skip


def token_hash(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def new_device_token() -> str:
    return secrets.token_urlsafe(32)


def jittered_interval(base: int, uuid: str) -> int:
    """A fleet's heartbeat interval with a fixed jitter of up to ±10% per device (by its uuid), so a fleet that
    boots together does not poll in step."""
    spread = max(1, base // 5)
    offset = int(hashlib.sha256(uuid.encode()).hexdigest(), 16) % (spread + 1) - spread // 2
    return max(5, base + offset)


class Device(FleetOwned):
    """A player. It registers itself (and gets its secret token), shows a pairing code until a user pairs
    it with a screen, then heartbeats, fetches its screen's playlist and reports what it played."""

    fleet_lookup = "fleet"

    uuid = models.CharField(max_length=100, unique=True, help_text="The player's own identifier")
    name = models.CharField(max_length=200, blank=True)
    fleet = models.ForeignKey(Fleet, null=True, blank=True, on_delete=models.CASCADE, related_name="devices")
    screen = models.ForeignKey(Screen, null=True, blank=True, on_delete=models.SET_NULL, related_name="players")
    token_hash = models.CharField(max_length=64, unique=True, editable=False)
    pairing_code = models.CharField(max_length=6, null=True, blank=True, unique=True)
    pairing_expires_at = models.DateTimeField(null=True, blank=True)
    paired_at = models.DateTimeField(null=True, blank=True)
    barcode = models.CharField(max_length=100, blank=True, db_index=True)
    sticker = models.CharField(max_length=100, blank=True, db_index=True)

    model = models.CharField(max_length=200, blank=True)
    os_version = models.CharField(max_length=50, blank=True)
    app_version = models.CharField(max_length=50, blank=True)
    license_key = models.CharField(max_length=100, blank=True)
    serial_number = models.CharField(max_length=100, blank=True, db_index=True, help_text="As the player reports it")

    # Telemetry, as the last heartbeat reported it (reference 002's fields).
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    wifi_signal = models.IntegerField(null=True, blank=True, help_text="dBm")
    storage_total_mb = models.PositiveIntegerField(null=True, blank=True)
    storage_used_mb = models.PositiveIntegerField(null=True, blank=True)
    storage_free_mb = models.PositiveIntegerField(null=True, blank=True)
    screen_on = models.BooleanField(null=True, blank=True)
    volume = models.PositiveSmallIntegerField(null=True, blank=True)
    brightness = models.PositiveSmallIntegerField(null=True, blank=True)
    temperature = models.FloatField(null=True, blank=True, help_text="°C")
    uptime_seconds = models.PositiveBigIntegerField(null=True, blank=True)
    current_content = models.CharField(max_length=255, blank=True)

    last_seen_at = models.DateTimeField(null=True, blank=True)
    online = models.BooleanField(default=False)
    is_locked = models.BooleanField(default=False)
    lock_pin = models.CharField(max_length=8, blank=True)
    has_pending_commands = models.BooleanField(default=False)
    playlist_etag = models.CharField(max_length=64, blank=True, help_text="The playlist version it last fetched")
    content_ids = models.JSONField(default=list, blank=True, help_text="Media it was told to keep")

    # Its own power schedule (reference 004 6.6, 6.7), as policy items' values; a policy's item wins.
    power_actions_schedule = models.JSONField(default=list, blank=True)
    timers = models.JSONField(default=list, blank=True)
    # Versions of its settings (policies, screen, own schedule; see policies/delivery.py): the current
    # one, and the one it last fetched. They differ: the heartbeat says `has_new_settings`.
    settings_version = models.CharField(max_length=16, blank=True, editable=False)
    settings_fetched = models.CharField(max_length=16, blank=True, editable=False)

    created = models.DateTimeField(auto_now_add=True)
    modified = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name", "uuid"]
        # No index on last_seen_at, online or the telemetry: the heartbeat flush writes them for every player
        # every few seconds, and leaving them out of every index lets PostgreSQL update the rows in place (HOT,
        # with the free space migration 0009 keeps in the table's pages) instead of adding an entry to each of
        # the table's indexes. The few readers of last_seen_at (going offline, alerts, the dashboard) scan.

    def __str__(self) -> str:
        return self.name or self.uuid

    @property
    def paired(self) -> bool:
        return self.screen_id is not None

    @property
    def rate_limit_principal(self) -> str:
        return f"device:{self.pk}"


class CommandType(models.TextChoices):
    REBOOT = "reboot", "Reboot"
    REFRESH = "refresh", "Refresh content"
    SCREENSHOT = "screenshot", "Screenshot"
    SET_VOLUME = "set_volume", "Set volume"
    SET_BRIGHTNESS = "set_brightness", "Set brightness"
    POWER_ON = "power_on", "Power on"
    POWER_OFF = "power_off", "Power off"
    PLAY_AD = "play_ad", "Play a campaign now"
    SET_APP_VERSION = "set_app_version", "Set the application version"
    LOCK = "lock", "Lock"
    UNLOCK = "unlock", "Unlock"


class DeviceCommand(FleetOwned):
    """An asynchronous command (reference 004): pending while neither succeeded_at nor failed_at is set."""

    fleet_lookup = "device__fleet"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    device = models.ForeignKey(Device, on_delete=models.CASCADE, related_name="commands")
    type = models.CharField(max_length=20, choices=CommandType.choices)
    payload = models.JSONField(default=dict, blank=True)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    succeeded_at = models.DateTimeField(null=True, blank=True)
    failed_at = models.DateTimeField(null=True, blank=True)
    result = models.JSONField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "id"]
        indexes = [models.Index(fields=["device", "delivered_at"])]

    def __str__(self) -> str:
        return f"{self.type} for {self.device}"

    @property
    def pending(self) -> bool:
        return self.succeeded_at is None and self.failed_at is None


class TelemetryType(models.TextChoices):
    """The kinds of telemetry kept as history (reference 004 "Telemetry" types, for reference 002's fields)."""

    STORAGE = "STORAGE", "Storage"
    TEMPERATURE = "TEMPERATURE", "Temperature"
    WIFI_STRENGTH = "WIFI_STRENGTH", "Wi-Fi signal"
    VOLUME = "VOLUME", "Volume"
    BRIGHTNESS = "BRIGHTNESS", "Brightness"
    APPLICATION_VERSION = "APPLICATION_VERSION", "Application version"
    OS_VERSION = "OS_VERSION", "OS version"
    IP_ADDRESS = "IP_ADDRESS", "IP address"
    UPTIME = "UPTIME", "Uptime"


class TelemetrySample(FleetOwned):
    """One value of one kind of telemetry for a device, kept only when it changed or when the fleet's
    `telemetry_history_interval` passed since the last row (see `telemetry.telemetry_record`)."""

    fleet_lookup = "device__fleet"

    device = models.ForeignKey(Device, on_delete=models.CASCADE, related_name="telemetry")
    type = models.CharField(max_length=24, choices=TelemetryType.choices)
    value = models.JSONField()
    created_at = models.DateTimeField()
    is_latest = models.BooleanField(default=True, help_text="The device's newest row of this type")

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["device", "type", "created_at"]),
            models.Index(fields=["device"], condition=models.Q(is_latest=True), name="telemetry_latest"),
        ]

    def __str__(self) -> str:
        return f"{self.type} of {self.device_id} at {self.created_at:%Y-%m-%d %H:%M:%S}"


class DeviceConnectivity(FleetOwned):
    """A change of a player's online state (reference 004 "Uptime"): kept, so that uptime, downtime and
    offline ranges can be computed for any period. Written only by `connectivity_record`."""

    fleet_lookup = "fleet"

    device = models.ForeignKey(Device, on_delete=models.CASCADE, related_name="connectivity")
    fleet = models.ForeignKey(Fleet, null=True, on_delete=models.CASCADE, related_name="+")
    online = models.BooleanField()
    at = models.DateTimeField()

    class Meta:
        ordering = ["device", "at", "id"]
        verbose_name_plural = "device connectivity"
        indexes = [
            models.Index(fields=["device", "at"], name="devices_connectivity_at"),
            models.Index(fields=["fleet", "at"], name="devices_connectivity_fleet"),
        ]

    def __str__(self) -> str:
        return f"{self.device_id} {'online' if self.online else 'offline'} at {self.at:%Y-%m-%d %H:%M:%S}"


def on_screens_of(devices: models.QuerySet, *, places=None, screen_groups=None) -> models.QuerySet:
    """The players among `devices` whose screen is at one of `places` and in one of `screen_groups` (either
    left out: no condition); the one rule shared by alert rules' and bulk operations' filters."""
    if places is not None:
        devices = devices.filter(screen__place_id__in=places)
    if screen_groups is not None:
        members = Screen.groups.through.objects.filter(screengroup_id__in=screen_groups)
        devices = devices.filter(screen_id__in=members.values("screen_id"))
    return devices


# Tags, policies, screenshots, provisions and bulk operations live in their own modules of this app; importing
# them here registers them.
from .bulk.models import BulkOperation, BulkOperationDevice  # noqa: E402, F401
from .policies.models import DevicePolicy, DeviceTag, Policy, PolicyItemType, Tag  # noqa: E402, F401
from .provisioning.models import Provision  # noqa: E402, F401
from .screenshots.models import Screenshot  # noqa: E402, F401
