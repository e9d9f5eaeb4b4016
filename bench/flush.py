"""Benchmark of the write-behind heartbeat flush (issue 17): what `devices_flush_heartbeats` costs per buffered
heartbeat, against the bare bulk UPDATE of the same rows sent from psycopg, in the same run on the same data.

A throwaway database holds a fleet of players online with their latest telemetry rows; each round, the real
heartbeat Lua script of the lean path buffers M heartbeats in Redis (as 1,000 heartbeats/s do in a 5 s flush
interval), then the flush is timed, then the floor: one UPDATE ... FROM unnest(...) of the same rows to the same
values, its parameters built beforehand. Two cases: "steady", the load test's body with values that do not
change (volume, Wi-Fi signal, an uptime that grows with time: no history rows), and "varied", a new volume and
Wi-Fi signal at every heartbeat (two history rows per heartbeat). CPU is counted for this process (the flush's
Python) and for its PostgreSQL backend (/proc, 10 ms ticks, summed over the rounds). Last, the time
`devices_mark_offline` takes on the same players (it reads them without an index on last-seen):

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/signage REDIS_URL=redis://127.0.0.1:6379/2 \
        .venv/bin/python bench/flush.py [--devices 10000] [--heartbeats 5000] [--rounds 3] [--profile]
"""

import argparse
import json
import os
import random
import statistics
import sys
import time
import uuid
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "signage.settings")
PREFIX = os.environ["CACHE_KEY_PREFIX"] = f"bench-flush-{uuid.uuid4().hex[:8]}"  # its own keys, deleted at the end

import django

django.setup()

from django.db import connection  # noqa: E402
from django.test.utils import CaptureQueriesContext, setup_test_environment  # noqa: E402
from django.utils import timezone  # noqa: E402

TICK = os.sysconf("SC_CLK_TCK")
UPTIME = 1000  # the players' uptime at their latest telemetry rows, 10 minutes before the fill


def fill(devices: int):
    from apps.accounts.models import Fleet
    from apps.devices.models import Device, TelemetrySample, token_hash
    from apps.devices.playlist import summary_key
    from apps.devices.records import remember_many
    from apps.screens.models import Screen
    from signage import kv

    now = timezone.now()
    fleet = Fleet.objects.create(name="Bench fleet", heartbeat_interval=60)
    screens = Screen.objects.bulk_create(
        (Screen(fleet=fleet, name=f"S{i:06}", slug=f"flush-{i:06}", online=True) for i in range(devices)),
        batch_size=5000,
    )
    rows = Device.objects.bulk_create(
        (
            Device(
                uuid=f"flush-{i:06}", token_hash=token_hash(f"flush-{i}"), fleet=fleet, screen=screen, online=True,
                last_seen_at=now - timedelta(seconds=30), volume=50, wifi_signal=-60, uptime_seconds=UPTIME,
            )
            for i, screen in enumerate(screens)
        ),
        batch_size=5000,
    )  # fmt: skip
    history = []
    for device in rows:  # the latest row of each type the load test reports, and a little older history
        for kind, value in (("VOLUME", 50), ("WIFI_STRENGTH", -60), ("UPTIME", UPTIME)):
            history.append(TelemetrySample(device=device, type=kind, value=value, created_at=now - timedelta(hours=2),
                                           is_latest=False))  # fmt: skip
            history.append(
                TelemetrySample(device=device, type=kind, value=value, created_at=now - timedelta(minutes=10))
            )
    TelemetrySample.objects.bulk_create(history, batch_size=10000)
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")
    remember_many(Device.objects.select_related("fleet"))
    redis = kv.client()
    pipeline = redis.pipeline(transaction=False)
    for screen in screens:  # a published playlist summary: the heartbeat script answers (and buffers)
        pipeline.set(kv.key(summary_key(screen.pk)), f"{'0' * 64} {time.time() + 86400:.0f} []")
    pipeline.execute()
    booted = now.timestamp() - 600 - UPTIME
    return [(device.pk, device.token_hash) for device in rows], len(history), booted


