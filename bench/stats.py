"""Benchmark of proof of play at the scale of a network, over the wire against gunicorn (PostgreSQL only).

A throwaway database `<name>_statsbench` is filled with N events (default 10 million) over 1,000 screens
and 90 days, then a gunicorn serving it is timed over HTTP, and in the same run the database is timed
doing the equivalent raw work from a cursor. Every figure is printed with its same-run limit and ratio:

- ingestion of 5,000-event batches through `POST /api/device/stats` vs `COPY` of the same rows;
- `aggregates/?group_by=screen,date` over a month vs the same SQL on the same tables from a cursor;
- a `displays/` page for one screen and one day vs its SQL from a cursor, and vs the floor of any
  authenticated request: a trivial authenticated view (bench/stats_urls.py) under the same gunicorn, plus
  the page's SQL;
- CSV export of a million rows: rows per second (vs `COPY (SELECT ...) TO STDOUT` of the same rows)
  and the gunicorn worker's peak memory before and after.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/signage .venv/bin/python bench/stats.py \
        [--events 10000000] [--screens 1000] [--days 90] [--port 8201] [--keep] [--reuse]

`--keep` leaves the bench database in place and `--reuse` times it again without filling it anew (filling
10 million events takes long on a loaded machine). With REDIS_URL set, gunicorn uses that Redis as production
does (rate-limit counters, the principal cache), under a key prefix of its own removed at the end; without
it, process memory (and no principal cache: apps/accounts/principals.py).
"""

import argparse
import io
import os
import statistics
import subprocess
import sys
import time
import uuid
import zoneinfo
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlparse, urlunparse

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def bench_url(base: str) -> str:
    parts = urlparse(base)
    return urlunparse(parts._replace(path=parts.path.rstrip("/") + "_statsbench"))


def recreate_database(url: str) -> None:
    import psycopg

    parts = urlparse(url)
    name = parts.path.lstrip("/")
    admin = urlunparse(parts._replace(path="/postgres"))
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


def drop_database(url: str) -> None:
    import psycopg

    parts = urlparse(url)
    admin = urlunparse(parts._replace(path="/postgres"))
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{parts.path.lstrip("/")}" WITH (FORCE)')


