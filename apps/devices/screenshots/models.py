import os
import uuid

from django.db import models
from django.utils import timezone

from apps.accounts.models import Fleet
from apps.screens.models import Screen
from signage.scopes import FleetOwned


def _folder(shot: "Screenshot") -> str:
    # A random name: media files are served by URL, so a screenshot's address must not be guessable.
    return f"screenshots/{shot.fleet_id}/{shot.device_id}/{uuid.uuid4().hex}"


def image_path(shot: "Screenshot", filename: str) -> str:
    return _folder(shot) + os.path.splitext(filename)[1].lower()


def thumbnail_path(shot: "Screenshot", filename: str) -> str:
    return _folder(shot) + "-thumb.jpg"


class Screenshot(FleetOwned):
    """What a player's screen showed at `taken_at`, as the player sent it (checked by Pillow), with a
    JPEG thumbnail. It belongs to the fleet the player was in when it was taken, and records the screen."""

    fleet_lookup = "fleet"

    device = models.ForeignKey("devices.Device", on_delete=models.CASCADE, related_name="screenshots")
    fleet = models.ForeignKey(Fleet, on_delete=models.CASCADE, related_name="+")
    screen = models.ForeignKey(Screen, null=True, blank=True, on_delete=models.SET_NULL, related_name="screenshots")
    command = models.OneToOneField(
        "devices.DeviceCommand", null=True, blank=True, on_delete=models.SET_NULL, related_name="screenshot",
        help_text="The screenshot command it answers; empty when the player sent it on its own",
    )  # fmt: skip
    image = models.FileField(upload_to=image_path, max_length=255)
    thumbnail = models.FileField(upload_to=thumbnail_path, max_length=255)
    mime_type = models.CharField(max_length=20)
    width = models.PositiveIntegerField()
    height = models.PositiveIntegerField()
    size = models.PositiveIntegerField(help_text="Bytes")
    taken_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-taken_at", "-id"]
        indexes = [
            models.Index(fields=["device", "-taken_at", "-id"], name="screenshot_device_taken"),
            models.Index(fields=["screen", "-taken_at", "-id"], name="screenshot_screen_taken"),
        ]

    def __str__(self) -> str:
        return f"{self.device_id} at {self.taken_at:%Y-%m-%d %H:%M:%S}"
