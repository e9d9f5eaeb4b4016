import uuid
from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from apps.accounts.models import Role
from apps.devices.models import Device, DeviceCommand
from apps.devices.services import devices_mark_offline
from apps.screens.models import Screen
from apps.stats.models import PlayEvent

from .conftest import HOST

pytestmark = pytest.mark.django_db


def test_wrong_and_expired_codes(api, player, fleet, make_screen):
    screen = make_screen(fleet)
    client = player()
    response = api.post(f"{HOST}/devices/pair/", {"pairing_code": "ZZZZZZ", "screen": str(screen.pk)}, format="json")
    assert response.status_code == 400
    assert response.json() == {"pairing_code": [{"message": "Unknown or expired pairing code.", "code": "invalid"}]}
    Device.objects.update(pairing_expires_at=timezone.now() - timedelta(seconds=1))
    code = client.registration["pairing_code"]
    assert (
        api.post(f"{HOST}/devices/pair/", {"pairing_code": code, "screen": str(screen.pk)}, format="json").status_code
        == 400
    )
    renewed = client.post("/api/device/register", {"uuid": "player-abc123"}, format="json").json()
    assert renewed["pairing_code"] != code
    response = api.post(
        f"{HOST}/devices/pair/", {"pairing_code": renewed["pairing_code"], "screen": str(screen.pk)}, format="json"
    )
    assert response.status_code == 200
    assert Device.objects.get().pairing_code is None  # the code is spent


def test_the_sixth_wrong_code_in_a_minute_is_429(api, fleet, make_screen, player):
    screen = make_screen(fleet)
    good = player().registration["pairing_code"]
    statuses = [
        api.post(
            f"{HOST}/devices/pair/", {"pairing_code": f"WRONG{i}", "screen": str(screen.pk)}, format="json"
        ).status_code
        for i in range(6)
    ]
    assert statuses == [400] * 5 + [429]
    # Even the right code waits now: guessing costs the guesser, not the device.
    assert (
        api.post(f"{HOST}/devices/pair/", {"pairing_code": good, "screen": str(screen.pk)}, format="json").status_code
        == 429
    )


def test_pairing_limits_hold_per_ip_across_users(client_for, make_member, fleet, make_screen):
    screen = make_screen(fleet)
    users = [client_for(make_member(fleet, Role.TECHNICIAN)) for _ in range(3)]
    # Eleven attempts from one address, no account making more than four (under its own limit of five).
    # The limit counts in fixed one-minute windows: eleven attempts fall in at most two of them, so one
    # holds at least six, and the address is refused whatever the window's boundary.
    statuses = [
        users[i % 3]
        .post(f"{HOST}/devices/pair/", {"pairing_code": "BADBAD", "screen": str(screen.pk)}, format="json")
        .status_code
        for i in range(11)
    ]
    assert statuses[:5] == [400] * 5 and 429 in statuses[5:]


def test_pairing_needs_a_role_on_a_screen_of_ones_own(client_for, make_member, fleet, other_fleet, make_screen, player):
    code = player().registration["pairing_code"]
    viewer = client_for(make_member(fleet, Role.VIEWER))
    technician = client_for(make_member(fleet, Role.TECHNICIAN))
    theirs = make_screen(other_fleet)
    assert (
        viewer.post(
            f"{HOST}/devices/pair/", {"pairing_code": code, "screen": str(make_screen(fleet).pk)}, format="json"
        ).status_code
        == 403
    )
    response = technician.post(f"{HOST}/devices/pair/", {"pairing_code": code, "screen": str(theirs.pk)}, format="json")
    assert response.status_code == 400 and response.json()["screen"][0]["code"] == "does_not_exist"
    assert Device.objects.get().screen is None