def fill(*, events: int, screens: int, days: int, until: datetime) -> dict:
    """Fleet, screens, players, campaigns, and `events` displays spread evenly over screens and days,
    written with set-based SQL, then the hourly rollup built from them."""
    from django.contrib.auth import get_user_model
    from django.db import connection

    from apps.accounts.models import Fleet, Membership, Role
    from apps.ads.models import Ad, Broadcast
    from apps.devices.models import Device, new_device_token, token_hash
    from apps.media.models import Media
    from apps.screens.models import Screen
    from apps.stats import partitions
    from apps.stats.services import rollup_rebuild

    fleet = Fleet.objects.create(name="Bench network", timezone="Europe/Paris")
    user = get_user_model().objects.create_user("bench", password="bench-pass-1")
    Membership.objects.create(user=user, fleet=fleet, role=Role.ADMIN)
    screen_rows = Screen.objects.bulk_create(
        Screen(fleet=fleet, name=f"S{i:05}", slug=f"statsbench-{i:05}", timezone="Europe/Paris") for i in range(screens)
    )
    tokens = [new_device_token() for _ in screen_rows]
    Device.objects.bulk_create(
        Device(uuid=f"statsbench-{i:05}", name=f"P{i:05}", fleet=fleet, screen=screen, token_hash=token_hash(token))
        for i, (screen, token) in enumerate(zip(screen_rows, tokens, strict=True))
    )
    Device.objects.update(created=until - timedelta(days=days + 30))
    medias = Media.objects.bulk_create(
        Media(fleet=fleet, type="picture", name=f"Spot {i}", mime_type="image/png", size=4, checksum=f"{i:064x}",
              width=1, height=1, display_time=10, file=f"bench/m{i}.png")
        for i in range(8)
    )  # fmt: skip
    ads = [Ad.objects.create(fleet=fleet, name=f"Campaign {i}", campaign_startdate="2020-01-01") for i in range(20)]
    broadcasts = [Broadcast.objects.create(ad=ad, media=medias[i % 8]) for i, ad in enumerate(ads)]

    since = until - timedelta(days=days)
    partitions.partitions_ensure(start=since.date(), months_ahead=3)
    per_screen = max(1, events // screens)
    step = days * 86400 / per_screen
    campaign_ids = [str(ad.pk) for ad in ads]
    broadcast_ids = [str(b.pk) for b in broadcasts]
    media_ids = [medias[i % 8].pk for i in range(20)]
    started = time.perf_counter()
    with connection.cursor() as cursor:
        for first in range(0, screens, 50):
            cursor.execute(
                """
                INSERT INTO stats_playevent (fleet_id, event_id, device_id, device_name, screen_id, screen_name,
                    place_id, place_name, timezone, ad_id, ad_name, broadcast_id, media_id, media_type, media_name,
                    started_at, duration, received_at)
                SELECT %(fleet)s, gen_random_uuid(), d.id, d.name, s.id, s.name, NULL, '', s.timezone,
                       (%(ads)s::uuid[])[1 + (g.n + k.rank) %% 20], 'Campaign ' || ((g.n + k.rank) %% 20),
                       (%(broadcasts)s::uuid[])[1 + (g.n + k.rank) %% 20],
                       (%(medias)s::bigint[])[1 + (g.n + k.rank) %% 20], 'picture',
                       'Spot ' || ((g.n + k.rank) %% 8),
                       %(since)s::timestamptz + make_interval(secs => g.n * %(step)s + k.rank),
                       10, now()
                FROM (SELECT id, name, timezone, row_number() OVER (ORDER BY name) - 1 AS rank
                      FROM screens_screen WHERE fleet_id = %(fleet)s ORDER BY name OFFSET %(first)s LIMIT 50) k
                JOIN screens_screen s ON s.id = k.id
                JOIN devices_device d ON d.screen_id = s.id
                CROSS JOIN generate_series(0, %(per_screen)s - 1) AS g(n)
                """,
                {"fleet": fleet.pk, "ads": campaign_ids, "broadcasts": broadcast_ids, "medias": media_ids,
                 "since": since, "step": step, "first": first, "per_screen": per_screen},
            )  # fmt: skip
            print(f"  filled {min(first + 50, screens) * per_screen:,} events", end="\r", flush=True)
        print()
        rollup_rebuild()
        cursor.execute("VACUUM ANALYZE stats_playevent")
        cursor.execute("VACUUM ANALYZE stats_hourlyplays")
        cursor.execute("VACUUM ANALYZE stats_dailyscreenplays")
    print(f"  filled in {time.perf_counter() - started:.0f} s")
    return {
        "fleet": fleet.pk,
        "screen": str(screen_rows[screens // 2].pk),
        "tokens": tokens,
        "media": medias[0].public_id,
        "ad": str(ads[0].pk),
        "since": since,
        "per_screen": per_screen,
    }


def filled(*, events: int, screens: int, days: int, until: datetime) -> dict:
    """What `fill` returns, read from a database it filled before (`--reuse`); the first player gets a new
    token."""
    from apps.accounts.models import Fleet
    from apps.ads.models import Ad
    from apps.devices.models import Device, new_device_token, token_hash
    from apps.media.models import Media
    from apps.screens.models import Screen

    fleet = Fleet.objects.get(name="Bench network")
    screen_rows = list(Screen.objects.filter(fleet=fleet).order_by("name"))
    token = new_device_token()
    Device.objects.filter(uuid="statsbench-00000").update(token_hash=token_hash(token))
    return {
        "fleet": fleet.pk,
        "screen": str(screen_rows[screens // 2].pk),
        "tokens": [token],
        "media": Media.objects.filter(fleet=fleet).order_by("pk").first().public_id,
        "ad": str(Ad.objects.get(fleet=fleet, name="Campaign 0").pk),
        "since": until - timedelta(days=days),
        "per_screen": max(1, events // screens),
    }


def start_gunicorn(url: str, port: int, redis: dict) -> subprocess.Popen:
    env = {**os.environ, "DATABASE_URL": url, "DEBUG": "false", "LOG_LEVEL": "ERROR", **redis,
           "DJANGO_SETTINGS_MODULE": "bench.stats_settings"}  # fmt: skip
    process = subprocess.Popen(
        [str(ROOT / ".venv/bin/gunicorn"), "signage.wsgi", "--bind", f"127.0.0.1:{port}", "--workers", "1",
         "--timeout", "600", "--log-level", "warning"],
        cwd=ROOT, env=env,
    )  # fmt: skip
    import httpx

    for _ in range(100):
        try:  # a cheap page (the schema takes seconds to build on a loaded machine)
            httpx.get(f"http://127.0.0.1:{port}/api/statistics/v2/displays/", timeout=10)
            return process
        except httpx.HTTPError:
            time.sleep(0.2)
    process.terminate()
    raise RuntimeError("gunicorn did not start")


def worker_pid(master: int) -> int:
    children = Path(f"/proc/{master}/task/{master}/children").read_text().split()
    return int(children[0])


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def load() -> str:
    return " ".join(f"{value:.1f}" for value in os.getloadavg())


def timed(call, count: int) -> list[float]:
    samples = []
    for _ in range(count):
        started = time.perf_counter()
        call()
        samples.append(time.perf_counter() - started)
    return samples


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=10_000_000)
    parser.add_argument("--screens", type=int, default=1000)
    parser.add_argument("--days", type=int, default=90)
    parser.add_argument("--batches", type=int, default=6, help="5,000-event batches posted")
    parser.add_argument("--repeat", type=int, default=5, help="timed repetitions of each query")
    parser.add_argument("--csv-rows", type=int, default=1_000_000)
    parser.add_argument("--port", type=int, default=8201)
    parser.add_argument("--keep", action="store_true", help="keep the bench database")
    parser.add_argument("--reuse", action="store_true", help="time a database kept by an earlier --keep run")
    options = parser.parse_args()

    base = os.environ.get("DATABASE_URL", "")
    if not base.startswith("postgres"):
        sys.exit("bench/stats.py needs DATABASE_URL on PostgreSQL")
    url = bench_url(base)
    if not options.reuse:
        recreate_database(url)
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "signage.settings")
    # The bench process itself needs no cache; gunicorn gets REDIS_URL (if any) under a prefix of its own.
    redis_url = os.environ.pop("REDIS_URL", "")
    redis = {"REDIS_URL": redis_url, "CACHE_KEY_PREFIX": f"statsbench-{uuid.uuid4().hex[:12]}"} if redis_url else {}
    import django

    django.setup()
    import logging

    import httpx
    import psycopg
    from django.core.management import call_command

    logging.getLogger("httpx").setLevel(logging.WARNING)

    call_command("migrate", verbosity=0)
    until = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) - timedelta(days=1)
    shape = {"events": options.events, "screens": options.screens, "days": options.days, "until": until}
    if options.reuse:
        print(f"Reusing the {options.events:,} events of {url.rsplit('/', 1)[-1]}")
        data = filled(**shape)
    else:
        print(f"Filling {options.events:,} events over {options.screens} screens and {options.days} days")
        data = fill(**shape)
    load_before = os.getloadavg()
    from django.db import connection

    connection.close()
    server = start_gunicorn(url, options.port, redis)
    host = f"http://127.0.0.1:{options.port}"
    rows, loads = [], []
    try:
        http = httpx.Client(timeout=600)
        token = http.post(f"{host}/api/get_jwt_token/", json={"username": "bench", "password": "bench-pass-1"})
        auth = {"Authorization": f"JWT {token.json()['token']}"}
        db = psycopg.connect(url, autocommit=True)
        # as the aggregates' own transaction does
        db.execute("SET work_mem = '64MB'; SET max_parallel_workers_per_gather = 0")

        # 1. Ingestion: 5,000-event batches through the view vs COPY of the same rows.
        device = {"Authorization": f"Device {data['tokens'][0]}"}
        now = datetime.now(UTC) - timedelta(minutes=1)

        def batch():
            return [
                {"id": str(uuid.uuid4()), "media": data["media"], "ad": data["ad"],
                 "started_at": (now - timedelta(seconds=i)).isoformat(), "duration": 10}
                for i in range(5000)
            ]  # fmt: skip

        loads.append(["ingestion", load()])
        http.post(f"{host}/api/device/stats", json={"events": batch()}, headers=device)  # warm
        bodies = [batch() for _ in range(options.batches)]
        view_samples = []
        for body in bodies:
            started = time.perf_counter()
            response = http.post(f"{host}/api/device/stats", json={"events": body}, headers=device)
            view_samples.append(time.perf_counter() - started)
            assert response.json()["stored"] == 5000, response.text
        view_rate = 5000 / statistics.median(view_samples)
        columns = ("fleet_id, event_id, device_id, device_name, screen_id, screen_name, place_id, place_name, "
                   "timezone, ad_id, ad_name, broadcast_id, media_id, media_type, media_name, started_at, duration, "
                   "received_at")  # fmt: skip
        template = db.execute(f"SELECT {columns} FROM stats_playevent WHERE device_id = (SELECT id FROM "
                              "devices_device WHERE uuid = 'statsbench-00000') LIMIT 1").fetchone()  # fmt: skip
        copy_samples = []
        for body in bodies:
            lines = io.StringIO()
            for item in body:
                values = list(template)
                values[1], values[15] = uuid.uuid4(), item["started_at"]
                lines.write("\t".join("\\N" if v is None else str(v) for v in values) + "\n")
            payload = lines.getvalue()
            started = time.perf_counter()
            with db.cursor().copy(f"COPY stats_playevent ({columns}) FROM STDIN") as copy:
                copy.write(payload)
            copy_samples.append(time.perf_counter() - started)
        copy_rate = 5000 / statistics.median(copy_samples)
        rows.append(("ingest 5,000-event batch (events/s)", view_rate, copy_rate, "COPY of the same rows", True))
        loads[-1].append(load())

        # 2. Last calendar month's aggregate by screen and date (the fleet's timezone) vs the same SQL.
        paris = zoneinfo.ZoneInfo("Europe/Paris")
        this_month = datetime.now(paris).replace(day=1, hour=0, minute=0, second=0, microsecond=0)
        month_end = this_month.astimezone(UTC)
        month_start = (this_month - timedelta(days=1)).replace(day=1).astimezone(UTC)
        params = {"started_at__gte": month_start.isoformat(), "started_at__lt": month_end.isoformat(),
                  "group_by": "screen,date", "limit": 100000}  # fmt: skip
        loads.append(["aggregates", load()])
        first = http.get(f"{host}/api/statistics/v2/aggregates/", params=params, headers=auth)
        groups = len(first.json()["results"])
        api_samples = timed(
            lambda: http.get(f"{host}/api/statistics/v2/aggregates/", params=params, headers=auth).raise_for_status(),
            options.repeat,
        )
        from apps.stats.selectors import StatsQuery, _sql_aggregate, planner_settings

        month = StatsQuery(fleet_ids=[data["fleet"]], since=month_start, until=month_end)
        sql, sql_params = _sql_aggregate(month, ["screen", "date"], limit=100000, offset=0)
        settings = planner_settings(month, ["screen", "date"])

        def same_sql():  # under the settings the view runs it with, in a transaction like the view's
            with db.transaction():
                db.execute(settings)
                db.execute(sql, sql_params).fetchall()

        sql_samples = timed(same_sql, options.repeat)
        naive = (
            "SELECT screen_id, max(screen_name), (started_at AT TIME ZONE timezone)::date, count(*), sum(duration), "
            "count(DISTINCT screen_id) FROM stats_playevent WHERE fleet_id = %s AND started_at >= %s AND "
            "started_at < %s GROUP BY 1, 3 ORDER BY 1, 3"
        )
        raw_samples = timed(lambda: db.execute(naive, [data["fleet"], month_start, month_end]).fetchall(), 1)
        rows.append((f"aggregates screen,date, a month ({groups:,} groups) ms", statistics.median(api_samples) * 1000,
                     statistics.median(sql_samples) * 1000, "same SQL on the rollup", False))  # fmt: skip
        rows.append(("  (for scale: GROUP BY over the raw events) ms", statistics.median(raw_samples) * 1000,
                     statistics.median(sql_samples) * 1000, "rollup SQL", False))  # fmt: skip
        loads[-1].append(load())

        # 3. One screen's page for a day vs its SQL.
        loads.append(["displays page", load()])
        day = until - timedelta(days=10)
        page = {"started_at__gte": day.isoformat(), "started_at__lt": (day + timedelta(days=1)).isoformat(),
                "screen": data["screen"], "limit": 100}  # fmt: skip
        assert http.get(f"{host}/api/statistics/v2/displays/", params=page, headers=auth).json()["results"]
        api_samples = timed(
            lambda: http.get(f"{host}/api/statistics/v2/displays/", params=page, headers=auth).raise_for_status(),
            options.repeat * 4,
        )
        page_sql = ("SELECT * FROM stats_playevent WHERE fleet_id = %s AND screen_id = %s AND started_at >= %s "
                    "AND started_at < %s ORDER BY started_at DESC, id DESC LIMIT 101")  # fmt: skip
        sql_samples = timed(
            lambda: db.execute(page_sql, [data["fleet"], data["screen"], day, day + timedelta(days=1)]).fetchall(),
            options.repeat * 4,
        )
        rows.append(("displays page, 1 screen, 1 day ms", statistics.median(api_samples) * 1000,
                     statistics.median(sql_samples) * 1000, "its SQL from a cursor", False))  # fmt: skip
        # The floor of any authenticated request through this stack: a trivial view with the same
        # authentication, permissions and rate limit, doing nothing; the page can at best cost that plus
        # its SQL.
        http.get(f"{host}/api/statistics/v2/bench-trivial/", headers=auth).raise_for_status()
        floor = timed(
            lambda: http.get(f"{host}/api/statistics/v2/bench-trivial/", headers=auth).raise_for_status(),
            options.repeat * 4,
        )
        floor_ms = (statistics.median(floor) + statistics.median(sql_samples)) * 1000
        rows.append(("  vs a trivial authenticated view + its SQL ms", statistics.median(api_samples) * 1000,
                     floor_ms, "the floor of this stack", False))  # fmt: skip
        rows.append(("  (for scale: the trivial authenticated view) ms", statistics.median(api_samples) * 1000,
                     statistics.median(floor) * 1000, "authenticated, no work", False))  # fmt: skip
        # The floor of any authenticated request through this stack: a statistics query refused before SQL.
        trivial = timed(
            lambda: http.get(f"{host}/api/statistics/v2/displays/", headers=auth).status_code, options.repeat * 4
        )
        rows.append(("  (for scale: a 400 from the same view, no SQL) ms", statistics.median(api_samples) * 1000,
                     statistics.median(trivial) * 1000, "authenticated, refused", False))  # fmt: skip
        # The floor of this stack over the wire: gunicorn, the middleware and DRF, the same view refusing a
        # request without credentials (no authentication, no rate limit, no SQL).
        anonymous = timed(lambda: http.get(f"{host}/api/statistics/v2/displays/").status_code, options.repeat * 4)
        rows.append(("  (for scale: a 401 from the same view) ms", statistics.median(api_samples) * 1000,
                     statistics.median(anonymous) * 1000, "no credentials", False))  # fmt: skip
        loads[-1].append(load())

        # 4. CSV export of about a million rows: rate and the worker's peak memory.
        per_day = options.screens * data["per_screen"] / options.days
        span = timedelta(days=min(options.days - 1, options.csv_rows / per_day))
        export = {"started_at__gte": (until - span).isoformat(), "started_at__lt": until.isoformat(), "format": "csv"}
        loads.append(["CSV export", load()])
        pid = worker_pid(server.pid)
        before = peak_rss_mb(pid)
        # A fifth of the rows first: flat memory is the same peak after five times as many rows.
        fifth = {**export, "started_at__gte": (until - span / 5).isoformat()}
        with http.stream("GET", f"{host}/api/statistics/v2/displays/", params=fifth, headers=auth) as response:
            fifth_count = sum(chunk.count(b"\n") for chunk in response.iter_bytes(1 << 16)) - 1
        after_fifth = peak_rss_mb(pid)
        started, count = time.perf_counter(), -1
        with http.stream("GET", f"{host}/api/statistics/v2/displays/", params=export, headers=auth) as response:
            for chunk in response.iter_bytes(1 << 16):
                count += chunk.count(b"\n")
        csv_seconds = time.perf_counter() - started
        after = peak_rss_mb(pid)
        buffer = io.BytesIO()
        started = time.perf_counter()
        with db.cursor().copy(
            "COPY (SELECT * FROM stats_playevent WHERE fleet_id = %s AND started_at >= %s AND started_at < %s "
            "ORDER BY started_at DESC, id DESC) TO STDOUT WITH CSV",
            [data["fleet"], until - span, until],
        ) as copy:
            for chunk in copy:
                buffer.write(chunk)
        copy_seconds = time.perf_counter() - started
        rows.append((f"CSV export of {count:,} rows (rows/s)", count / csv_seconds, count / copy_seconds,
                     "COPY TO STDOUT of the same rows", True))  # fmt: skip
        memory = (before, fifth_count, after_fifth, count, after)
        loads[-1].append(load())
    finally:
        server.terminate()
        server.wait(timeout=30)
        if not options.keep:
            drop_database(url)
        if redis:
            import redis as redis_py

            client = redis_py.Redis.from_url(redis_url)
            keys = list(client.scan_iter(match=f"{redis['CACHE_KEY_PREFIX']}:*", count=1000))
            if keys:
                client.delete(*keys)

    cache = "Redis" if redis else "process memory"
    print(f"\nProof of play, {options.events:,} events, {options.screens} screens, {options.days} days, "
          f"gunicorn (1 sync worker) over HTTP, PostgreSQL, cache: {cache}\n")  # fmt: skip
    print(f"{'measure':52} {'API':>10} {'limit':>10} {'ratio':>7}  limit is")
    for label, value, limit, what, _higher_is_better in rows:
        ratio = value / limit
        print(f"{label:52} {value:10.1f} {limit:10.1f} {ratio:7.2f}  {what}")
    print(f"\nCSV export: worker peak RSS {memory[0]:.0f} MB before, {memory[2]:.0f} MB after {memory[1]:,} rows, "
          f"{memory[4]:.0f} MB after {memory[3]:,} rows")  # fmt: skip
    for what, start, end in loads:
        print(f"Load average (1, 5, 15 min) during {what}: {start} at start, {end} at end")
    print(f"Load average (1, 5, 15 min): {' '.join(f'{v:.1f}' for v in load_before)} before the timings, "
          f"{' '.join(f'{v:.1f}' for v in os.getloadavg())} after")  # fmt: skip


if __name__ == "__main__":
    main()
