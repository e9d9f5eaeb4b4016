"""Load test: a fleet of paired players against the production stack on this machine.

Starts gunicorn (sync workers), a Celery worker with its beat, on PostgreSQL and Redis, in a database and
a Redis key prefix of its own; fills N screens, each with a paired player and C campaigns; then, all in
one run:

1. Capacity, closed loop for a few seconds each: the idle heartbeat, the unchanged playlist (304) and a
   trivial Django view under the same gunicorn; the database doing a heartbeat's SQL (the device by its
   token, then its UPDATE) from psycopg in as many processes as gunicorn has workers; Redis running the
   heartbeat's script from as many processes. Requests per second, p50 / p99, and the CPU the gunicorn
   workers spent per request (from /proc).
2. The fleet, open loop: every player heartbeats at the `next_heartbeat_in` the server gives it (first one
   at a random instant of its interval), fetches its playlist when told `has_update`, downloads what it
   lacks, posts proof of play every few heartbeats. In the middle, a content change touching every screen
   (a campaign's media replaced): the report says how long until every player had its new playlist, and the
   heartbeats' p99 meanwhile.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/signage REDIS_URL=redis://127.0.0.1:6379/2 \\
        .venv/bin/python bench/fleet.py [--screens 10000] [--interval 60] [--duration 120] [--port 8501]

The port also comes from LOADTEST_PORT (`make loadtest LOADTEST_PORT=8250`).

The fleet's request rate is screens / interval: 60,000 screens at 60 s is the rate of 10,000 at 10 s.
Everything is bounded in time; the stack is stopped and the database dropped at the end (even on Ctrl-C).
"""

import argparse
import asyncio
import json
import multiprocessing
import os
import random
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def options():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--screens", type=int, default=10000)
    parser.add_argument("--campaigns", type=int, default=20)
    parser.add_argument("--interval", type=int, default=60, help="the fleet's heartbeat interval, seconds")
    parser.add_argument("--duration", type=int, default=120, help="seconds of fleet simulation")
    parser.add_argument("--capacity-seconds", type=float, default=10.0, help="seconds per capacity figure")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn sync workers")
    parser.add_argument("--concurrency", type=int, default=8, help="connections in flight (capacity phase)")
    parser.add_argument(
        "--port", type=int, default=int(os.environ.get("LOADTEST_PORT", 8501)), help="gunicorn's port ($LOADTEST_PORT)"
    )
    parser.add_argument("--capacity-only", action="store_true", help="skip the fleet simulation (phase 2)")
    parser.add_argument("--stats-every", type=int, default=2, help="heartbeats between proof-of-play batches")
    return parser.parse_args()


# --- the stack -------------------------------------------------------------------------------------------


def bench_environment(database_url: str, prefix: str) -> dict:
    base, _, name = database_url.rpartition("/")
    return {
        **os.environ,
        "DATABASE_URL": f"{base}/{name.split('?')[0]}_fleet",
        "CACHE_KEY_PREFIX": prefix,
        "DJANGO_SETTINGS_MODULE": "bench.fleet_settings",
        "DEBUG": "0",
        "CELERY_TASK_ALWAYS_EAGER": "0",
        "PYTHONPATH": str(ROOT),
        "MEDIA_ROOT": tempfile.mkdtemp(prefix="signage-fleet-media-"),
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "LOG_LEVEL": "WARNING",
    }


def recreate_database(url: str) -> None:
    import psycopg

    base, _, name = url.rpartition("/")
    with psycopg.connect(f"{base}/postgres", autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}"')
        admin.execute(f'CREATE DATABASE "{name}"')


def drop_database(url: str) -> None:
    import psycopg

    base, _, name = url.rpartition("/")
    with psycopg.connect(f"{base}/postgres", autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def start_stack(env: dict, args, folder: Path) -> list[subprocess.Popen]:
    python = sys.executable
    bin_dir = Path(python).parent
    gunicorn = subprocess.Popen(
        [str(bin_dir / "gunicorn"), "signage.wsgi", "--workers", str(args.workers), "--bind",
         f"127.0.0.1:{args.port}", "--backlog", "4096", "--timeout", "60", "--log-level", "warning"],
        cwd=ROOT, env=env, start_new_session=True,
    )  # fmt: skip
    worker = subprocess.Popen(
        [str(bin_dir / "celery"), "-A", "signage", "worker", "-B", "-Q", "fleet-bench", "--concurrency", "1",
         "--loglevel", "warning", "-s", str(folder / "beat-schedule"), "--pidfile", str(folder / "worker.pid")],
        cwd=ROOT, env=env, start_new_session=True,
    )  # fmt: skip
    return [gunicorn, worker]


def stop_stack(processes) -> None:
    for process in processes:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
    for process in processes:
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)


