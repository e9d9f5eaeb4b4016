"""Reference 002's flow over HTTP: register -> pair -> heartbeat -> playlist -> download."""

import hashlib

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from apps.devices.models import Device
from tests.conftest import cache_clear_own

from .conftest import HOST

pytestmark = pytest.mark.django_db


def test_register_pair_heartbeat_playlist_download(
    api, player, fleet, make_screen, make_media, campaign, django_capture_on_commit_callbacks
):
    # 1. register: a pairing code of 6 unambiguous characters and a device token, shown once
    client = player()
    registration = client.registration
    assert set(registration) >= {
        "device_id",
        "pairing_code",
        "paired",
        "device_name",
        "is_locked",
        "lock_pin",
        "device_token",
    }
    assert registration["paired"] is False and len(registration["pairing_code"]) == 6
    assert not set(registration["pairing_code"]) & set("0O1I")
    device = Device.objects.get(pk=registration["device_id"])
    assert device.token_hash == hashlib.sha256(registration["device_token"].encode()).hexdigest()

    # before pairing: a heartbeat works, the playlist does not
    beat = client.post("/api/device/heartbeat", {"uuid": "player-abc123"}, format="json").json()
    assert (beat["paired"], beat["has_update"]) == (False, False)
    assert client.get("/api/device/playlist").status_code == 403

    # 2. pair with a screen that has a campaign
    screen = make_screen(fleet, "Lobby", timezone="Europe/Paris")
    picture = make_media(fleet, display_time=12, name="Summer Promo")
    campaign(screen, picture, name="Summer")
    response = api.post(
        f"{HOST}/devices/pair/",
        {"pairing_code": registration["pairing_code"].lower(), "screen": str(screen.pk), "name": "Lobby Display"},
        format="json",
    )
    assert response.status_code == 200, response.content
    assert (
        response.json()["name"] == "Lobby Display" and response.json()["status"] == "online"
    )  # it heartbeat before pairing

    # 3. heartbeat: telemetry in, has_update out
    telemetry = {
        "uuid": "player-abc123",
        "ip_address": "192.168.1.100",
        "wifi_signal": -45,
        "storage_total_mb": 16000,
        "storage_used_mb": 2400,
        "storage_free_mb": 13600,
        "screen_on": True,
        "volume": 80,
        "uptime_seconds": 86400,
        "current_content": "Summer Promo",
    }
    beat = client.post("/api/device/heartbeat", telemetry, format="json").json()
    assert beat["status"] == "ok" and beat["has_update"] is True and beat["pending_commands"] == []
    assert 48 <= beat["next_heartbeat_in"] <= 72
    device.refresh_from_db()
    screen.refresh_from_db()
    assert (device.online, device.wifi_signal, device.storage_free_mb, screen.online) == (True, -45, 13600, True)

    # 4. playlist: items with download URL, duration, sha256, order; content to download; an ETag
    response = client.get("/api/device/playlist")
    assert response.status_code == 200
    body = response.json()
    item = body["playlist"]["items"][0]
    assert (item["content_id"], item["type"], item["duration"], item["order"]) == (
        picture.public_id,
        "picture",
        12.0,
        0,
    )
    assert item["file_hash"] == picture.checksum
    assert [content["content_id"] for content in body["content_to_download"]] == [picture.public_id]
    assert body["content_to_delete"] == []
    etag = response["ETag"]

    # 5. download with the signed URL, whole and by range
    url = item["download_url"].replace("http://testserver", "")
    download = APIClient().get(url)
    assert download.status_code == 200
    content = b"".join(download.streaming_content)
    assert hashlib.sha256(content).hexdigest() == item["file_hash"]
    part = APIClient().get(url, HTTP_RANGE="bytes=0-9")
    assert (part.status_code, b"".join(part.streaming_content), part["Content-Range"]) == (
        206,
        content[:10],
        f"bytes 0-9/{len(content)}",
    )
    tail = APIClient().get(url, HTTP_RANGE="bytes=-5")
    assert b"".join(tail.streaming_content) == content[-5:]
    assert APIClient().get(url, HTTP_RANGE=f"bytes={len(content)}-").status_code == 416

    # 6. nothing changed: the heartbeat says so and the playlist answers 304 with no body
    assert client.post("/api/device/heartbeat", {}, format="json").json()["has_update"] is False
    unchanged = client.get("/api/device/playlist", HTTP_IF_NONE_MATCH=etag)
    assert unchanged.status_code == 304 and unchanged.content == b""

    # 7. a campaign edit: has_update again, a new playlist, the old media to delete
    other = make_media(fleet, display_time=7, name="Autumn")
    ad = api.get(f"{HOST}/ads/").json()["results"][0]
    with django_capture_on_commit_callbacks(execute=True):  # the change is announced once committed
        api.patch(
            ad["url"],
            {"broadcasts": [{"media": f"{HOST}/medias/{other.public_id}/", "screens": [str(screen.pk)]}]},
            format="json",
        )
    assert client.post("/api/device/heartbeat", {}, format="json").json()["has_update"] is True
    changed = client.get("/api/device/playlist", HTTP_IF_NONE_MATCH=etag)
    assert changed.status_code == 200 and changed["ETag"] != etag
    assert changed.json()["content_to_delete"] == [picture.public_id]
    assert client.post("/api/device/heartbeat", {}, format="json").json()["has_update"] is False


def _playlist_queries(client) -> int:
    cache_clear_own()  # a cold cache: the playlist is built
    with CaptureQueriesContext(connection) as captured:
        response = client.get("/api/device/playlist")
    assert response.status_code == 200
    return len(captured), len(response.json()["playlist"]["items"])


