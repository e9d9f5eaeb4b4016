"""Uptime (reference 004): every online/offline change of a player is kept; uptime, downtime and offline
ranges are computed from them."""

import os
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from apps.devices.models import Device, DeviceConnectivity
from apps.devices.services import devices_flush_heartbeats, devices_mark_offline

from .conftest import Player

pytestmark = pytest.mark.django_db

HOST = "/api/management/v2"
NOW = timezone.now().replace(microsecond=0)


def hours(n):
    return timedelta(hours=n)


@pytest.fixture(autouse=True)
def _now():
    """NOW is when the test starts (the suite may have run for minutes before)."""
    global NOW, WINDOW
    NOW = timezone.now().replace(microsecond=0)
    WINDOW = {"since": (NOW - hours(8)).isoformat(), "until": (NOW - hours(1)).isoformat()}


def at(player, changes):
    """Give a player a history: registered 10 hours ago, then (hours ago, online) changes."""
    Device.objects.filter(pk=player.device.pk).update(created=NOW - hours(10))
    DeviceConnectivity.objects.filter(device=player.device).delete()
    DeviceConnectivity.objects.bulk_create(
        DeviceConnectivity(device=player.device, fleet=player.device.fleet, online=online, at=NOW - hours(ago))
        for ago, online in changes
    )


HISTORY = [(9, True), (6, False), (5, True), (2, False)]
WINDOW = {"since": (NOW - hours(8)).isoformat(), "until": (NOW - hours(1)).isoformat()}


def test_uptime_and_offline_ranges_of_a_player(api, fleet, make_screen):
    player = Player(make_screen(fleet, "Hall"))
    at(player, HISTORY)
    body = api.get(f"{HOST}/devices/{player.device.pk}/uptime/", WINDOW).json()
    assert (body["uptime"], body["downtime"], body["total"]) == (5 * 3600, 2 * 3600, 7 * 3600)
    assert body["availability_percent"] == round(100 * 5 / 7, 2)
    ranges = api.get(f"{HOST}/devices/{player.device.pk}/offline_ranges/", WINDOW).json()
    assert [(r["since"], r["until"], r["seconds"], r["ongoing"]) for r in ranges] == [
        ((NOW - hours(6)).isoformat().replace("+00:00", "Z"), (NOW - hours(5)).isoformat().replace("+00:00", "Z"),
         3600, False),
        ((NOW - hours(2)).isoformat().replace("+00:00", "Z"), (NOW - hours(1)).isoformat().replace("+00:00", "Z"),
         3600, False),
    ]  # fmt: skip


def test_the_window_starts_at_registration_and_ends_now(api, fleet, make_screen):
    player = Player(make_screen(fleet, "Hall"))
    at(player, HISTORY)
    body = api.get(f"{HOST}/devices/{player.device.pk}/uptime/", {"since": (NOW - hours(48)).isoformat()}).json()
    assert 10 * 3600 <= body["total"] < 10 * 3600 + 60  # registered 10 hours ago; nothing after now
    assert body["uptime"] == 6 * 3600  # 9h..6h and 5h..2h ago
    ranges = api.get(f"{HOST}/devices/{player.device.pk}/offline_ranges/", {"since": (NOW - hours(48)).isoformat()})
    assert [r["ongoing"] for r in ranges.json()] == [False, False, True]  # before the first change, the gap, now