def worker_cpu_seconds(master_pid: int) -> float:
    """CPU (user + system) of the gunicorn master's children, from /proc."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for task in Path(f"/proc/{master_pid}/task").iterdir():
        for child in (task / "children").read_text().split():
            try:
                fields = Path(f"/proc/{child}/stat").read_text().rsplit(")", 1)[1].split()
            except FileNotFoundError:
                continue
            total += (int(fields[11]) + int(fields[12])) / ticks
    return total


# --- the fleet's data ------------------------------------------------------------------------------------


def fill(screens: int, campaigns: int, interval: int) -> dict:
    """Fleet, screens, paired players (tokens returned), campaigns on every screen; states published and
    every player's record in Redis, as after a first heartbeat and playlist fetch."""
    from datetime import date

    from django.core.files.base import ContentFile
    from django.db import connection
    from django.utils import timezone

    from apps.accounts.models import Fleet
    from apps.ads.models import Ad, Broadcast, BroadcastScreen
    from apps.devices import lean, playlist
    from apps.devices.models import Device, new_device_token, token_hash
    from apps.media.models import Media
    from apps.screens.models import Screen

    fleet = Fleet.objects.create(name="Load test", heartbeat_interval=interval, max_screens=screens + 1)
    screen_rows = Screen.objects.bulk_create(
        (Screen(fleet=fleet, name=f"S{i:06}", slug=f"load-{i:06}", timezone="Europe/Paris") for i in range(screens)),
        batch_size=5000,
    )
    tokens = [new_device_token() for _ in screen_rows]
    Device.objects.bulk_create(
        (
            Device(uuid=f"load-{i:06}", fleet=fleet, screen=screen, token_hash=token_hash(token), online=True)
            for i, (screen, token) in enumerate(zip(screen_rows, tokens, strict=True))
        ),
        batch_size=5000,
    )
    medias = []
    for index in range(10):
        media = Media(
            fleet=fleet, type="picture", name=f"m{index}", mime_type="image/png", size=1024,
            checksum=f"{index:064x}", width=1, height=1, display_time=10,
        )  # fmt: skip
        media.file.save(f"m{index}.png", ContentFile(bytes(1024)), save=False)
        media.save()
        medias.append(media)
    broadcasts = []
    for index in range(campaigns):
        ad = Ad.objects.create(fleet=fleet, name=f"c{index}", campaign_startdate=date(2020, 1, 1), priority=index % 3)
        broadcasts.append(Broadcast.objects.create(ad=ad, media=medias[index % 8], order=0))
    with connection.cursor() as cursor:  # links in bulk: campaigns x screens rows
        table = BroadcastScreen._meta.db_table
        for broadcast in broadcasts:
            cursor.execute(
                f"INSERT INTO {table} (broadcast_id, screen_id, position) "
                f"SELECT %s, id, row_number() OVER (ORDER BY id) FROM {Screen._meta.db_table} WHERE fleet_id = %s",
                [broadcast.pk, fleet.pk],
            )
    ids = [str(screen.pk) for screen in screen_rows]
    started = time.monotonic()
    for start in range(0, len(ids), playlist.BATCH):
        playlist._rebuild(ids[start : start + playlist.BATCH], timezone.now())
    build_seconds = time.monotonic() - started
    first_state = playlist.stored_state(screen_rows[0].pk)
    etag = first_state["etag"]
    Device.objects.filter(fleet=fleet).update(playlist_etag=etag, last_seen_at=timezone.now())
    lean.remember_many(Device.objects.filter(fleet=fleet).select_related("fleet"))
    return {
        "fleet": fleet.pk,
        "tokens": tokens,
        "etag": etag,
        "contents": [content["content_id"] for content in first_state["contents"]],
        "items": first_state["items"],
        "broadcast": broadcasts[0].pk,
        "spare_media": medias[9].pk,
        "build_seconds": build_seconds,
        "token_hashes": [token_hash(token) for token in tokens],
    }


