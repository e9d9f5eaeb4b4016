"""The lean device path (issue 17): idle heartbeats and unchanged playlists in one Redis round trip and no
SQL; last-seen and telemetry buffered and flushed in bulk; playlist states rebuilt off the request path."""

import json
import os
import time
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.test import APIClient

from apps.devices.lean import DECLINED
from apps.devices.models import Device, DeviceCommand
from apps.devices.services import devices_flush_heartbeats, devices_mark_offline
from apps.devices.tasks import rebuild_playlists
from apps.screens.models import Screen
from signage import kv
from signage.scopes import fleet_guard
from tests.conftest import cache_clear_own

from .conftest import HOST, RedisRoundTrips
from .test_lean_playlist import comparable

pytestmark = [
    pytest.mark.django_db,
    # The lean path is Redis itself (CI runs on Redis); without it the full path serves, tested elsewhere.
    pytest.mark.skipif(not os.environ.get("REDIS_URL"), reason="the lean path needs Redis (REDIS_URL)"),
]


def test_idle_heartbeat_and_304_cost_no_sql_and_one_redis_round_trip(warm, monkeypatch):
    trips = RedisRoundTrips(monkeypatch)
    with CaptureQueriesContext(connection) as beat:
        response = warm.post("/api/device/heartbeat", {"volume": 50, "wifi_signal": -60}, format="json")
    assert (len(beat), trips.count) == (0, 1), [query["sql"] for query in beat.captured_queries]
    body = response.json()
    assert body["status"] == "ok" and body["has_update"] is False and body["paired"] is True
    assert body["pending_commands"] == [] and body["is_locked"] is False and 54 <= body["next_heartbeat_in"] <= 66
    assert int(response["X-RateLimit-Remaining"]) < int(response["X-RateLimit-Limit"])
    trips.count = 0
    with CaptureQueriesContext(connection) as not_modified:
        response = warm.get("/api/device/playlist", HTTP_IF_NONE_MATCH=warm.etag)
    assert (response.status_code, response.content, len(not_modified), trips.count) == (304, b"", 0, 1)
    assert response["ETag"] == warm.etag


def test_telemetry_and_last_seen_are_written_by_the_flush(warm):
    device = Device.objects.get()
    before = device.last_seen_at
    warm.post("/api/device/heartbeat", {"volume": 50, "wifi_signal": -60, "current_content": "m1"}, format="json")
    warm.post("/api/device/heartbeat", {"volume": 40, "temperature": 41.5, "ip_address": "10.0.0.7"}, format="json")
    device.refresh_from_db()
    assert device.volume is None and device.last_seen_at == before  # buffered, not yet written
    with CaptureQueriesContext(connection) as flush:
        assert devices_flush_heartbeats() == 1
    device.refresh_from_db()
    # The two heartbeats merged field by field: the later value wins, fields sent once are kept.
    assert (device.volume, device.wifi_signal, device.temperature, device.ip_address, device.current_content) == (
        40,
        -60,
        41.5,
        "10.0.0.7",
        "m1",
    )
    assert device.last_seen_at > before
    assert len([q for q in flush.captured_queries if "UPDATE" in q["sql"]]) == 1
    assert devices_flush_heartbeats() == 0  # the buffer was emptied


def test_the_flush_writes_thousands_of_devices_in_one_statement_per_batch(fleet, make_screen):
    from apps.devices.services import devices_record_seen

    now = timezone.now()
    screen = make_screen(fleet, "Hall")
    Device.objects.bulk_create(
        Device(uuid=f"bulk-{i}", token_hash=f"{i:064x}", fleet=fleet, screen=screen) for i in range(1200)
    )
    ids = list(Device.objects.values_list("pk", flat=True))
    for size in (10, 1200):
        with CaptureQueriesContext(connection) as captured:
            came_online = devices_record_seen(
                seen={pk: now for pk in ids[:size]}, telemetry={pk: {"volume": 7} for pk in ids[:size]}
            )
        updates = [q for q in captured.captured_queries if q["sql"].lstrip().startswith(("WITH", "UPDATE"))]
        # One statement for all the devices; the screen is written once, when it comes online.
        assert len(updates) == (2 if size == 10 else 1), [q["sql"][:60] for q in updates]
        assert len(came_online) == (10 if size == 10 else 1190)
    assert Device.objects.filter(online=True, volume=7).count() == 1200
    assert Screen.objects.get(pk=screen.pk).online


