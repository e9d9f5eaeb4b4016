import json

import pytest
from redis.connection import AbstractConnection
from rest_framework.test import APIClient

from tests.alerts import conftest as alerts_conftest

HOST = "http://testserver/api/management/v2"

# Players written straight to the table, on a screen "Lobby" of `fleet` (shared with the alerts' tests).
make_device, make_devices, screen = alerts_conftest.make_device, alerts_conftest.make_devices, alerts_conftest.screen


@pytest.fixture
def player():
    """A fresh player: registers, and keeps its device token on its client."""

    def make(uuid="player-abc123", **info):
        client = APIClient()
        response = client.post(
            "/api/device/register",
            {"uuid": uuid, "model": "Xiaomi Mi Box S", "os_version": "11", "app_version": "2.0.0", **info},
            format="json",
        )
        assert response.status_code == 201, response.content
        body = response.json()
        client.credentials(HTTP_AUTHORIZATION=f"Device {body['device_token']}")
        client.registration = body
        return client

    return make


@pytest.fixture
def paired(api, player, fleet, make_screen):
    """A player paired (through the API) with a screen of `fleet`."""

    def make(screen=None, uuid="player-abc123"):
        screen = screen or make_screen(fleet, "Lobby", timezone="Europe/Paris")
        client = player(uuid)
        response = api.post(
            f"{HOST}/devices/pair/",
            {
                "pairing_code": client.registration["pairing_code"],
                "screen": f"{HOST}/screens/{screen.pk}/",
                "name": "Lobby Display",
            },
            format="json",
        )
        assert response.status_code == 200, response.content
        client.screen = screen
        return client

    return make


@pytest.fixture
def campaign(api):
    def make(screen, media, **values):
        payload = {
            "name": values.pop("name", "Campaign"),
            "campaign_startdate": "2020-01-01",
            "broadcasts": [{"media": f"{HOST}/medias/{media.public_id}/", "screens": [str(screen.pk)]}],
            **values,
        }
        response = api.post(f"{HOST}/ads/", data=json.dumps(payload), content_type="application/json")
        assert response.status_code == 201, response.content
        return response.json()

    return make


class RedisRoundTrips:
    """Counts what is sent to Redis: one packed send is one round trip (a pipeline or a script is one)."""

    def __init__(self, monkeypatch):
        self.count = 0
        original = AbstractConnection.send_packed_command

        def counted(connection_, command, check_health=True):
            self.count += 1
            return original(connection_, command, check_health)

        monkeypatch.setattr(AbstractConnection, "send_packed_command", counted)


@pytest.fixture
def warm(paired, fleet, make_media, campaign):
    """A paired player with three campaigns, after one full heartbeat and one playlist fetch."""
    client = paired()
    for index in range(3):
        campaign(client.screen, make_media(fleet, name=f"m{index}"), name=f"c{index}")
    client.post("/api/device/heartbeat", {}, format="json")
    client.etag = client.get("/api/device/playlist")["ETag"]
    return client


@pytest.fixture
def replace_media(warm, api, fleet, make_media, django_capture_on_commit_callbacks):
    """Replace the media of `warm`'s first campaign on its screen, committed (the commit marks the screen, the
    task rebuilds it): returns the content id of the media replaced and the new media."""

    def replace():
        ad = api.get(f"{HOST}/ads/").json()["results"][0]
        old = ad["broadcasts"][0]["media"].rstrip("/").rsplit("/", 1)[1]
        other = make_media(fleet, name="new")
        with django_capture_on_commit_callbacks(execute=True):
            response = api.patch(
                ad["url"],
                {"broadcasts": [{"media": f"{HOST}/medias/{other.public_id}/", "screens": [str(warm.screen.pk)]}]},
                format="json",
            )
        assert response.status_code == 200, response.content
        return old, other

    return replace
