"""Load test: a fleet of paired players against the production stack on this machine.

Starts gunicorn (sync workers) on PostgreSQL and Redis, in a database and a Redis key prefix of its own;
fills N screens, each with a paired player and C campaigns; then, all in one run:

1. Capacity, closed loop for a few seconds each: a trivial Django view (before and after), the idle
   heartbeat, the unchanged playlist (304), the full playlist, a download and a proof-of-play batch of one
   display under the same gunicorn; the
   database doing a heartbeat's SQL (the device by its token, then its UPDATE) from psycopg in as many
   processes as gunicorn has workers; Redis running the heartbeat's script from as many processes.
   Requests per second, p50 / p99, the CPU the gunicorn workers spent per request, and each part's share
   of the CPU (from /proc).
2. With --rates, open loop at fixed rates: the idle heartbeat and the trivial view at each rate, latency
   from the instant a request was due, the machine's TCP accept-queue overflows and SYN retransmissions.
3. The fleet, open loop, with a Celery worker and its beat: every player heartbeats at the
   `next_heartbeat_in` the server gives it (first one at a random instant of its interval), fetches its
   playlist when told `has_update`, downloads what it lacks, posts proof of play every few heartbeats. At
   --change-at (a third of the way by default), a content change touching every screen (a campaign's media
   replaced): the report says how long from the commit until the last player had its new playlist, and
   the heartbeats' p99 meanwhile. The fleet stops at its deadline.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/signage REDIS_URL=redis://127.0.0.1:6379/2 \\
        .venv/bin/python bench/fleet.py [--screens 10000] [--interval 40] [--duration 120] [--port 8501]

The port also comes from LOADTEST_PORT (`make loadtest LOADTEST_PORT=8250`). --lock and --quiet hold a lock
and a marker file while measuring only (see --help).

The fleet's request rate is screens / interval: 60,000 screens at 60 s is the rate of 10,000 at 10 s.
Everything is bounded in time; the stack is stopped and the database dropped at the end (even on Ctrl-C).
"""

import argparse
import asyncio
import gc
import itertools
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
    parser.add_argument(
        "--interval", type=int, default=None, help="the fleet's heartbeat interval, seconds (default: a new fleet's)"
    )
    parser.add_argument("--duration", type=int, default=120, help="seconds of fleet simulation")
    parser.add_argument("--change-at", type=float, default=None, help="seconds into the fleet (default: a third)")
    parser.add_argument("--no-change", action="store_true", help="a steady fleet: no content change")
    parser.add_argument("--capacity-seconds", type=float, default=10.0, help="seconds per capacity figure")
    parser.add_argument(
        "--rates", default="", help="idle heartbeats per second to send open loop, one step each (500,1000,1500)"
    )
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers")
    parser.add_argument("--worker-class", default="sync", help="gunicorn worker class (sync, gthread)")
    parser.add_argument("--threads", type=int, default=1, help="threads per gunicorn worker (gthread)")
    parser.add_argument("--concurrency", type=int, default=8, help="connections in flight (capacity phase)")
    parser.add_argument(
        "--port", type=int, default=int(os.environ.get("LOADTEST_PORT", 8501)), help="gunicorn's port ($LOADTEST_PORT)"
    )
    parser.add_argument("--capacity-only", action="store_true", help="skip the fleet simulation (phase 3)")
    parser.add_argument("--stats-every", type=int, default=2, help="heartbeats between proof-of-play batches")
    parser.add_argument("--lock", help="a file to hold locked (flock) while measuring, so benchmarks never overlap")
    parser.add_argument("--quiet", help="a file to create while measuring (and remove after)")
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
        [str(bin_dir / "gunicorn"), "signage.wsgi", "--workers", str(args.workers), "--worker-class",
         args.worker_class, "--threads", str(args.threads), "--bind", f"127.0.0.1:{args.port}", "--backlog", "4096",
         "--timeout", "60", "--log-level", "warning"],
        cwd=ROOT, env=env, start_new_session=True,
    )  # fmt: skip
    return [gunicorn]