def _lean_players(fleet, screen, size: int) -> list[Device]:
    """`size` players of `screen`, online, with the records the lean path answers from; the screen's playlist
    summary published."""
    from apps.devices.models import token_hash
    from apps.devices.playlist import summary_key
    from apps.devices.records import remember_many

    Device.objects.bulk_create(
        Device(uuid=f"{screen.pk}-{i}", token_hash=token_hash(f"{screen.pk}-{i}"), fleet=fleet, screen=screen,
               online=True)
        for i in range(size)
    )  # fmt: skip
    players = Device.objects.filter(screen=screen).select_related("fleet").order_by("pk")
    remember_many(players)
    kv.client().set(kv.key(summary_key(screen.pk)), f"{'0' * 64} {time.time() + 3600:.0f} []")
    return list(players)


def _buffer(players, body: dict, at: float) -> None:
    """Heartbeats of `players` buffered by the lean path's own script, with the arguments its handler sends."""
    from apps.devices import lean
    from apps.devices.playlist import summary_key

    limits, _ = lean._rate_limit_arguments(at, "POST")
    pairs = [item for field, value in body.items() for item in (field, json.dumps(value))]
    for player in players:
        keys = kv.keys(lean._record_key(player.token_hash), lean.SEEN, lean.TELEMETRY)
        reply = kv.run_script(
            lean.HEARTBEAT, keys=keys, args=["", f"{at:.3f}", kv.key(summary_key("")), *limits, *pairs]
        )
        assert reply.startswith(b"3"), reply


@pytest.mark.skipif(connection.vendor != "postgresql", reason="one statement per batch is PostgreSQL's")
def test_the_flush_costs_the_same_statements_for_10_or_300_heartbeats(fleet, make_screen):
    from apps.devices.models import DeviceConnectivity, TelemetrySample

    counts = []
    for size in (10, 300):
        screen = make_screen(fleet, f"Wall {size}")
        players = _lean_players(fleet, screen, size)
        Device.objects.filter(screen=screen).update(online=False)  # marked offline after their records were kept
        now = time.time()
        _buffer(players, {"volume": 50, "wifi_signal": -60, "uptime_seconds": 1000}, now)
        with CaptureQueriesContext(connection) as back:  # back online, and their screen with them
            assert devices_flush_heartbeats() == size
        _buffer(players, {"volume": 50, "wifi_signal": -60, "uptime_seconds": 1005}, now + 5)
        with CaptureQueriesContext(connection) as steady:  # nothing new but last-seen and uptime
            assert devices_flush_heartbeats() == size
        counts.append((len(back), len(steady)))
        seen = datetime.fromtimestamp(float(f"{now + 5:.3f}"), tz=UTC)
        written = Device.objects.filter(screen=screen, online=True, last_seen_at=seen, volume=50, wifi_signal=-60)
        assert written.filter(uptime_seconds=1005).count() == size
        assert Screen.objects.get(pk=screen.pk).online
        assert DeviceConnectivity.objects.filter(device__screen=screen, online=True).count() == size
        history = TelemetrySample.objects.filter(device__screen=screen)
        assert (history.count(), history.filter(is_latest=True).count()) == (3 * size, 3 * size)
    assert counts[0] == counts[1], counts
    assert counts[1][1] == 3, steady.captured_queries  # savepoint, one statement, release


def test_the_flush_writes_batches_in_the_order_of_ids_and_skips_deleted_players(fleet, make_screen, monkeypatch):
    from apps.devices import services

    monkeypatch.setattr(services, "FLUSH_BATCH", 3)
    screen = make_screen(fleet, "Hall")
    players = _lean_players(fleet, screen, 7)
    now = time.time()
    for number, player in enumerate(players):
        _buffer([player], {"volume": number, "current_content": f"m{number}"}, now + number)
    gone = players.pop(5)
    gone.delete()  # its heartbeat stays in the buffer
    with CaptureQueriesContext(connection) as captured:
        assert devices_flush_heartbeats() == 7
    if connection.vendor == "postgresql":
        assert len([q for q in captured.captured_queries if q["sql"].lstrip().startswith("WITH")]) == 3
    for player in players:
        player.refresh_from_db()
        number = int(player.current_content[1:])
        assert player.volume == number
        assert player.last_seen_at == datetime.fromtimestamp(float(f"{now + number:.3f}"), tz=UTC)
    # The screen came online with the first batch (the three lowest ids), at its latest heartbeat.
    first = datetime.fromtimestamp(float(f"{now + 2:.3f}"), tz=UTC)
    assert Screen.objects.get(pk=screen.pk).online_modified_date == first


