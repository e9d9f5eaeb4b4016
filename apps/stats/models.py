import uuid

from django.db import models

from apps.ads.models import Ad, Broadcast
from apps.devices.models import Device
from apps.media.models import Media
from apps.screens.models import Screen


class PlayEvent(models.Model):
    """One display reported by a player; its id is the player's event id, so a batch sent twice is
    stored once."""

    fleet_lookup = "screen__fleet"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4)
    device = models.ForeignKey(Device, null=True, on_delete=models.SET_NULL, related_name="play_events")
    screen = models.ForeignKey(Screen, null=True, on_delete=models.SET_NULL, related_name="play_events")
    ad = models.ForeignKey(Ad, null=True, on_delete=models.SET_NULL, related_name="play_events")
    broadcast = models.ForeignKey(Broadcast, null=True, on_delete=models.SET_NULL, related_name="play_events")
    media = models.ForeignKey(Media, null=True, on_delete=models.SET_NULL, related_name="play_events")
    started_at = models.DateTimeField(db_index=True)
    duration = models.FloatField(help_text="Seconds")
    received_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-started_at"]
        indexes = [models.Index(fields=["screen", "started_at"]), models.Index(fields=["ad", "started_at"])]

    def __str__(self) -> str:
        return f"{self.media_id} on {self.screen_id} at {self.started_at:%Y-%m-%d %H:%M:%S}"