def wait_rebuilt(limit: float) -> float | None:
    """When the rebuild task has no screen left to rebuild (polled in Redis)."""
    from apps.devices import playlist
    from signage import kv

    redis, deadline = kv.client(), time.monotonic() + limit
    time.sleep(0.05)
    while time.monotonic() < deadline:
        pending = redis.scard(kv.key(playlist.DIRTY)) + redis.exists(kv.key(playlist.RUNNING), kv.key(playlist.QUEUED))
        if not pending:
            return time.monotonic()
        time.sleep(0.05)
    return None


def change_content(broadcast_id, media_id) -> float:
    """A campaign's media replaced: every screen's playlist changes. Returns the commit's time."""
    from django.db import transaction

    from apps.ads.models import Broadcast

    with transaction.atomic():
        broadcast = Broadcast.objects.select_related("ad").get(pk=broadcast_id)
        broadcast.media_id = media_id
        broadcast.save()
    return time.monotonic()


# --- HTTP ----------------------------------------------------------------------------------------------------


class Client:
    """A minimal HTTP/1.1 client (one connection per request, as gunicorn's sync workers close them)."""

    def __init__(self, port: int):
        self.port = port

    async def request(self, method: str, path: str, headers: dict | None = None, body: bytes = b""):
        reader, writer = await asyncio.open_connection("127.0.0.1", self.port)
        lines = [f"{method} {path} HTTP/1.1", "Host: 127.0.0.1", "Connection: close", f"Content-Length: {len(body)}"]
        lines += [f"{name}: {value}" for name, value in (headers or {}).items()]
        writer.write(("\r\n".join(lines) + "\r\n\r\n").encode() + body)
        data = await reader.read(-1)
        writer.close()
        head, _, payload = data.partition(b"\r\n\r\n")
        status = int(head[9:12]) if len(head) >= 12 else 0
        if b"transfer-encoding: chunked" in head.lower():
            payload = _dechunk(payload)
        return status, head, payload


def _dechunk(data: bytes) -> bytes:
    out = []
    while data:
        size_line, _, rest = data.partition(b"\r\n")
        size = int(size_line.split(b";")[0] or b"0", 16)
        if size == 0:
            break
        out.append(rest[:size])
        data = rest[size + 2 :]
    return b"".join(out)


def summary(samples: list[float]) -> tuple[float, float]:
    if not samples:
        return 0.0, 0.0
    ordered = sorted(samples)
    return statistics.median(ordered) * 1000, ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] * 1000


async def closed_loop(port: int, seconds: float, concurrency: int, make_request) -> tuple[int, list[float], int]:
    client, samples, errors = Client(port), [], 0
    deadline = time.monotonic() + seconds

    async def one_connection(turn):
        nonlocal errors
        while time.monotonic() < deadline:
            method, path, headers, body, expected = make_request(next(turn))
            started = time.monotonic()
            status, _, _ = await client.request(method, path, headers, body)
            samples.append(time.monotonic() - started)
            errors += status != expected

    turn = iter(range(10**12))
    await asyncio.gather(*(one_connection(turn) for _ in range(concurrency)))
    return len(samples), samples, errors


def sql_baseline(database_url: str, hashes: list[str], seconds: float, processes: int) -> float:
    """A heartbeat through the database: the device by its token hash, then its UPDATE, from psycopg."""
    with multiprocessing.get_context("spawn").Pool(processes) as pool:
        counts = pool.starmap(_sql_loop, [(database_url, hashes[i::processes], seconds) for i in range(processes)])
    return sum(counts) / seconds


def _sql_loop(database_url: str, hashes: list[str], seconds: float) -> int:
    import psycopg

    done = 0
    with psycopg.connect(database_url, autocommit=True) as connection:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            hashed = hashes[done % len(hashes)]
            row = connection.execute(
                "SELECT d.id, d.uuid, d.screen_id, d.is_locked, d.lock_pin, d.has_pending_commands, d.playlist_etag,"
                " f.heartbeat_interval FROM devices_device d LEFT JOIN accounts_fleet f ON f.id = d.fleet_id"
                " WHERE d.token_hash = %s",
                [hashed],
            ).fetchone()
            connection.execute(
                "UPDATE devices_device SET last_seen_at = now(), online = true, volume = 50 WHERE id = %s", [row[0]]
            )
            done += 1
    return done


