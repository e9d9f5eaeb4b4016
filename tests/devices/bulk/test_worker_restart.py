"""A real Celery worker, killed (SIGKILL, by its pid) in the middle of a batch: another worker takes the
batch up again and finishes the operation, and no player gets the operation twice.

The worker is made to stop mid-batch deterministically: the test holds a row lock on one player of the
third batch, so the worker's batch transaction waits on it with the batch half applied (commands
inserted, not committed). PostgreSQL only (row locks, a database shared by processes); needs Redis (the
broker), as CI has.
"""

import os
import signal
import subprocess
import sys
import time
import uuid
from collections import Counter
from importlib import import_module
from pathlib import Path

import psycopg
import pytest
import redis
from celery import Celery
from django.apps import apps as django_apps
from django.conf import settings
from django.db import connection

from apps.devices.bulk.models import BulkOperation, BulkOperationDevice, BulkOperationState, TargetState
from apps.devices.models import CommandType, DeviceCommand

from .conftest import report_results

ROOT = Path(__file__).resolve().parents[3]
BATCH = 50
PLAYERS = 300
pytestmark = pytest.mark.skipif(
    not os.environ.get("DATABASE_URL", "").startswith("postgres"),
    reason="a real worker shares the test database: PostgreSQL only (as in CI)",
)


@pytest.fixture(scope="module", autouse=True)
def _migration_rows_back(django_db_blocker):
    """The transactional test flushes every table, the migrations' rows too: once it is over (module
    teardown comes after its flush), the standard advertiser types are put back as their migration does,
    so the tests after this module find the database as migrated."""
    yield
    with django_db_blocker.unblock():
        import_module("apps.accounts.migrations.0002_standard_advertiser_types").create_types(django_apps, None)


def _database_url() -> str:
    db = connection.settings_dict
    password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
    return f"postgresql://{db['USER']}{password}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


def _broker_url(redis_url: str) -> str:
    return "redis+socket://" + redis_url.removeprefix("unix://") if redis_url.startswith("unix://") else redis_url


class Workers:
    """Celery workers of this test only: their own queue, their own cache prefix, the test database."""

    def __init__(self, redis_url: str, folder: Path):
        self.queue = f"bulk-test-{uuid.uuid4().hex[:10]}"
        self.broker = _broker_url(redis_url)
        self.redis_url = redis_url
        self.folder = folder
        self.processes: list[subprocess.Popen] = []
        self.env = {
            **os.environ,
            "DATABASE_URL": _database_url(),
            "REDIS_URL": redis_url,
            "CELERY_BROKER_URL": self.broker,
            "CELERY_TASK_ALWAYS_EAGER": "false",
            "CACHE_KEY_PREFIX": f"{self.queue}-cache",
            "BULK_OPERATIONS_QUEUE": self.queue,
            "DJANGO_SETTINGS_MODULE": "signage.settings",
            "LOG_LEVEL": "WARNING",
        }
        self.sender = Celery("bulk-test", broker=self.broker)

    def start(self) -> subprocess.Popen:
        number = len(self.processes) + 1
        log = open(self.folder / f"worker-{number}.log", "wb")  # noqa: SIM115 - closed with the process
        process = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "signage", "worker", "-Q", self.queue, "--pool", "solo",
             "-n", f"{self.queue}-{number}@%h", "--without-gossip", "--without-mingle", "--without-heartbeat",
             "--loglevel", "INFO"],
            cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
        self.processes.append(process)
        return process

    def tick(self) -> None:
        """What the beat sends every SIGNAGE_BULK_TICK_SECONDS."""
        self.sender.send_task("apps.devices.tasks.bulk_operations_tick", queue=self.queue)

    def log(self, number: int) -> str:
        return (self.folder / f"worker-{number}.log").read_text(errors="replace")

    def close(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for process in self.processes:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=10)
        self.sender.close()
        # Only this test's keys: its queue and bindings, its workers' remote-control bindings, the messages
        # the killed worker left unacknowledged, its cache.
        client = redis.Redis.from_url(self.redis_url)
        mine = self.queue.encode()
        for key in client.scan_iter(match=f"*{self.queue}*"):
            client.delete(key)
        for key in client.scan_iter(match="_kombu.binding*"):
            if client.type(key) == b"set":
                members = [member for member in client.smembers(key) if mine in member]
                if members:
                    client.srem(key, *members)
        for tag, message in client.hgetall("unacked").items():
            if mine in message:
                client.hdel("unacked", tag)
                client.zrem("unacked_index", tag)