def test_the_real_paths_record_each_change(api, fleet, make_screen):
    player = Player(make_screen(fleet, "Hall"))
    assert player.client.post("/api/device/heartbeat", {}, format="json").status_code == 200
    assert list(DeviceConnectivity.objects.values_list("online", flat=True)) == [True]
    player.client.post("/api/device/heartbeat", {}, format="json")
    devices_flush_heartbeats()
    assert DeviceConnectivity.objects.count() == 1  # no change, nothing new
    # Move the story 20 minutes back: registered and online then, silent for the last 10 minutes.
    then = timezone.now() - timedelta(minutes=20)
    Device.objects.filter(pk=player.device.pk).update(created=then)
    DeviceConnectivity.objects.update(at=then)
    silent_since = timezone.now() - timedelta(minutes=10)
    Device.objects.filter(pk=player.device.pk).update(last_seen_at=silent_since)
    assert devices_mark_offline()[0] == 1
    offline = DeviceConnectivity.objects.order_by("id").last()
    assert (offline.online, offline.at, offline.fleet_id) == (False, silent_since, fleet.pk)
    assert player.client.post("/api/device/heartbeat", {}, format="json").status_code == 200
    assert list(DeviceConnectivity.objects.order_by("id").values_list("online", flat=True)) == [True, False, True]
    ranges = api.get(f"{HOST}/devices/{player.device.pk}/offline_ranges/").json()
    assert len(ranges) == 1 and ranges[0]["since"].startswith(silent_since.isoformat()[:19])


@pytest.mark.skipif(not os.environ.get("REDIS_URL"), reason="the lean path needs Redis (REDIS_URL)")
def test_a_device_seen_back_through_the_lean_flush_is_recorded_online(fleet, make_screen):
    player = Player(make_screen(fleet, "Hall"))
    player.client.post("/api/device/heartbeat", {}, format="json")  # full path: online, lean record made
    player.client.post("/api/device/heartbeat", {}, format="json")  # lean: buffered
    # Marked offline meanwhile (the buffered heartbeat not yet flushed): the flush brings it back.
    Device.objects.filter(pk=player.device.pk).update(online=False)
    DeviceConnectivity.objects.create(device=player.device, fleet=fleet, online=False, at=timezone.now())
    assert devices_flush_heartbeats() == 1
    assert list(DeviceConnectivity.objects.order_by("id").values_list("online", flat=True)) == [True, False, True]
    assert Device.objects.get(pk=player.device.pk).online


def test_fleet_uptime_sums_your_players_only(api, fleet, other_fleet, make_screen, client_for, make_member):
    players = [Player(make_screen(fleet, f"S{i}")) for i in range(2)]
    for player in players:
        at(player, HISTORY)
    theirs = Player(make_screen(other_fleet, "Mall"))
    at(theirs, [(9, True)])
    body = api.get(f"{HOST}/uptime/", WINDOW).json()
    assert (body["uptime"], body["total"]) == (2 * 5 * 3600, 2 * 7 * 3600)
    one = api.get(f"{HOST}/uptime/", {**WINDOW, "device": str(players[0].device.pk)}).json()
    assert one["uptime"] == 5 * 3600
    assert api.get(f"{HOST}/uptime/", {**WINDOW, "device": str(theirs.device.pk)}).json()["total"] == 0
    assert api.get(f"{HOST}/uptime/", {**WINDOW, "fleet": str(other_fleet.pk)}).json()["total"] == 0
    assert api.get(f"{HOST}/devices/{theirs.device.pk}/uptime/", WINDOW).status_code == 404
    assert api.get(f"{HOST}/devices/{theirs.device.pk}/offline_ranges/", WINDOW).status_code == 404
    theirs_view = client_for(make_member(other_fleet)).get(f"{HOST}/uptime/", WINDOW).json()
    assert theirs_view["uptime"] == 7 * 3600


def test_fleet_uptime_costs_the_same_queries_for_2_and_12_players(api, fleet, make_screen):
    counts = []
    for size in (2, 10):
        for i in range(size):
            at(Player(make_screen(fleet, f"S{size}-{i}")), HISTORY)
        with CaptureQueriesContext(connection) as queries:
            assert api.get(f"{HOST}/uptime/", WINDOW).status_code == 200
        counts.append(len(queries))
    assert counts[0] == counts[1]


@pytest.mark.parametrize(
    "params",
    [
        {"since": "yesterday"},
        {"since": WINDOW["until"], "until": WINDOW["since"]},
        {"since": (NOW - timedelta(days=400)).isoformat()},
        {"device": "x"},
    ],
)
def test_bad_uptime_queries_are_400(api, params):
    assert api.get(f"{HOST}/uptime/", params).status_code == 400
