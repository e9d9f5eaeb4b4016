"""Benchmark of the players' hot paths: heartbeat, unchanged playlist (304) and full playlist.

Each path is timed through the whole Django stack (middleware, authentication, rate limits, views) with
the test client, in process, against a throwaway database filled like a large fleet. In the same run the
database is timed doing, straight from a cursor, the same SQL statements the request issues: that is the
database's own limit for one client, and the report gives each path's rate as a fraction of it.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/signage REDIS_URL=redis://127.0.0.1:6379/2 \
        .venv/bin/python bench/device_protocol.py [--requests 2000] [--screens 500] [--campaigns 40]
"""

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "signage.settings")

import django

django.setup()

from django.conf import settings  # noqa: E402
from django.core.cache import cache  # noqa: E402
from django.db import connection  # noqa: E402
from django.test.utils import CaptureQueriesContext, setup_test_environment  # noqa: E402


def fill(screens: int, campaigns: int):
    from datetime import date

    from django.core.files.base import ContentFile

    from apps.accounts.models import Fleet
    from apps.ads.models import Ad, Broadcast, BroadcastScreen
    from apps.devices.models import Device, new_device_token, token_hash
    from apps.media.models import Media
    from apps.screens.models import Screen

    fleet = Fleet.objects.create(name="Bench fleet", heartbeat_interval=30)
    screen_rows = Screen.objects.bulk_create(
        Screen(fleet=fleet, name=f"S{i:05}", slug=f"bench-{i:05}", timezone="Europe/Paris") for i in range(screens)
    )
    tokens = [new_device_token() for _ in screen_rows]
    Device.objects.bulk_create(
        Device(uuid=f"bench-{i:05}", fleet=fleet, screen=screen, token_hash=token_hash(token))
        for i, (screen, token) in enumerate(zip(screen_rows, tokens, strict=True))
    )
    medias = []
    for index in range(8):
        media = Media(
            fleet=fleet,
            type="picture",
            name=f"m{index}",
            mime_type="image/png",
            size=4,
            checksum=f"{index:064x}",
            width=1,
            height=1,
            display_time=10,
        )
        media.file.save(f"m{index}.png", ContentFile(b"\x89PNG"), save=False)
        media.save()
        medias.append(media)
    for index in range(campaigns):
        ad = Ad.objects.create(fleet=fleet, name=f"c{index}", campaign_startdate=date(2020, 1, 1), priority=index % 3)
        broadcast = Broadcast.objects.create(ad=ad, media=medias[index % len(medias)], order=0)
        BroadcastScreen.objects.bulk_create(
            BroadcastScreen(broadcast=broadcast, screen=screen, position=i) for i, screen in enumerate(screen_rows)
        )
    return tokens


def timed(label, count, call):
    samples = []
    for _ in range(count):
        started = time.perf_counter()
        call()
        samples.append(time.perf_counter() - started)
    total = sum(samples)
    return {
        "path": label,
        "per_second": count / total,
        "p50_ms": statistics.median(samples) * 1000,
        "p95_ms": sorted(samples)[int(len(samples) * 0.95) - 1] * 1000,
    }


def replay(statements):
    """The database doing a request's own statements, from a cursor: the floor of that request."""

    def run():
        with connection.cursor() as cursor:
            for sql, params in statements:
                cursor.execute(sql, params)

    return run


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--screens", type=int, default=500)
    parser.add_argument("--campaigns", type=int, default=40)
    options = parser.parse_args()

    from rest_framework.test import APIClient

    setup_test_environment()
    settings.MEDIA_ROOT = Path(tempfile.mkdtemp(prefix="signage-bench-"))
    settings.SIGNAGE_RATE_LIMITS = [("*", ["*"], 10**9, 10**9)]  # measure the work, not the refusals
    old_name = connection.settings_dict["NAME"]
    connection.creation.create_test_db(verbosity=0, autoclobber=True, keepdb=False)
    try:
        cache.clear()
        tokens = fill(options.screens, options.campaigns)
        clients = []
        for token in tokens[:50]:
            client = APIClient()
            client.credentials(HTTP_AUTHORIZATION=f"Device {token}")
            clients.append(client)
        for client in clients:  # warm: each device fetched its playlist once
            client.post("/api/device/heartbeat", {}, format="json")
            client.etag = client.get("/api/device/playlist")["ETag"]
        turn = iter(range(10**9))

        def heartbeat():
            client = clients[next(turn) % len(clients)]
            assert client.post("/api/device/heartbeat", {"volume": 50}, format="json").status_code == 200

        def unchanged():
            client = clients[next(turn) % len(clients)]
            assert client.get("/api/device/playlist", HTTP_IF_NONE_MATCH=client.etag).status_code == 304

        def full():
            cache.clear()  # every request builds the playlist from the database
            assert clients[next(turn) % len(clients)].get("/api/device/playlist").status_code == 200

        rows = []
        for label, call, count in (
            ("heartbeat", heartbeat, options.requests),
            ("playlist 304", unchanged, options.requests),
            (f"playlist built ({options.campaigns} campaigns)", full, max(50, options.requests // 10)),
        ):
            with CaptureQueriesContext(connection) as captured:
                call()
            statements = [(query["sql"], None) for query in captured.captured_queries]
            floor = timed("db", count, replay(statements))
            row = timed(label, count, call)
            row.update(queries=len(statements), db_per_second=floor["per_second"])
            rows.append(row)
        vendor = connection.vendor
        print(
            f"\nDevice protocol, {options.screens} screens, {options.campaigns} campaigns, database: {vendor}, "
            f"cache: {settings.CACHES['default']['BACKEND'].rsplit('.', 1)[-1]}\n"
        )
        print(f"{'path':34} {'req/s':>9} {'p50 ms':>8} {'p95 ms':>8} {'queries':>8} {'db req/s':>9} {'of db':>6}")
        for row in rows:
            print(
                f"{row['path']:34} {row['per_second']:9.0f} {row['p50_ms']:8.2f} {row['p95_ms']:8.2f} "
                f"{row['queries']:8d} {row['db_per_second']:9.0f} {row['per_second'] / row['db_per_second']:6.0%}"
            )
    finally:
        connection.creation.destroy_test_db(old_name, verbosity=0)


if __name__ == "__main__":
    main()