def test_offline_and_back_online_exact_within_the_flush(warm, fleet):
    device = Device.objects.get()
    warm.post("/api/device/heartbeat", {}, format="json")  # buffered
    Device.objects.update(last_seen_at=timezone.now() - timedelta(seconds=fleet.heartbeat_interval * 2))
    # The buffered heartbeat is flushed before deciding: a device just seen does not go offline.
    assert devices_mark_offline() == (0, 0)
    Device.objects.update(last_seen_at=timezone.now() - timedelta(seconds=fleet.heartbeat_interval * 2))
    assert devices_mark_offline() == (1, 1)
    assert not Screen.objects.get(pk=device.screen_id).online
    # Offline, its record is forgotten: the next heartbeat takes the full path and comes back online at once.
    with CaptureQueriesContext(connection) as captured:
        warm.post("/api/device/heartbeat", {}, format="json")
    assert len(captured) > 0
    device.refresh_from_db()
    assert device.online and Screen.objects.get(pk=device.screen_id).online


def test_a_device_flipped_offline_under_a_buffered_heartbeat_comes_back_with_the_flush(warm):
    device = Device.objects.get()
    warm.post("/api/device/heartbeat", {}, format="json")  # the lean path: buffered
    Device.objects.update(online=False)  # as if marked offline just before the heartbeat arrived
    Screen.objects.update(online=False)
    devices_flush_heartbeats()
    device.refresh_from_db()
    assert device.online and Screen.objects.get(pk=device.screen_id).online


def test_commands_locks_and_deletion_reach_a_lean_device_at_once(warm, api):
    device = Device.objects.get()
    assert warm.post("/api/device/heartbeat", {}, format="json").json()["pending_commands"] == []
    command = api.post(f"{HOST}/devices/{device.pk}/command/", {"type": "reboot"}, format="json").json()
    beat = warm.post("/api/device/heartbeat", {}, format="json").json()
    assert [c["id"] for c in beat["pending_commands"]] == [command["id"]]
    assert DeviceCommand.objects.get(pk=command["id"]).delivered_at is not None
    assert warm.post("/api/device/heartbeat", {}, format="json").json()["pending_commands"] == []
    api.post(f"{HOST}/devices/{device.pk}/lock/", {"pin": "4321"}, format="json")
    warm.post("/api/device/heartbeat", {}, format="json")  # delivers the lock command
    beat = warm.post("/api/device/heartbeat", {}, format="json").json()
    assert (beat["is_locked"], beat["lock_pin"]) == (True, "4321")
    assert api.delete(f"{HOST}/devices/{device.pk}/").status_code == 204
    assert warm.post("/api/device/heartbeat", {}, format="json").status_code == 401
    assert warm.get("/api/device/playlist", HTTP_IF_NONE_MATCH=warm.etag).status_code == 401


def test_a_heartbeat_interval_changed_in_a_request_reaches_the_fleets_lean_devices(warm):
    fleet = Device.objects.get().fleet
    fleet.heartbeat_interval = 120
    with fleet_guard():  # as the console's fleet page saves it, under the request's fleet guard
        fleet.save()
    assert 108 <= warm.post("/api/device/heartbeat", {}, format="json").json()["next_heartbeat_in"] <= 132


def test_a_screen_deleted_unpairs_its_lean_device(warm, api):
    warm.screen.delete()
    beat = warm.post("/api/device/heartbeat", {}, format="json").json()
    assert (beat["paired"], beat["has_update"]) == (False, False)
    assert warm.get("/api/device/playlist", HTTP_IF_NONE_MATCH=warm.etag).status_code == 403


def test_doubtful_bodies_take_the_full_path_and_its_errors(warm):
    for payload in (
        {"volume": 101},
        {"volume": True},
        {"ip_address": "not an ip"},
        {"wifi_signal": "strong"},
        {"uuid": "someone-else"},
        {"current_content": "nul\x00byte"},
        {"temperature": 1e9},
    ):
        response = warm.post("/api/device/heartbeat", payload, format="json")
        assert response.status_code == 400, payload
    device = Device.objects.get()
    devices_flush_heartbeats()
    device.refresh_from_db()
    assert device.volume is None and device.current_content == ""  # nothing of them was buffered
    # Plain but unusual values are fine through the full path too.
    assert warm.post("/api/device/heartbeat", {"volume": "50"}, format="json").status_code == 200
    assert warm.post("/api/device/heartbeat", {"uuid": "player-abc123"}, format="json").status_code == 200