def test_a_full_playlist_does_not_grow_with_campaigns(paired, fleet, make_media, make_screen, campaign, api):
    client = paired()
    medias = [make_media(fleet, name=f"m{index}") for index in range(3)]
    campaign(client.screen, medias[0], name="first")
    few, items = _playlist_queries(client)
    other = make_screen(fleet, "Other")
    for index in range(12):
        payload = {
            "name": f"multi{index}",
            "campaign_startdate": "2020-01-01",
            "multimedia_type": "playlist",
            "broadcasts": [
                {"media": f"{HOST}/medias/{m.public_id}/", "screens": [str(client.screen.pk), str(other.pk)]}
                for m in medias
            ],
        }
        assert api.post(f"{HOST}/ads/", payload, format="json").status_code == 201
    many, more_items = _playlist_queries(client)
    assert (items, more_items) == (1, 37)
    assert many == few


def test_tokens_are_not_interchangeable(paired, api, user):
    client = paired()
    device_token = client._credentials["HTTP_AUTHORIZATION"]
    assert APIClient().get(f"{HOST}/screens/", HTTP_AUTHORIZATION=device_token).status_code == 401
    user_token = api._credentials["HTTP_AUTHORIZATION"]
    assert APIClient().post("/api/device/heartbeat", {}, HTTP_AUTHORIZATION=user_token).status_code == 401
    assert APIClient().post("/api/device/heartbeat", {}, HTTP_AUTHORIZATION="Device not-a-token").status_code == 401
    # The uuid alone never authenticates, nor re-registers a known device.
    response = APIClient().post("/api/device/register", {"uuid": "player-abc123"}, format="json")
    assert response.status_code == 400 and response.json()["uuid"][0]["code"] == "registered"
    assert APIClient().get("/api/device/playlist?uuid=player-abc123").status_code == 401
    # With its token it updates itself.
    again = client.post("/api/device/register", {"uuid": "player-abc123", "app_version": "2.1.0"}, format="json")
    assert again.status_code == 200 and "device_token" not in again.json()
    assert Device.objects.get(uuid="player-abc123").app_version == "2.1.0"


def test_a_device_cannot_download_what_its_screen_does_not_need(paired, fleet, make_screen, make_media, campaign):
    mine, theirs = paired(), paired(screen=make_screen(fleet, "Elsewhere"), uuid="player-two")
    campaign(mine.screen, make_media(fleet, name="mine"), name="mine")
    campaign(theirs.screen, make_media(fleet, name="theirs"), name="theirs")
    their_url = theirs.get("/api/device/playlist").json()["playlist"]["items"][0]["download_url"]
    my_url = mine.get("/api/device/playlist").json()["playlist"]["items"][0]["download_url"]
    device_id = mine.registration["device_id"]
    # Their media under my device id: the signature does not match.
    forged = their_url.replace(f"device={theirs.registration['device_id']}", f"device={device_id}")
    assert APIClient().get(forged).status_code == 403
    expired = my_url.replace("expires=", "expires=1").split("&signature")[0] + "&signature=x"
    assert APIClient().get(expired).status_code == 403
    assert APIClient().get(my_url).status_code == 200
    # A screen of another fleet is never in reach either.
    assert APIClient().get(my_url.replace("picture-", "video-")).status_code in (403, 404)


def test_lookahead_emergencies_and_a_fixed_jitter(
    paired, fleet, make_media, campaign, django_capture_on_commit_callbacks
):
    from datetime import timedelta

    from django.utils import timezone

    client = paired()
    today = timezone.now().date()
    now_media, soon_media, later_media = (make_media(fleet, name=n) for n in ("now", "tomorrow", "next week"))
    campaign(client.screen, now_media, name="now")
    campaign(client.screen, soon_media, name="tomorrow", campaign_startdate=str(today + timedelta(days=1)))
    campaign(client.screen, later_media, name="next week", campaign_startdate=str(today + timedelta(days=7)))
    body = client.get("/api/device/playlist").json()
    assert [item["content_id"] for item in body["playlist"]["items"]] == [now_media.public_id]
    # Tomorrow's campaign is pre-loaded; next week's is not yet.
    assert sorted(c["content_id"] for c in body["content_to_download"]) == sorted(
        [now_media.public_id, soon_media.public_id]
    )
    beat = client.post("/api/device/heartbeat", {}, format="json").json()
    assert beat["emergency_alerts"] == []
    with django_capture_on_commit_callbacks(execute=True):
        alert = campaign(
            client.screen, make_media(fleet, name="evacuate"), name="Evacuate", campaign_type="event", emergency=True
        )
    client.get("/api/device/playlist")
    beats = [client.post("/api/device/heartbeat", {}, format="json").json() for _ in range(3)]
    assert beats[0]["emergency_alerts"] == [{"ad_id": alert["id"], "name": "Evacuate"}]
    assert len({beat["next_heartbeat_in"] for beat in beats}) == 1  # fixed per device


def test_jitter_spreads_a_fleet_that_boots_together():
    from apps.accounts.models import Fleet
    from apps.devices.models import Device
    from apps.devices.services import heartbeat_interval

    fleet = Fleet(name="f", heartbeat_interval=60)
    intervals = [heartbeat_interval(Device(uuid=f"box-{i}", fleet=fleet)) for i in range(200)]
    assert min(intervals) >= 54 and max(intervals) <= 66  # within ±10%
    assert len(set(intervals)) >= 10  # spread, not in step