def buffer(devices, bodies: list[dict]) -> float:
    """The lean path's heartbeat script for each device with its body, in one pipeline; returns the instant."""
    from apps.devices import lean
    from apps.devices.playlist import summary_key
    from signage import kv

    redis = kv.client()
    script = redis.register_script(lean.HEARTBEAT)
    pipeline = redis.pipeline(transaction=False)
    now = time.time()
    limits, _ = lean._rate_limit_arguments(now, "POST")
    prefix = kv.key(summary_key(""))
    for (_, hashed), body in zip(devices, bodies, strict=True):
        pairs = [item for field, value in body.items() for item in (field, json.dumps(value))]
        keys = kv.keys(lean._record_key(hashed), lean.SEEN, lean.TELEMETRY)
        script(keys=keys, args=["", f"{now:.3f}", prefix, *limits, *pairs], client=pipeline)
    replies = pipeline.execute()
    assert all(reply.startswith(b"3") for reply in replies), set(replies)
    return now


FLOOR = """
UPDATE devices_device d SET last_seen_at = v.seen, online = true, volume = v.volume, wifi_signal = v.wifi,
    uptime_seconds = v.uptime
FROM unnest(%s::bigint[], %s::timestamptz[], %s::int[], %s::int[], %s::bigint[]) AS v(id, seen, volume, wifi, uptime)
WHERE d.id = v.id
"""


def floor_parameters(devices, bodies, at: float) -> list:
    from datetime import UTC, datetime

    seen = datetime.fromtimestamp(float(f"{at:.3f}"), tz=UTC)
    return [
        [pk for pk, _ in devices],
        [seen] * len(devices),
        [body["volume"] for body in bodies],
        [body["wifi_signal"] for body in bodies],
        [body["uptime_seconds"] for body in bodies],
    ]