def test_the_lean_path_counts_the_rate_limit_once_and_refuses_past_it(warm, settings):
    settings.SIGNAGE_RATE_LIMITS = [("device", ["*"], 1000, 3), ("*", ["*"], 1000, 1000)]

    for key in kv.client().keys("*rl:device:*"):
        kv.client().delete(key)
    statuses = [warm.post("/api/device/heartbeat", {}, format="json") for _ in range(4)]
    assert [response.status_code for response in statuses] == [200, 200, 200, 429]
    refused = statuses[-1]
    assert refused.json()["code"] == "throttled" and int(refused["Retry-After"]) > 0
    assert refused["X-RateLimit-Remaining"] == "0"
    assert warm.get("/api/device/playlist", HTTP_IF_NONE_MATCH=warm.etag).status_code == 429


def test_a_content_change_is_rebuilt_off_the_request_path(warm, replace_media, monkeypatch):
    old, _ = replace_media()
    trips = RedisRoundTrips(monkeypatch)
    with CaptureQueriesContext(connection) as captured:
        beat = warm.post("/api/device/heartbeat", {}, format="json").json()
    assert (beat["has_update"], len(captured), trips.count) == (True, 0, 1)
    # The old ETag is no longer current: the lean path answers with the new playlist, as the full view would.
    trips.count = 0
    with CaptureQueriesContext(connection) as captured:
        changed = warm.get("/api/device/playlist", HTTP_IF_NONE_MATCH=warm.etag)
    assert (changed.status_code, len(captured), trips.count) == (200, 0, 3)  # no 304, the full body, its record
    full_view = warm.get("/api/device/playlist", HTTP_IF_NONE_MATCH=warm.etag, **{DECLINED: True})
    assert changed["ETag"] != warm.etag and changed["ETag"] == full_view["ETag"]
    lean, full = comparable(changed.json()), comparable(full_view.json())
    assert (lean.pop("content_to_delete"), full.pop("content_to_delete"), lean) == ([old], [], full)
    assert warm.post("/api/device/heartbeat", {}, format="json").json()["has_update"] is False


def test_a_rebuild_costs_one_query_phase_per_batch(fleet, make_screen, make_media, player, api):

    from apps.ads.models import Ad, Broadcast, BroadcastScreen
    from apps.devices.playlist import DIRTY, screens_mark
    from signage import kv

    media = make_media(fleet, name="m")
    counts = []
    for size in (3, 30):
        screens = [make_screen(fleet, f"S{size}-{i}") for i in range(size)]
        ad = Ad.objects.create(fleet=fleet, name=f"c{size}", campaign_startdate="2020-01-01")
        broadcast = Broadcast.objects.create(ad=ad, media=media, order=0)
        BroadcastScreen.objects.bulk_create(BroadcastScreen(broadcast=broadcast, screen=s) for s in screens)
        cache_clear_own()  # this test's keys only: cache.clear() is a FLUSHDB of the shared Redis db
        kv.client().sadd(kv.key(DIRTY), *[str(s.pk) for s in screens])
        with CaptureQueriesContext(connection) as captured:
            assert rebuild_playlists() == size
        counts.append(len(captured))
        assert kv.client().exists(*[kv.key(f"playlist-summary:{s.pk}") for s in screens]) == size
    assert counts[0] == counts[1]
    screens_mark([])  # nothing to mark: nothing happens


def test_a_rebuild_goes_soonest_heartbeat_first(fleet, make_screen, monkeypatch):
    """A player learns of its new playlist at its next heartbeat: the screens whose players are due first
    are rebuilt first (last seen in the database, or more recently in the lean path's buffer), screens
    without a player last, and the first batch is small so it is published within moments."""
    from apps.devices import playlist
    from apps.devices.lean import SEEN
    from apps.devices.playlist import BATCH, FIRST_BATCH, rebuild_order
    from signage import kv

    from .factories import DeviceFactory

    now = timezone.now()
    late, soon, buffered, alone = (make_screen(fleet, name) for name in ("late", "soon", "buffered", "alone"))
    DeviceFactory(screen=late, last_seen_at=now - timedelta(seconds=5))
    DeviceFactory(screen=soon, last_seen_at=now - timedelta(seconds=50))
    device = DeviceFactory(screen=buffered, last_seen_at=now - timedelta(seconds=55))
    kv.client().hset(kv.key(SEEN), str(device.pk), f"{now.timestamp() - 1:.3f}")  # beat a second ago: due last
    try:
        ids = [str(screen.pk) for screen in (alone, buffered, late, soon)]
        assert rebuild_order(ids) == [[str(soon.pk), str(late.pk), str(buffered.pk), str(alone.pk)]]
        monkeypatch.setattr(playlist, "ORDER_CHUNK", 2)  # the players read in several queries: the same order
        assert rebuild_order(ids) == [[str(soon.pk), str(late.pk), str(buffered.pk), str(alone.pk)]]
        many = [str(uuid.uuid4()) for _ in range(FIRST_BATCH + BATCH + 1)]
        assert [len(batch) for batch in rebuild_order(many)] == [FIRST_BATCH, BATCH, 1]
        assert rebuild_order([]) == []
    finally:
        kv.client().hdel(kv.key(SEEN), str(device.pk))