def start_celery(env: dict, folder: Path) -> subprocess.Popen:
    """The Celery worker with its beat, for the fleet phase only: phases 1 and 2 measure the request paths
    alone, and the beat would mark offline the players they leave silent for 1.5 intervals."""
    bin_dir = Path(sys.executable).parent
    return subprocess.Popen(
        [str(bin_dir / "celery"), "-A", "signage", "worker", "-B", "-Q", "fleet-bench", "--concurrency", "1",
         "--loglevel", "warning", "-s", str(folder / "beat-schedule"), "--pidfile", str(folder / "worker.pid")],
        cwd=ROOT, env=env, start_new_session=True,
    )  # fmt: skip


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
    from apps.devices import playlist
    from apps.devices.models import Device, new_device_token, token_hash
    from apps.devices.services import download_url
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
    # Creating the campaigns marked every screen for the rebuild task (content_changed): the states are built,
    # so the marks go, or the Celery worker of the fleet phase would rebuild them all again while it measures.
    from signage import kv

    kv.client().delete(kv.key(playlist.DIRTY), kv.key(playlist.QUEUED))
    first_state = playlist.stored_state(screen_rows[0].pk)
    etag = first_state["etag"]
    Device.objects.filter(fleet=fleet).update(playlist_etag=etag)
    expires = int(time.time()) + 24 * 3600
    some = Device.objects.filter(fleet=fleet).order_by("pk")[:1000]
    downloads = [download_url(device.pk, first_state["contents"][0], expires) for device in some]
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
        "downloads": downloads,
    }


def warm(fleet_id: int) -> None:
    """Every player seen now and remembered by the lean path, as after a heartbeat and a playlist fetch
    (just before measuring: players silent for 1.5 intervals would be offline, and take the full path)."""

    from apps.devices import lean
    from apps.devices.models import Device

    keep_alive(fleet_id)
    lean.remember_many(Device.objects.filter(fleet_id=fleet_id).select_related("fleet"))


def keep_alive(fleet_id: int) -> None:
    from django.utils import timezone

    from apps.devices.models import Device

    Device.objects.filter(fleet_id=fleet_id).update(last_seen_at=timezone.now())


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


class _Exchange(asyncio.Protocol):
    """One request on its own connection; the answer is everything until the server closes it."""

    def __init__(self, request: bytes, done: asyncio.Future):
        self.request, self.done, self.chunks = request, done, []

    def connection_made(self, transport):
        transport.write(self.request)

    def data_received(self, data):
        self.chunks.append(data)

    def connection_lost(self, exc):
        if not self.done.done():
            if exc is None:
                self.done.set_result(b"".join(self.chunks))
            else:
                self.done.set_exception(exc)


class Client:
    """A minimal HTTP/1.1 client: one connection per request (a player heartbeating once a minute opens a
    new one each time, and gunicorn's sync workers close them), on asyncio's transport layer (no streams:
    the load generator shares the two cores with what it measures, so its own cost per request counts).

    Connections come from a thousand loopback addresses, as a fleet's players come from their own: from
    one address, the server's TIME_WAIT connections (60 s each, the server closes first) use up the 28,232
    ephemeral ports at about 470 new connections a second, and new connections then wait for SYN
    retransmissions (1, 3, 7 ... s) whatever the server's load."""

    def __init__(self, port: int):
        self.port = port
        self.sources = itertools.cycle([f"127.0.{high}.{low}" for high in range(0, 4) for low in range(2, 255)])

    async def request(self, method: str, path: str, headers: dict | None = None, body: bytes = b""):
        """(status, head, payload); status 0 when the connection failed."""
        loop = asyncio.get_running_loop()
        lines = [f"{method} {path} HTTP/1.1", "Host: 127.0.0.1", "Connection: close", f"Content-Length: {len(body)}"]
        lines += [f"{name}: {value}" for name, value in (headers or {}).items()]
        done = loop.create_future()
        request = ("\r\n".join(lines) + "\r\n\r\n").encode() + body
        try:
            transport, _ = await loop.create_connection(
                lambda: _Exchange(request, done), "127.0.0.1", self.port, local_addr=(next(self.sources), 0)
            )
            try:
                data = await done
            finally:
                transport.close()
        except OSError:
            return 0, b"", b""
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


def run(coroutine):
    """asyncio.run on uvloop when it is installed (requirements-dev.txt): about half the load generator's
    CPU per request of the default event loop."""
    try:
        import uvloop
    except ImportError:
        return asyncio.run(coroutine)
    return uvloop.run(coroutine)


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