def redis_baseline(env: dict, hashes: list[str], seconds: float, processes: int) -> float:
    """The heartbeat's own Lua script, from redis-py, without Django or HTTP."""
    with multiprocessing.get_context("spawn").Pool(processes) as pool:
        counts = pool.starmap(_redis_loop, [(env, hashes[i::processes], seconds) for i in range(processes)])
    return sum(counts) / seconds


def _redis_loop(env: dict, hashes: list[str], seconds: float) -> int:
    os.environ.update(env)
    import django

    django.setup()
    from apps.devices import lean
    from apps.devices.playlist import summary_key
    from signage import kv

    done, deadline = 0, time.monotonic() + seconds
    while time.monotonic() < deadline:
        now = time.time()
        limits, _ = lean._rate_limit_arguments(now, "POST")
        kv.run_script(
            lean.HEARTBEAT,
            keys=[kv.key(f"device:{hashes[done % len(hashes)]}"), kv.key(lean.SEEN), kv.key(lean.TELEMETRY)],
            args=["", f"{now:.3f}", kv.key(summary_key("")), *limits, "volume", "50"],
        )
        done += 1
    return done


# --- the fleet, open loop ------------------------------------------------------------------------------------


async def simulate(args, data: dict, on_change) -> dict:
    client = Client(args.port)
    deadline = time.monotonic() + args.duration
    change_at = time.monotonic() + args.duration / 3
    records: dict[str, list] = {"heartbeat": [], "playlist": [], "download": [], "stats": [], "304": []}
    errors: dict[str, int] = {}
    got_new: dict[int, float] = {}
    state = {"changed_at": None, "old_etag": data["etag"]}
    in_flight = asyncio.Semaphore(256)

    async def call(kind, method, path, headers, body=b""):
        async with in_flight:
            started = time.monotonic()
            status, head, payload = await client.request(method, path, headers, body)
            records[kind].append((started, time.monotonic() - started))
        if status >= 400 or status == 0:
            errors[f"{kind} {status}"] = errors.get(f"{kind} {status}", 0) + 1
        return status, head, payload

    async def player(index: int, token: str):
        auth = {"Authorization": f"Device {token}"}
        etag, have, beats, items = data["etag"], set(data["contents"]), 0, data["items"]
        await asyncio.sleep(random.uniform(0, args.interval))
        while time.monotonic() < deadline:
            due = time.monotonic()
            body = json.dumps({"volume": 50, "wifi_signal": -60, "uptime_seconds": 1000 + beats}).encode()
            status, _, payload = await call(
                "heartbeat", "POST", "/api/device/heartbeat", {**auth, "Content-Type": "application/json"}, body
            )
            beats += 1
            try:
                answer = json.loads(payload) if status == 200 else {}
            except ValueError:
                errors["heartbeat unreadable"] = errors.get("heartbeat unreadable", 0) + 1
                print("unreadable", payload[:200], flush=True) if errors["heartbeat unreadable"] < 3 else None
                answer = {}
            if answer.get("has_update"):
                status, _, payload = await call(
                    "playlist", "GET", "/api/device/playlist", {**auth, "If-None-Match": f'"{etag}"'}
                )
                if status == 200:
                    fetched = json.loads(payload)
                    etag = fetched["etag"]
                    if state["changed_at"] is not None and etag != state["old_etag"]:
                        got_new.setdefault(index, time.monotonic())
                    for content in fetched["content_to_download"]:
                        if content["content_id"] not in have:
                            url = content["download_url"].split("://", 1)[-1].split("/", 1)[1]
                            await call("download", "GET", "/" + url, {})
                            have.add(content["content_id"])
                    items = fetched["playlist"]["items"]
            elif beats % 10 == 3:  # some players also poll their playlist: an unchanged one is a 304
                await call("304", "GET", "/api/device/playlist", {**auth, "If-None-Match": f'"{etag}"'})
            if beats % args.stats_every == 0 and items:
                item = items[0]
                event = {
                    "id": str(uuid.uuid4()), "media": item["content_id"], "ad": item["ad_id"],
                    "broadcast": item["broadcast_id"], "duration": 10,
                    "started_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() - 30)),
                }  # fmt: skip
                await call("stats", "POST", "/api/device/stats", {**auth, "Content-Type": "application/json"},
                           json.dumps({"events": [event]}).encode())  # fmt: skip
            wait = answer.get("next_heartbeat_in", args.interval)
            await asyncio.sleep(max(0.0, due + wait - time.monotonic()))

    async def changer():
        await asyncio.sleep(max(0.0, change_at - time.monotonic()))
        state["changed_at"] = await asyncio.get_running_loop().run_in_executor(None, on_change)
        state["rebuilt_at"] = await asyncio.get_running_loop().run_in_executor(None, wait_rebuilt, args.duration)

    started = time.monotonic()
    players = [player(i, token) for i, token in enumerate(data["tokens"])]
    await asyncio.gather(changer(), *players)
    return {
        "records": records,
        "errors": errors,
        "seconds": time.monotonic() - started,
        "changed_at": state["changed_at"],
        "rebuilt_at": state.get("rebuilt_at"),
        "converged": got_new,
    }