def test_commands_round_trip(api, paired):
    client = paired()
    device = Device.objects.get()
    url = f"{HOST}/devices/{device.pk}/"
    response = api.post(f"{url}command/", {"type": "set_volume", "payload": {"volume": 50}}, format="json")
    assert response.status_code == 201
    command = response.json()
    assert (command["type"], command["payload"], command["delivered_at"], command["succeeded_at"]) == (
        "set_volume",
        {"volume": 50},
        None,
        None,
    )
    for bad in (
        {"type": "set_volume", "payload": {"volume": 150}},
        {"type": "explode"},
        {"type": "reboot", "payload": {"now": True}},
        {"type": "play_ad", "payload": {"ad": str(uuid.uuid4())}},
    ):
        assert api.post(f"{url}command/", bad, format="json").status_code == 400
    beat = client.post("/api/device/heartbeat", {}, format="json").json()
    assert beat["has_pending_commands"] is True
    assert beat["pending_commands"] == [{"id": command["id"], "type": "set_volume", "payload": {"volume": 50}}]
    assert client.post("/api/device/heartbeat", {}, format="json").json()["pending_commands"] == []  # delivered once
    reboot = api.post(f"{url}command/", {"type": "reboot"}, format="json").json()
    client.post(
        "/api/device/heartbeat",
        {"command_results": [{"id": command["id"], "status": "succeeded", "result": {"volume": 50}}]},
        format="json",
    )
    result = client.post(
        f"/api/device/commands/{reboot['id']}/result", {"status": "failed", "result": "busy"}, format="json"
    )
    assert result.status_code == 200
    listed = {c["id"]: c for c in api.get(f"{url}commands/").json()["results"]}
    assert listed[command["id"]]["succeeded_at"] and listed[command["id"]]["result"] == {"volume": 50}
    assert listed[reboot["id"]]["failed_at"] and listed[reboot["id"]]["succeeded_at"] is None
    # Another device cannot report on this one's commands.
    other = paired(uuid="player-two")
    assert (
        other.post(f"/api/device/commands/{command['id']}/result", {"status": "failed"}, format="json").status_code
        == 400
    )


def test_lock_and_unlock(api, paired):
    client = paired()
    device = Device.objects.get()
    assert api.post(f"{HOST}/devices/{device.pk}/lock/", {"pin": "12a4"}, format="json").status_code == 400
    assert api.post(f"{HOST}/devices/{device.pk}/lock/", {"pin": "1234"}, format="json").json()["is_locked"] is True
    beat = client.post("/api/device/heartbeat", {}, format="json").json()
    assert (beat["is_locked"], beat["lock_pin"]) == (True, "1234")
    assert [c["type"] for c in beat["pending_commands"]] == ["lock"]
    api.post(f"{HOST}/devices/{device.pk}/unlock/", format="json")
    beat = client.post("/api/device/heartbeat", {}, format="json").json()
    assert (beat["is_locked"], beat["lock_pin"]) == (False, None)


def test_bad_telemetry_is_400(paired):
    client = paired()
    for payload in ({"volume": 101}, {"ip_address": "not an ip"}, {"wifi_signal": "strong"}, {"uuid": "someone-else"}):
        assert client.post("/api/device/heartbeat", payload, format="json").status_code == 400


def test_offline_after_one_and_a_half_intervals(paired, fleet):
    client = paired()
    client.post("/api/device/heartbeat", {}, format="json")
    device = Device.objects.get()
    assert device.online and Screen.objects.get(pk=device.screen_id).online
    Device.objects.update(last_seen_at=timezone.now() - timedelta(seconds=fleet.heartbeat_interval * 1.4))
    assert devices_mark_offline() == (0, 0)
    Device.objects.update(last_seen_at=timezone.now() - timedelta(seconds=fleet.heartbeat_interval * 1.6))
    assert devices_mark_offline() == (1, 1)
    screen = Screen.objects.get(pk=device.screen_id)
    assert not screen.online and screen.online_modified_date is not None
    client.post("/api/device/heartbeat", {}, format="json")
    assert Screen.objects.get(pk=device.screen_id).online