async def open_loop(port: int, rate: float, seconds: float, make_request) -> dict:
    """Requests sent at a fixed rate whatever the answers (as a fleet does), each timed from the instant it
    was due, so a server falling behind shows in the latencies rather than slowing the sender down.
    Requests still unanswered 5 s after the window count as late."""
    client, samples, errors, late = Client(port), [], 0, 0
    loop = asyncio.get_running_loop()
    pending: set = set()

    async def one(index: int, due: float):
        nonlocal errors
        method, path, headers, body, expected = make_request(index)
        status, _, _ = await client.request(method, path, headers, body)
        samples.append(loop.time() - due)
        errors += status != expected

    start, total, sent = loop.time(), int(rate * seconds), 0
    while sent < total:
        now = loop.time()
        while sent < total and start + sent / rate <= now:
            task = loop.create_task(one(sent, start + sent / rate))
            pending.add(task)
            task.add_done_callback(pending.discard)
            sent += 1
        await asyncio.sleep(0.002)
    if pending:
        _, unfinished = await asyncio.wait(set(pending), timeout=5)
        late = len(unfinished)
        for task in unfinished:
            task.cancel()
    return {"rate": rate, "answered": len(samples), "samples": samples, "errors": errors, "late": late}


# --- CPU per process ----------------------------------------------------------------------------------------


class CpuMeter:
    """CPU seconds (user + system) per part of the stack, from /proc: gunicorn's workers and master, the
    Celery worker (its process group), this load generator, PostgreSQL's backends of the run's database and
    its other processes, Redis; and the whole machine (/proc/stat), so what is left is everything else."""

    def __init__(self, gunicorn_pid: int, celery_pgid: int, database: str):
        self.gunicorn, self.celery, self.database = gunicorn_pid, celery_pgid, database.encode()
        self.me, self.ticks = os.getpid(), os.sysconf("SC_CLK_TCK")

    def _role(self, pid: int, comm: str, ppid: int, pgrp: int) -> str | None:
        if pid == self.gunicorn:
            return "gunicorn master"
        if ppid == self.gunicorn:
            return "gunicorn workers"
        if pgrp == self.celery:
            return "celery"
        if pid == self.me or ppid == self.me:
            return "load generator"
        if comm == "redis-server":
            return "redis"
        if comm == "postgres":
            try:
                command = Path(f"/proc/{pid}/cmdline").read_bytes()
            except OSError:
                return None
            ours = self.database in command.replace(b"\0", b" ").split()
            return "postgres (this run)" if ours else "postgres (other)"
        return None

    def snapshot(self) -> dict:
        """(role, pid) -> CPU seconds so far, and "machine" -> the whole machine's busy seconds."""
        seconds: dict = {}
        for entry in os.scandir("/proc"):
            if not entry.name.isdigit():
                continue
            try:
                text = Path(f"/proc/{entry.name}/stat").read_text()
            except OSError:
                continue
            comm = text[text.index("(") + 1 : text.rindex(")")]
            fields = text[text.rindex(")") + 2 :].split()
            role = self._role(int(entry.name), comm, int(fields[1]), int(fields[2]))
            if role is not None:
                seconds[(role, entry.name)] = (int(fields[11]) + int(fields[12])) / self.ticks
        busy = Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]
        user, nice, system, _idle, _iowait, irq, softirq, steal = (int(value) for value in busy[:8])
        seconds["machine"] = (user + nice + system + irq + softirq + steal) / self.ticks
        return seconds

    @staticmethod
    def seconds(before: dict, after: dict, role: str) -> float:
        return sum(cpu - before.get(key, 0.0) for key, cpu in after.items() if key != "machine" and key[0] == role)

    @staticmethod
    def line(before: dict, after: dict, seconds: float) -> str:
        """Each part's share of one core over the window (%), everything else, and the machine's total. A
        process that ended within the window is not counted (short-lived ones are rare here: gunicorn and
        Celery keep their processes, Django its database connections for a minute)."""
        share = dict.fromkeys(ROLES, 0.0)
        for key, cpu in after.items():
            if key != "machine":
                share[key[0]] += (cpu - before.get(key, 0.0)) / seconds * 100
        machine = (after["machine"] - before["machine"]) / seconds * 100
        rest = machine - sum(share.values())
        shown = ", ".join(f"{name} {value:.0f}" for name, value in share.items())
        total = os.cpu_count() * 100
        return f"CPU, % of one core: {shown}, everything else {rest:.0f}; machine {machine:.0f} of {total}"