# --- the run ----------------------------------------------------------------------------------------------------


def main():
    args = options()
    if not os.environ.get("DATABASE_URL", "").startswith("postgres") or not os.environ.get("REDIS_URL"):
        sys.exit("The load test needs DATABASE_URL (PostgreSQL) and REDIS_URL.")
    prefix = f"fleet-bench-{uuid.uuid4().hex[:8]}"
    env = bench_environment(os.environ["DATABASE_URL"], prefix)
    folder = Path(tempfile.mkdtemp(prefix="signage-fleet-"))
    recreate_database(env["DATABASE_URL"])
    os.environ.update(env)
    import django

    django.setup()
    from django.core.management import call_command

    processes = []
    try:
        call_command("migrate", verbosity=0)
        started = time.monotonic()
        data = fill(args.screens, args.campaigns, args.interval)
        print(f"filled {args.screens} screens x {args.campaigns} campaigns in {time.monotonic() - started:.0f} s "
              f"(playlist states built in {data['build_seconds']:.1f} s)", flush=True)  # fmt: skip
        from django.db import connections

        connections.close_all()
        processes = start_stack(env, args, folder)
        _wait_for(args.port)
        tokens, etag = data["tokens"], data["etag"]
        capacity = {}

        def heartbeat(i):
            headers = {"Authorization": f"Device {tokens[i % len(tokens)]}", "Content-Type": "application/json"}
            return "POST", "/api/device/heartbeat", headers, b'{"volume": 50, "wifi_signal": -60}', 200

        def not_modified(i):
            headers = {"Authorization": f"Device {tokens[i % len(tokens)]}", "If-None-Match": f'"{etag}"'}
            return "GET", "/api/device/playlist", headers, b"", 304

        def trivial(i):
            return "GET", "/bench/trivial", {}, b"", 200

        paths = (("trivial Django view", trivial), ("idle heartbeat", heartbeat), ("playlist 304", not_modified))
        for label, make in (*paths, ("trivial Django view ", trivial)):
            cpu = worker_cpu_seconds(processes[0].pid)
            count, samples, errors = asyncio.run(closed_loop(args.port, args.capacity_seconds, args.concurrency, make))
            cpu = worker_cpu_seconds(processes[0].pid) - cpu
            capacity[label] = (count / args.capacity_seconds, *summary(samples), cpu / max(1, count) * 1000, errors)
            print(f"  {label}: {capacity[label][0]:.0f} req/s", flush=True)
        hashes = data["token_hashes"]
        sql = sql_baseline(env["DATABASE_URL"], hashes, args.capacity_seconds, args.workers)
        redis_rate = redis_baseline(env, hashes, args.capacity_seconds, args.workers)
        print(f"  SQL baseline {sql:.0f}/s, Redis baseline {redis_rate:.0f}/s", flush=True)
        fleet = None
        if not args.capacity_only:
            fleet = asyncio.run(simulate(args, data, lambda: change_content(data["broadcast"], data["spare_media"])))
        report(args, capacity, sql, redis_rate, fleet)
    finally:
        stop_stack(processes)
        from django.db import connections

        connections.close_all()
        drop_database(env["DATABASE_URL"])
        _drop_keys(prefix)
        shutil.rmtree(folder, ignore_errors=True)
        shutil.rmtree(env["MEDIA_ROOT"], ignore_errors=True)