def _waiting_on_a_lock(cursor) -> bool:
    cursor.execute("SELECT query FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'")
    return any(query.startswith("UPDATE") for (query,) in cursor.fetchall())


def _run_until(condition, workers: Workers, operation: BulkOperation, timeout: float, what: str) -> None:
    """Play the beat and the players (they answer their commands) until `condition()` holds."""
    deadline = time.monotonic() + timeout
    next_tick = 0.0
    while time.monotonic() < deadline:
        if time.monotonic() >= next_tick:
            workers.tick()
            next_tick = time.monotonic() + 0.5
        report_results(operation)
        if condition():
            return
        time.sleep(0.1)
    logs = "\n".join(workers.log(n)[-3000:] for n in range(1, len(workers.processes) + 1))
    raise AssertionError(f"timed out waiting for {what}\n{logs}")


@pytest.mark.django_db(transaction=True)
def test_a_killed_worker_s_batch_is_taken_up_again_and_no_player_gets_it_twice(
    fleet, make_players, redis_url, tmp_path
):
    players = make_players(fleet, PLAYERS)
    operation = BulkOperation.objects.create(
        fleet=fleet, name="Reboot", operation_type="REBOOT", filter={}, batch_size=BATCH, result_timeout=600
    )
    held = players[2 * BATCH + 7]  # a player of the third batch
    workers = Workers(redis_url, tmp_path)
    db = connection.settings_dict
    locker = psycopg.connect(
        host=db["HOST"] or "127.0.0.1", port=db["PORT"] or 5432, user=db["USER"], password=db["PASSWORD"] or None,
        dbname=db["NAME"],
    )  # fmt: skip
    try:
        with locker.cursor() as cursor:
            # NO KEY UPDATE: the worker's UPDATE of the player waits on it, its foreign-key checks do not.
            cursor.execute("SELECT id FROM devices_device WHERE id = %s FOR NO KEY UPDATE", [held.pk])
        first = workers.start()

        # The first worker sends two batches (the players answer), then waits on the held player.
        with connection.cursor() as cursor:
            _run_until(lambda: _waiting_on_a_lock(cursor), workers, operation, 120, "the third batch to wait")
        operation.refresh_from_db()
        assert operation.batches == 2 and operation.successful == 2 * BATCH

        os.kill(first.pid, signal.SIGKILL)
        assert first.wait(timeout=30) == -signal.SIGKILL
        locker.rollback()  # the lost transaction can go on now, and can only roll back: its client is gone

        # Nothing of the third batch survived the worker.
        third = [player.pk for player in players[2 * BATCH : 3 * BATCH]]
        assert not DeviceCommand.objects.filter(device_id__in=third).exists()
        assert BulkOperationDevice.objects.filter(device_id__in=third, state=TargetState.PENDING).count() == BATCH

        second = workers.start()
        assert second.pid != first.pid

        def finished():
            operation.refresh_from_db()
            return operation.finished_at is not None

        _run_until(finished, workers, operation, 180, "the operation to finish on the second worker")
    finally:
        locker.close()
        workers.close()
        workers_log = workers.log(2) if len(workers.processes) > 1 else ""

    assert operation.state == BulkOperationState.FINISHED
    assert (operation.successful, operation.failed, operation.skipped, operation.total) == (PLAYERS, 0, 0, PLAYERS)
    assert operation.batches == PLAYERS // BATCH  # the lost batch was not counted: it never happened
    per_player = Counter(DeviceCommand.objects.filter(type=CommandType.REBOOT).values_list("device_id", flat=True))
    assert len(per_player) == PLAYERS and set(per_player.values()) == {1}
    rows = BulkOperationDevice.objects.filter(operation=operation)
    assert set(rows.values_list("batch", flat=True)) == set(range(1, PLAYERS // BATCH + 1))
    assert all(command == row for row, command in rows.values_list("command_id", "command__id"))
    assert "bulk_operation_run" in workers_log
    assert settings.CELERY_TASK_ACKS_LATE