def test_stats_are_stored_once(paired, fleet, make_media, campaign, other_fleet):
    client = paired()
    media = make_media(fleet)
    ad = campaign(client.screen, media)
    event = {
        "id": str(uuid.uuid4()),
        "media": media.public_id,
        "ad": ad["id"],
        "broadcast": ad["broadcasts"][0]["id"],
        "started_at": timezone.now().isoformat(),
        "duration": 10,
    }
    batch = {"events": [event, {**event, "id": str(uuid.uuid4())}]}
    assert client.post("/api/device/stats", batch, format="json").json() == {"received": 2, "stored": 2}
    assert client.post("/api/device/stats", batch, format="json").json() == {"received": 2, "stored": 0}
    assert PlayEvent.objects.count() == 2 and PlayEvent.objects.first().screen_id == client.screen.pk
    from apps.ads.models import Ad

    foreign = Ad.objects.create(fleet=other_fleet, name="x", campaign_startdate="2026-01-01")
    bad = {"events": [{**event, "id": str(uuid.uuid4()), "ad": str(foreign.pk)}]}
    assert client.post("/api/device/stats", bad, format="json").status_code == 400


def test_management_list_filters_patch_and_delete(
    api, paired, fleet, make_screen, other_fleet, client_for, make_member
):
    client = paired()
    client.post("/api/device/heartbeat", {"app_version": "2.0.0"}, format="json")
    device = Device.objects.get()
    listed = api.get(f"{HOST}/devices/").json()
    assert listed["count"] == 1 and listed["results"][0]["status"] == "online"
    assert api.get(f"{HOST}/devices/?status=offline").json()["count"] == 0
    assert api.get(f"{HOST}/devices/?app_version=2.0.0&online=true").json()["count"] == 1
    assert api.get(f"{HOST}/devices/?search=abc123").json()["count"] == 1
    other_screen = make_screen(fleet, "Second")
    response = api.patch(
        f"{HOST}/devices/{device.pk}/",
        {"name": "Renamed", "barcode": "BC-1", "sticker": "ST-9", "screen": str(other_screen.pk)},
        format="json",
    )
    assert response.status_code == 200 and response.json()["barcode"] == "BC-1"
    assert api.get(f"{HOST}/screens/?barcode=BC-0,BC-1").json()["results"][0]["name"] == "Second"
    assert api.get(f"{HOST}/screens/?sticker=ST-9").json()["count"] == 1
    assert api.get(f"{HOST}/screens/?search=bc-1").json()["count"] == 1
    assert api.get(f"{HOST}/screens/{other_screen.pk}/").json()["players"] == [
        {"id": device.pk, "barcode": "BC-1", "sticker": "ST-9"}
    ]
    outsider = client_for(make_member(other_fleet))
    assert outsider.get(f"{HOST}/devices/{device.pk}/").status_code == 404
    assert outsider.get(f"{HOST}/devices/").json()["count"] == 0
    technician = client_for(make_member(fleet, Role.TECHNICIAN))
    assert technician.delete(f"{HOST}/devices/{device.pk}/").status_code == 403
    assert api.delete(f"{HOST}/devices/{device.pk}/").status_code == 204
    assert client.post("/api/device/heartbeat", {}, format="json").status_code == 401


def test_remote_call_urls_queue_play_ad(api, paired, fleet, make_media, campaign):
    client = paired()
    ad = campaign(client.screen, make_media(fleet))
    urls = api.get(f"{HOST}/ads/{ad['id']}/remote_call_urls/").json()
    assert [item["screen_name"] for item in urls] == ["Lobby"]
    response = APIClient().post(urls[0]["remote_call_url"].replace("http://testserver", ""))
    assert response.status_code == 202 and response.json()["queued"] == 1
    assert DeviceCommand.objects.get().payload == {"ad": ad["id"]}
    assert APIClient().post("/remote/call/forged-token/").status_code == 404
    remote = api.get(f"{HOST}/screens/{client.screen.pk}/remote_url/").json()["remote_url"]
    page = APIClient().get(remote.replace("http://testserver", ""))
    assert page.status_code == 200 and b"Lobby" in page.content