def tcp_counters() -> dict:
    """The machine's TCP counters that say whether connections waited before any worker saw them: accept
    queue overflows (a listener's queue full: the SYN is dropped and the client sends it again after 1, 3,
    7 ... s) and SYN retransmissions (/proc/net/netstat)."""
    lines = [line.split() for line in Path("/proc/net/netstat").read_text().splitlines() if line.startswith("TcpExt:")]
    values = dict(zip(lines[0][1:], (int(value) for value in lines[1][1:]), strict=True))
    return {"listen overflows": values.get("ListenOverflows", 0), "SYN retransmissions": values.get("TCPSynRetrans", 0)}


ROLES = ("gunicorn workers", "gunicorn master", "load generator", "postgres (this run)", "postgres (other)", "redis",
         "celery")  # fmt: skip


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


async def simulate(args, data: dict, on_change, meter: CpuMeter) -> dict:
    """The fleet until the deadline, exactly: at the deadline every player stops, requests still in flight
    are counted (and how long they had been waiting) and dropped."""
    client = Client(args.port)
    started = time.monotonic()
    deadline = started + args.duration
    change_at = started + (args.duration / 3 if args.change_at is None else args.change_at)
    records: dict[str, list] = {"heartbeat": [], "playlist": [], "download": [], "stats": [], "304": []}
    errors: dict[str, int] = {}
    got_new: dict[int, float] = {}  # player -> when its fetch of the new playlist was answered
    downloaded: dict[int, float] = {}  # player -> when it had downloaded what the new playlist needs
    outstanding: dict[int, float] = {}  # request -> when it was sent
    state = {"changed_at": None, "old_etag": data["etag"], "cpu": [(started, meter.snapshot())]}
    counters = tcp_counters()
    numbers = iter(range(10**12))

    async def call(kind, method, path, headers, body=b""):
        number, sent = next(numbers), time.monotonic()
        outstanding[number] = sent
        try:
            status, head, payload = await client.request(method, path, headers, body)
        finally:
            del outstanding[number]
        records[kind].append((sent, time.monotonic() - sent))
        if status >= 400 or status == 0:
            errors[f"{kind} {status}"] = errors.get(f"{kind} {status}", 0) + 1
        return status, head, payload

    async def player(index: int, token: str):
        auth = {"Authorization": f"Device {token}"}
        etag, have, beats, items = data["etag"], set(data["contents"]), 0, data["items"]
        await asyncio.sleep(random.uniform(0, args.interval))  # the first beat at a random instant
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
                answer = {}
            if answer.get("has_update"):
                status, _, payload = await call(
                    "playlist", "GET", "/api/device/playlist", {**auth, "If-None-Match": f'"{etag}"'}
                )
                if status == 200:
                    fetched = json.loads(payload)
                    etag = fetched["etag"]
                    new = state["changed_at"] is not None and etag != state["old_etag"]
                    if new:
                        got_new.setdefault(index, time.monotonic())
                    for content in fetched["content_to_download"]:
                        if content["content_id"] not in have:
                            url = content["download_url"].split("://", 1)[-1].split("/", 1)[1]
                            status, _, _ = await call("download", "GET", "/" + url, {})
                            if status == 200:
                                have.add(content["content_id"])
                    if new and all(content["content_id"] in have for content in fetched["content_to_download"]):
                        downloaded.setdefault(index, time.monotonic())
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
        executor = asyncio.get_running_loop().run_in_executor
        state["changed_at"] = await executor(None, on_change)
        state["cpu"].append((state["changed_at"], meter.snapshot()))
        state["rebuilt_at"] = await executor(None, wait_rebuilt, max(1.0, deadline - time.monotonic()))

    tasks = [asyncio.ensure_future(player(i, token)) for i, token in enumerate(data["tokens"])]
    if not args.no_change:
        tasks.append(asyncio.ensure_future(changer()))
    # No cyclic garbage collection while measuring: a full collection over 60,000 players' coroutines and the
    # samples stalls the event loop for hundreds of milliseconds, which would count as the server's latency.
    gc.collect()
    gc.freeze()
    gc.disable()
    try:
        await asyncio.sleep(max(0.0, deadline - time.monotonic()))
    finally:
        gc.enable()
        gc.unfreeze()
    stopped = time.monotonic()
    state["cpu"].append((stopped, meter.snapshot()))
    in_flight = sorted(outstanding.values())
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    return {
        "records": records,
        "errors": errors,
        "seconds": stopped - started,
        "changed_at": state["changed_at"],
        "rebuilt_at": state.get("rebuilt_at"),
        "converged": got_new,
        "downloaded": downloaded,
        "in_flight": (len(in_flight), stopped - in_flight[0] if in_flight else 0.0),
        "cpu": state["cpu"],
        "tcp": {name: value - counters[name] for name, value in tcp_counters().items()},
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

    from apps.accounts.models import Fleet

    if args.interval is None:
        args.interval = Fleet._meta.get_field("heartbeat_interval").default
    processes, window = [], None
    try:
        call_command("migrate", verbosity=0)
        started = time.monotonic()
        data = fill(args.screens, args.campaigns, args.interval)
        print(f"filled {args.screens} screens x {args.campaigns} campaigns in {time.monotonic() - started:.0f} s "
              f"(playlist states built in {data['build_seconds']:.1f} s)", flush=True)  # fmt: skip
        from django.db import connections

        window = MeasuringWindow(args.lock, args.quiet)
        warm(data["fleet"])
        connections.close_all()
        processes = start_stack(env, args, folder)
        _wait_for(args.port)
        results = measure(args, env, data, processes, folder)
        window.close()
        report(args, *results, window.loads)
    finally:
        if window is not None:
            window.close()
        stop_stack(processes)
        from django.db import connections

        connections.close_all()
        drop_database(env["DATABASE_URL"])
        _drop_keys(prefix)
        shutil.rmtree(folder, ignore_errors=True)
        shutil.rmtree(env["MEDIA_ROOT"], ignore_errors=True)


class MeasuringWindow:
    """The measuring phases only (not filling nor teardown): the lock held, the quiet file present, and the
    machine's load average at both ends."""

    def __init__(self, lock: str | None, quiet: str | None):
        import fcntl

        self.lock = open(lock, "a") if lock else None  # noqa: SIM115 (held until close)
        if self.lock:
            print(f"waiting for {lock}", flush=True)
            fcntl.flock(self.lock, fcntl.LOCK_EX)
        self.quiet = Path(quiet) if quiet else None
        if self.quiet:
            self.quiet.touch()
        self.loads = [os.getloadavg()]
        print(f"measuring (load average {self.loads[0][0]:.2f}, {self.loads[0][1]:.2f}, {self.loads[0][2]:.2f})",
              flush=True)  # fmt: skip

    def close(self) -> None:
        if len(self.loads) == 1:
            self.loads.append(os.getloadavg())
        if self.quiet:
            self.quiet.unlink(missing_ok=True)
            self.quiet = None
        if self.lock:
            self.lock.close()  # releases the flock
            self.lock = None


def measure(args, env: dict, data: dict, processes: list, folder: Path) -> tuple:
    tokens, etag = data["tokens"], data["etag"]
    meter = CpuMeter(processes[0].pid, -1, env["DATABASE_URL"].rpartition("/")[2])
    capacity, cpu_lines = {}, {}

    def heartbeat(i):
        headers = {"Authorization": f"Device {tokens[i % len(tokens)]}", "Content-Type": "application/json"}
        return "POST", "/api/device/heartbeat", headers, b'{"volume": 50, "wifi_signal": -60}', 200

    def not_modified(i):
        headers = {"Authorization": f"Device {tokens[i % len(tokens)]}", "If-None-Match": f'"{etag}"'}
        return "GET", "/api/device/playlist", headers, b"", 304

    def trivial(i):
        return "GET", "/bench/trivial", {}, b"", 200

    def full_playlist(i):  # what every player fetches once after a change
        return "GET", "/api/device/playlist", {"Authorization": f"Device {tokens[i % len(tokens)]}"}, b"", 200

    def download(i):  # a 1 KiB media file by a player's signed URL
        return "GET", data["downloads"][i % len(data["downloads"])], {}, b"", 200

    def stats(i):  # a proof-of-play batch of one display, as players post every few heartbeats
        item = data["items"][0]
        event = {
            "id": str(uuid.uuid4()), "media": item["content_id"], "ad": item["ad_id"],
            "broadcast": item["broadcast_id"], "duration": 10,
            "started_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() - 2)),
        }  # fmt: skip
        headers = {"Authorization": f"Device {tokens[i % len(tokens)]}", "Content-Type": "application/json"}
        return "POST", "/api/device/stats", headers, json.dumps({"events": [event]}).encode(), 200

    paths = (("trivial Django view", trivial), ("idle heartbeat", heartbeat), ("playlist 304", not_modified))
    paths += (("playlist (full)", full_playlist), ("download", download), ("proof of play", stats))
    for label, make in (*paths, ("trivial Django view ", trivial)):
        before, began = meter.snapshot(), time.monotonic()
        count, samples, errors = run(closed_loop(args.port, args.capacity_seconds, args.concurrency, make))
        after, elapsed = meter.snapshot(), time.monotonic() - began
        cpu = CpuMeter.seconds(before, after, "gunicorn workers")
        capacity[label] = (count / args.capacity_seconds, *summary(samples), cpu / max(1, count) * 1000, errors)
        cpu_lines[label] = CpuMeter.line(before, after, elapsed)
        print(f"  {label}: {capacity[label][0]:.0f} req/s", flush=True)
    hashes = data["token_hashes"]
    sql = sql_baseline(env["DATABASE_URL"], hashes, args.capacity_seconds, args.workers)
    redis_rate = redis_baseline(env, hashes, args.capacity_seconds, args.workers)
    print(f"  SQL baseline {sql:.0f}/s, Redis baseline {redis_rate:.0f}/s", flush=True)
    ladder = []
    for rate in [float(rate) for rate in args.rates.split(",") if rate.strip()]:
        for label, make in (("idle heartbeat", heartbeat), ("trivial Django view", trivial)):
            before, began, counters = meter.snapshot(), time.monotonic(), tcp_counters()
            step = run(open_loop(args.port, rate, args.capacity_seconds, make))
            after = meter.snapshot()
            cpu = CpuMeter.line(before, after, time.monotonic() - began)
            tcp = {name: value - counters[name] for name, value in tcp_counters().items()}
            step.update(label=label, cpu=cpu, tcp=tcp)
            ladder.append(step)
            print(f"  {label} at {rate:.0f}/s: p99 {summary(step['samples'])[1]:.0f} ms", flush=True)
        if any(step["late"] > step["rate"] * args.capacity_seconds / 10 for step in ladder[-2:]):
            break  # a tenth unanswered: past the ceiling, higher rates only queue
    fleet = None
    if not args.capacity_only:
        from django.db import connections

        from apps.devices.services import devices_flush_heartbeats

        devices_flush_heartbeats()  # what phases 1 and 2 buffered
        warm(data["fleet"])
        connections.close_all()
        processes.append(start_celery(env, folder))
        meter.celery = processes[-1].pid
        time.sleep(5)  # the worker and its beat up
        fleet = run(simulate(args, data, lambda: change_content(data["broadcast"], data["spare_media"]), meter))
    return capacity, cpu_lines, sql, redis_rate, ladder, fleet


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


def report(args, capacity, cpu_lines, sql, redis_rate, ladder, fleet, loads) -> None:
    trivial = (capacity["trivial Django view"][0] + capacity["trivial Django view "][0]) / 2
    (first, *_), (last, *_) = loads
    print(f"\nLoad test: {args.screens} screens, {args.campaigns} campaigns each, gunicorn {args.workers} "
          f"{args.worker_class} workers, {os.cpu_count()} CPUs; load average {first:.2f} when measuring began, "
          f"{last:.2f} when it ended\n")  # fmt: skip
    print("1. Capacity (closed loop, same run)")
    print(f"{'path':24} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'CPU ms/req':>11} {'errors':>7} {'of trivial':>11}")
    for label, (rate, p50, p99, cpu, errors) in capacity.items():
        print(f"{label:24} {rate:8.0f} {p50:8.1f} {p99:8.1f} {cpu:11.2f} {errors:7d} {rate / trivial:11.0%}")
    for label, line in cpu_lines.items():
        print(f"  {label}: {line}")
    heartbeat = capacity["idle heartbeat"][0]
    print(f"{'SQL of a DB heartbeat':24} {sql:8.0f}   (psycopg, {args.workers} processes): "
          f"the lean heartbeat runs at {heartbeat / sql:.0%} of it")  # fmt: skip
    print(f"{'heartbeat Lua script':24} {redis_rate:8.0f}   (redis-py, {args.workers} processes): "
          f"the lean heartbeat runs at {heartbeat / redis_rate:.0%} of it")  # fmt: skip
    if ladder:
        print("\n2. Open loop (a fixed rate whatever the answers; latency from the instant a request was due)")
        print(f"{'path':22} {'sent/s':>7} {'answered/s':>11} {'p50 ms':>8} {'p99 ms':>8} {'errors':>7} {'late':>6}")
        for step in ladder:
            p50, p99 = summary(step["samples"])
            answered = step["answered"] / args.capacity_seconds
            print(f"{step['label']:22} {step['rate']:7.0f} {answered:11.0f} {p50:8.1f} {p99:8.1f} "
                  f"{step['errors']:7d} {step['late']:6d}")  # fmt: skip
            print(f"  {step['cpu']}; TCP: " + ", ".join(f"{name} {value}" for name, value in step["tcp"].items()))
    if fleet is None:
        return
    records, changed = fleet["records"], fleet["changed_at"]
    print(f"\n3. Fleet (open loop): {args.screens} players at {args.interval} s "
          f"(= {args.screens * 60 // args.interval:,} screens at 60 s), stopped at its deadline after "
          f"{fleet['seconds']:.1f} s with {fleet['in_flight'][0]} requests in flight "
          f"(the oldest sent {fleet['in_flight'][1]:.1f} s before)")  # fmt: skip
    print(f"{'path':12} {'requests':>9} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8}")
    for kind, rows in records.items():
        p50, p99 = summary([latency for _, latency in rows])
        print(f"{kind:12} {len(rows):9d} {len(rows) / fleet['seconds']:8.1f} {p50:8.1f} {p99:8.1f}")
    if fleet["errors"]:
        print(f"errors: {fleet['errors']}")
    snapshots = fleet["cpu"]
    for (start, before), (end, after) in itertools.pairwise(snapshots):
        what = "before the change" if changed is not None and end == changed else "until the deadline"
        print(f"  {what}: {CpuMeter.line(before, after, end - start)}")
    print("  TCP: " + ", ".join(f"{name} {value}" for name, value in fleet["tcp"].items()))
    if changed is None:
        return
    converged, downloaded = fleet["converged"], fleet["downloaded"]
    last = max(converged.values()) if converged else None
    everyone = len(converged) == args.screens
    window_end = last if everyone else changed + fleet["seconds"]
    before = [lat for at, lat in records["heartbeat"] if at < changed]
    during = [lat for at, lat in records["heartbeat"] if changed <= at <= window_end]
    rebuilt = fleet["rebuilt_at"]
    print(f"\n4. Content change on every screen at t+{changed - (snapshots[0][0]):.0f} s (a campaign's media replaced)")
    if rebuilt is not None:
        print(f"playlist states of {args.screens} screens rebuilt {rebuilt - changed:.1f} s after the commit")
    if everyone:
        print(f"every player had its new playlist {last - changed:.1f} s after the commit (the last fetch answered)")
        if len(downloaded) == args.screens:
            print(f"and had downloaded its new media {max(downloaded.values()) - changed:.1f} s after the commit")
    else:
        print(f"{len(converged)}/{args.screens} players had the new playlist at the deadline, "
              f"{snapshots[-1][0] - changed:.0f} s after the commit")  # fmt: skip
    print(f"heartbeat p50 / p99 before: {summary(before)[0]:.1f} / {summary(before)[1]:.1f} ms; "
          f"from the change until {'the last player had it' if everyone else 'the deadline'}: "
          f"{summary(during)[0]:.1f} / {summary(during)[1]:.1f} ms")  # fmt: skip
    if rebuilt is not None:
        print(f"a player learns of the change at its next heartbeat: the floor is the rebuild plus the longest "
              f"interval with its jitter, {rebuilt - changed:.1f} + {args.interval * 1.1:.0f} s")  # fmt: skip


if __name__ == "__main__":
    main()