def _wait_for(port: int) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            status, _, _ = asyncio.run(Client(port).request("GET", "/bench/trivial"))
            if status == 200:
                return
        except OSError:
            pass
        time.sleep(0.3)
    raise SystemExit("gunicorn did not answer within 60 s")


def _drop_keys(prefix: str) -> None:
    import redis

    client = redis.Redis.from_url(os.environ["REDIS_URL"])
    for keys in _chunks(client.scan_iter(match=f"{prefix}:*", count=5000), 5000):
        client.delete(*keys)
    client.delete("fleet-bench")  # the Celery queue


def _chunks(iterable, size):
    chunk = []
    for item in iterable:
        chunk.append(item)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def report(args, capacity, sql, redis_rate, fleet) -> None:
    trivial = (capacity["trivial Django view"][0] + capacity["trivial Django view "][0]) / 2
    print(f"\nLoad test: {args.screens} screens, {args.campaigns} campaigns each, gunicorn {args.workers} sync "
          f"workers, {os.cpu_count()} CPUs (load average now: {os.getloadavg()[0]:.1f})\n")  # fmt: skip
    print("1. Capacity (closed loop, same run)")
    print(f"{'path':24} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'CPU ms/req':>11} {'errors':>7} {'of trivial':>11}")
    for label, (rate, p50, p99, cpu, errors) in capacity.items():
        print(f"{label:24} {rate:8.0f} {p50:8.1f} {p99:8.1f} {cpu:11.2f} {errors:7d} {rate / trivial:11.0%}")
    heartbeat = capacity["idle heartbeat"][0]
    print(f"{'SQL of a DB heartbeat':24} {sql:8.0f}   (psycopg, {args.workers} processes): "
          f"the lean heartbeat runs at {heartbeat / sql:.0%} of it")  # fmt: skip
    print(f"{'heartbeat Lua script':24} {redis_rate:8.0f}   (redis-py, {args.workers} processes): "
          f"the lean heartbeat runs at {heartbeat / redis_rate:.0%} of it")  # fmt: skip
    if fleet is None:
        return
    records, changed = fleet["records"], fleet["changed_at"]
    print(f"\n2. Fleet (open loop): {args.screens} players at {args.interval} s "
          f"(= {args.screens * 60 // args.interval:,} screens at 60 s), {fleet['seconds']:.0f} s")  # fmt: skip
    print(f"{'path':12} {'requests':>9} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8}")
    for kind, rows in records.items():
        p50, p99 = summary([latency for _, latency in rows])
        print(f"{kind:12} {len(rows):9d} {len(rows) / fleet['seconds']:8.1f} {p50:8.1f} {p99:8.1f}")
    if fleet["errors"]:
        print(f"errors: {fleet['errors']}")
    converged = fleet["converged"]
    if changed is not None:
        last = max(converged.values()) if converged else None
        window_end = last if last is not None and len(converged) == args.screens else changed + args.interval * 1.5
        before = [lat for at, lat in records["heartbeat"] if at < changed]
        during = [lat for at, lat in records["heartbeat"] if changed <= at <= window_end]
        rebuilt = fleet["rebuilt_at"]
        if rebuilt is not None:
            print(f"\nplaylist states of {args.screens} screens rebuilt {rebuilt - changed:.1f} s after the commit")
        print(f"\n3. Content change on every screen at t+{args.duration / 3:.0f} s: "
              f"{len(converged)}/{args.screens} players had the new playlist"
              + (f" after {last - changed:.1f} s" if last is not None else ""))  # fmt: skip
        print(f"heartbeat p50 / p99 before: {summary(before)[0]:.1f} / {summary(before)[1]:.1f} ms; "
              f"until converged: {summary(during)[0]:.1f} / {summary(during)[1]:.1f} ms")  # fmt: skip
        if rebuilt is not None:
            print(f"a player learns of the change at its next heartbeat: the floor is the rebuild plus the longest "
                  f"interval with its jitter, {rebuilt - changed:.1f} + {args.interval * 1.1:.0f} s")  # fmt: skip


if __name__ == "__main__":
    main()
