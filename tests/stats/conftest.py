import uuid
from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from apps.ads.models import Ad, Broadcast
from apps.devices.models import Device
from apps.devices.services import device_pair, device_register

STATS = "/api/statistics/v2"


class Player:
    """A registered, paired player speaking the device protocol with its own token."""

    def __init__(self, screen, name="Player"):
        device, token = device_register(uuid=f"player-{uuid.uuid4().hex[:12]}", info={}, device=None)
        # Players of these tests have been installed for a while: their events may be a few days old.
        Device.objects.filter(pk=device.pk).update(created=timezone.now() - timedelta(days=400))
        self.device = device_pair(device=Device.objects.get(pk=device.pk), screen=screen, name=name)
        self.screen = screen
        self.client = APIClient()
        self.client.credentials(HTTP_AUTHORIZATION=f"Device {token}")

    def post(self, events):
        return self.client.post("/api/device/stats", {"events": events}, format="json")


def event(media, started_at, duration=10.0, ad=None, broadcast=None, event_id=None):
    return {
        "id": str(event_id or uuid.uuid4()),
        "media": media.public_id,
        "ad": str(ad.pk) if ad else None,
        "broadcast": str(broadcast.pk) if broadcast else None,
        "started_at": started_at.isoformat(),
        "duration": duration,
    }


@pytest.fixture
def make_player(db):
    return Player


@pytest.fixture
def make_campaign(db):
    def make(fleet, media, screens, name="Campaign"):
        ad = Ad.objects.create(fleet=fleet, name=name, campaign_startdate="2020-01-01")
        broadcast = Broadcast.objects.create(ad=ad, media=media)
        broadcast.screens.set(screens)
        return ad, broadcast

    return make