def test_screens_of_one_shape_share_their_state_and_others_keep_their_own(fleet, make_screen, make_media):
    """Built together or one by one, every screen gets the same state: screens that differ in timezone,
    opening hours or their own loop indexes are not merged with the others."""
    from apps.ads.models import Ad, Broadcast, BroadcastScreen
    from apps.devices.playlist import build_state, build_states

    first, second = make_media(fleet, name="first"), make_media(fleet, name="second")
    screens = [make_screen(fleet, f"same-{i}", timezone="Europe/Paris") for i in range(3)]
    screens.append(make_screen(fleet, "elsewhere", timezone="America/Los_Angeles"))
    screens.append(make_screen(fleet, "closed", timezone="Europe/Paris", opening_hours={"1": [["00:00", "00:01"]]}))
    indexed = make_screen(fleet, "indexed", timezone="Europe/Paris")
    screens.append(indexed)
    ad = Ad.objects.create(fleet=fleet, name="c", campaign_startdate="2020-01-01")
    broadcasts = [Broadcast.objects.create(ad=ad, media=media, order=n) for n, media in enumerate((first, second))]
    broadcasts[1].screens_loop_indexes = {str(indexed.pk): [0]}  # first on this screen only
    broadcasts[1].save()
    BroadcastScreen.objects.bulk_create(BroadcastScreen(broadcast=b, screen=s) for b in broadcasts for s in screens)
    at = timezone.now()
    together = build_states(screens, at)
    assert together == {screen.pk: build_state(screen, at) for screen in screens}
    assert together[screens[0].pk] is together[screens[1].pk] is together[screens[2].pk]
    assert len({id(state) for state in together.values()}) == 4
    assert [item["media_id"] for item in together[indexed.pk]["items"]] == [second.pk, first.pk]
    assert [item["media_id"] for item in together[screens[0].pk]["items"]] == [first.pk, second.pk]


def test_a_fetch_lost_with_redis_before_its_flush_costs_one_more_fetch(warm):
    cache_clear_own()  # the fetch buffer went with the rest
    assert warm.post("/api/device/heartbeat", {}, format="json").json()["has_update"] is True
    assert warm.get("/api/device/playlist").json()["etag"] == warm.etag.strip('"')
    assert warm.post("/api/device/heartbeat", {}, format="json").json()["has_update"] is False


def test_an_expired_state_is_rebuilt_by_the_sweep(warm):
    from apps.devices.playlist import DUE, summary_key
    from signage import kv

    redis = kv.client()
    redis.zadd(kv.key(DUE), {str(warm.screen.pk): 0})  # as if its valid-until had passed
    redis.set(kv.key(summary_key(warm.screen.pk)), "0" * 64 + " 0 []")  # and it had played something else
    assert warm.post("/api/device/heartbeat", {}, format="json").json()["has_update"] is True  # the old state
    assert rebuild_playlists() == 1
    assert warm.post("/api/device/heartbeat", {}, format="json").json()["has_update"] is False
    assert redis.zscore(kv.key(DUE), str(warm.screen.pk)) > timezone.now().timestamp()


def test_a_missing_state_is_built_on_the_full_path(warm):
    from apps.devices.services import devices_flush_fetches

    assert devices_flush_fetches() == 1  # the player's fetch, written by the periodic flush
    cache_clear_own()  # Redis lost: no records, no states (this test's keys only, not a FLUSHDB)
    beat = warm.post("/api/device/heartbeat", {}, format="json").json()
    assert beat["has_update"] is False  # rebuilt identical to what the player has
    assert warm.get("/api/device/playlist", HTTP_IF_NONE_MATCH=warm.etag).status_code == 304
    assert APIClient().post("/api/device/heartbeat", {}, HTTP_AUTHORIZATION="Device nope").status_code == 401