def backend_ticks(pid: int) -> int:
    """User + system CPU of a process, in clock ticks."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--devices", type=int, default=10_000)
    parser.add_argument("--heartbeats", type=int, default=5_000, help="buffered per flush")
    parser.add_argument("--rounds", type=int, default=3, help="flushes per case")
    parser.add_argument("--profile", action="store_true", help="cProfile one flush of each case")
    options = parser.parse_args()

    from apps.devices.services import devices_flush_heartbeats, devices_mark_offline
    from signage import kv

    if connection.vendor != "postgresql" or not os.environ.get("REDIS_URL"):
        sys.exit("bench/flush.py needs PostgreSQL and Redis (DATABASE_URL=postgres://..., REDIS_URL=redis://...)")
    setup_test_environment()
    old_name = connection.settings_dict["NAME"]
    connection.creation.create_test_db(verbosity=0, autoclobber=True, keepdb=False)
    rng = random.Random(7)
    try:
        started = time.perf_counter()
        devices, history, booted = fill(options.devices)
        print(
            f"filled in {time.perf_counter() - started:.1f} s: {len(devices)} players online, {history} telemetry rows"
        )
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_backend_pid()")
            backend = cursor.fetchone()[0]
        raw = connection.connection  # the same psycopg connection: the floor runs on the same backend
        results = {}
        for case in ("steady", "varied"):
            flush_wall, flush_cpu, flush_pg, floor_wall, floor_cpu, floor_pg = [], [], [], [], [], []
            queries = written = 0
            for round_number in range(options.rounds + 1):  # the first round warms up and counts the queries
                start = (round_number * options.heartbeats) % len(devices)
                chosen = (devices * 2)[start : start + options.heartbeats]
                uptime = int(time.time() - booted)  # grows with time: no reboot
                if case == "steady":
                    bodies = [{"volume": 50, "wifi_signal": -60, "uptime_seconds": uptime} for _ in chosen]
                else:
                    bodies = [
                        {"volume": rng.randint(0, 100), "wifi_signal": rng.randint(-90, -30), "uptime_seconds": uptime}
                        for _ in chosen
                    ]
                at = buffer(chosen, bodies)
                parameters = floor_parameters(chosen, bodies, at)
                if round_number == 0:
                    with CaptureQueriesContext(connection) as captured:
                        assert devices_flush_heartbeats() == len(chosen)
                    queries = len(captured)
                    continue
                if options.profile and round_number == 1:
                    import cProfile
                    import pstats

                    profiler = cProfile.Profile()
                    profiler.enable()
                    devices_flush_heartbeats()
                    profiler.disable()
                    print(f"\n--- profile, {case} ---")
                    pstats.Stats(profiler).sort_stats("cumulative").print_stats(30)
                    continue
                from apps.devices.models import TelemetrySample

                before = TelemetrySample.objects.count()
                ticks, cpu, began = backend_ticks(backend), time.process_time(), time.perf_counter()
                assert devices_flush_heartbeats() == len(chosen)
                flush_wall.append(time.perf_counter() - began)
                flush_cpu.append(time.process_time() - cpu)
                flush_pg.append(backend_ticks(backend) - ticks)
                written += TelemetrySample.objects.count() - before
                ticks, cpu, began = backend_ticks(backend), time.process_time(), time.perf_counter()
                with raw.transaction(), raw.cursor() as cursor:
                    cursor.execute(FLOOR, parameters)
                    assert cursor.rowcount == len(chosen)
                floor_wall.append(time.perf_counter() - began)
                floor_cpu.append(time.process_time() - cpu)
                floor_pg.append(backend_ticks(backend) - ticks)
            measured = len(flush_wall)
            results[case] = {
                "flush": (statistics.median(flush_wall), sum(flush_cpu) / measured, sum(flush_pg) / TICK / measured),
                "floor": (statistics.median(floor_wall), sum(floor_cpu) / measured, sum(floor_pg) / TICK / measured),
                "queries": queries,
                "history": written / measured,
            }
        offline, flipped = [], None
        for _ in range(3):  # what going offline costs: it reads the online players (no index on last-seen)
            began = time.perf_counter()
            flipped = devices_mark_offline()
            offline.append(time.perf_counter() - began)
        per = 1000 / options.heartbeats  # ms per flush -> µs per heartbeat
        print(f"\nHeartbeat flush, {options.heartbeats} heartbeats buffered per flush, {len(devices)} players, "
              f"PostgreSQL, {measured} flushes per case (wall: median; CPU: mean)\n")  # fmt: skip
        print(f"{'case':36} {'wall ms':>8} {'py CPU ms':>10} {'PG CPU ms':>10} {'µs CPU/beat':>12} {'vs floor':>9} "
              f"{'queries':>8} {'history rows':>13}")  # fmt: skip
        for case, result in results.items():
            floor_cpu_ms = (result["floor"][1] + result["floor"][2]) * 1000
            for name in ("flush", "floor"):
                wall, cpu, pg = result[name]
                total = (cpu + pg) * 1000
                label = f"{case}: {'devices_flush_heartbeats' if name == 'flush' else 'bare UPDATE (floor)'}"
                extra = f"{result['queries']:8d} {result['history']:13.0f}" if name == "flush" else f"{1:8d} {0:13d}"
                print(f"{label:36} {wall * 1000:8.1f} {cpu * 1000:10.1f} {pg * 1000:10.1f} "
                      f"{total * per:12.1f} {total / floor_cpu_ms:8.2f}x {extra}")  # fmt: skip
        print(f"\ndevices_mark_offline: {statistics.median(offline) * 1000:.1f} ms (median of 3; flipped {flipped})")
    finally:
        connection.creation.destroy_test_db(old_name, verbosity=0)
        redis = kv.client()
        for key in redis.scan_iter(match=f"{PREFIX}:*", count=10000):
            redis.delete(key)


if __name__ == "__main__":
    main()
