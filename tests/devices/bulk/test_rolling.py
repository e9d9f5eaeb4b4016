"""Bulk operations run in rolling batches: results, the stop threshold, timeouts, pause and resume, and
a fixed number of queries per batch."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from apps.devices.bulk.models import BulkOperation, BulkOperationDevice, BulkOperationState, TargetState
from apps.devices.bulk.services import (
    bulk_operation_create,
    bulk_operation_pause,
    bulk_operation_resume,
    bulk_operation_step,
    bulk_operation_stop,
    bulk_operations_due,
)
from apps.devices.models import CommandType, DeviceCommand

from .conftest import report_results, run_to_the_end

State = BulkOperationState


def create(fleet, **values):
    values = {"name": "Reboot the fleet", "operation_type": "REBOOT", "filter": {}, **values}
    return bulk_operation_create(fleet=fleet, **values)


def test_a_thousand_players_stop_after_the_batch_that_reaches_the_threshold(fleet, make_players):
    players = make_players(fleet, 1000)
    # Five players fail on purpose: three in the second batch, two in the third.
    failing = {players[index].pk for index in (150, 160, 170, 250, 260)}
    operation = create(fleet, batch_size=100, stop_threshold=5)

    operation = run_to_the_end(operation, failing)

    assert operation.state == State.STOPPED and operation.stop_reason == "stop_threshold"
    assert operation.batches == 3
    assert (operation.successful, operation.failed, operation.skipped, operation.pending) == (295, 5, 700, 0)
    assert operation.total == 1000 and operation.finished_at is not None
    # Exactly the first 300 players got a reboot, once each; the others nothing.
    commands = DeviceCommand.objects.filter(type=CommandType.REBOOT)
    assert commands.count() == 300
    assert set(commands.values_list("device_id", flat=True)) == {player.pk for player in players[:300]}
    failed = BulkOperationDevice.objects.filter(operation=operation, state=TargetState.FAILED)
    assert set(failed.values_list("device_id", flat=True)) == failing
    assert set(failed.values_list("reason", flat=True)) == {"failed"}
    skipped = BulkOperationDevice.objects.filter(operation=operation, state=TargetState.SKIPPED)
    assert set(skipped.values_list("device_id", flat=True)) == {player.pk for player in players[300:]}
    assert set(skipped.values_list("batch", flat=True)) == {None}


def test_below_the_threshold_every_batch_runs_and_the_operation_finishes(fleet, make_players):
    players = make_players(fleet, 250)
    failing = {players[10].pk, players[120].pk}
    operation = run_to_the_end(create(fleet, batch_size=100, stop_threshold=3), failing)
    assert operation.state == State.FINISHED and operation.batches == 3
    assert (operation.successful, operation.failed, operation.skipped, operation.pending) == (248, 2, 0, 0)


def test_the_next_batch_waits_for_every_result_of_the_previous_one_then_the_delay(fleet, make_players):
    players = make_players(fleet, 30)
    operation = create(fleet, batch_size=10, batch_delay=60)
    start = timezone.now()
    bulk_operation_step(operation_id=operation.pk, now=start)
    operation.refresh_from_db()
    assert operation.batches == 1 and operation.awaiting_result == 10
    # Nine answered: the batch is not done, no second batch.
    first = BulkOperationDevice.objects.filter(operation=operation, batch=1).select_related("device")
    report_results(operation)
    DeviceCommand.objects.filter(pk=first.last().command_id).update(succeeded_at=None)
    bulk_operation_step(operation_id=operation.pk, now=start + timedelta(seconds=1))
    operation.refresh_from_db()
    assert operation.batches == 1 and operation.awaiting_result == 1 and operation.successful == 9
    # The last one answers: the second batch waits batch_delay seconds from then.
    report_results(operation)
    bulk_operation_step(operation_id=operation.pk, now=start + timedelta(seconds=2))
    operation.refresh_from_db()
    assert operation.batches == 1 and operation.awaiting_result == 0
    assert operation.next_batch_at == start + timedelta(seconds=62)
    assert operation.pk not in bulk_operations_due(now=start + timedelta(seconds=61))
    assert operation.pk in bulk_operations_due(now=start + timedelta(seconds=62))
    bulk_operation_step(operation_id=operation.pk, now=start + timedelta(seconds=62))
    operation.refresh_from_db()
    assert operation.batches == 2 and operation.awaiting_result == 10
    assert len(players) == 30


def test_a_player_silent_past_the_result_timeout_counts_as_failed(fleet, make_players):
    make_players(fleet, 5)
    operation = create(fleet, result_timeout=300, stop_threshold=10)
    start = timezone.now()
    bulk_operation_step(operation_id=operation.pk, now=start)
    bulk_operation_step(operation_id=operation.pk, now=start + timedelta(seconds=299))
    operation.refresh_from_db()
    assert operation.awaiting_result == 5 and operation.failed == 0
    bulk_operation_step(operation_id=operation.pk, now=start + timedelta(seconds=301))
    operation.refresh_from_db()
    assert operation.state == State.FINISHED and operation.failed == 5
    assert set(operation.targets.values_list("reason", flat=True)) == {"timeout"}
    # A result that comes later does not change the count: the first outcome stays.
    report_results(operation)
    bulk_operation_step(operation_id=operation.pk, now=start + timedelta(seconds=302))
    operation.refresh_from_db()
    assert operation.failed == 5 and operation.successful == 0


def test_the_player_set_is_resolved_when_the_operation_starts(fleet, make_players, make_screen):
    make_players(fleet, 3, prefix="early", model="BrightSign XT")
    start_at = timezone.now() + timedelta(hours=1)
    operation = create(fleet, filter={"models": ["BrightSign XT"]}, start_at=start_at)
    # Scheduled: nothing resolved yet, not due before its time.
    bulk_operation_step(operation_id=operation.pk)
    operation.refresh_from_db()
    assert operation.state == State.SCHEDULED and operation.total == 0
    assert operation.pk not in bulk_operations_due()
    late = make_players(fleet, 2, prefix="late", model="BrightSign XT")
    bulk_operation_step(operation_id=operation.pk, now=start_at)
    operation.refresh_from_db()
    assert operation.state == State.RUNNING and operation.total == 5
    # A player that matches after the start is not added.
    make_players(fleet, 1, prefix="after", model="BrightSign XT")
    operation = run_to_the_end(operation)
    assert operation.total == 5 and operation.successful == 5
    assert operation.targets.filter(device__in=late).count() == 2


def test_a_player_that_left_the_fleet_before_its_turn_is_skipped(fleet, other_fleet, make_players):
    players = make_players(fleet, 4)
    operation = create(fleet, batch_size=2)
    bulk_operation_step(operation_id=operation.pk)  # snapshot and first batch
    type(players[3]).objects.filter(pk=players[3].pk).update(fleet=other_fleet)
    operation = run_to_the_end(operation)
    assert (operation.successful, operation.skipped) == (3, 1)
    assert operation.targets.get(device=players[3]).reason == "not_in_fleet"
    assert not DeviceCommand.objects.filter(device=players[3]).exists()


def test_pause_holds_batches_and_resume_goes_on_with_new_rolling_settings(fleet, make_players):
    make_players(fleet, 100)
    operation = create(fleet, batch_size=10, stop_threshold=2)
    bulk_operation_step(operation_id=operation.pk)
    report_results(operation)
    operation = bulk_operation_pause(operation=operation)
    assert operation.state == State.PAUSED and operation.paused_at is not None
    for _ in range(3):  # results still come in while paused, but no batch starts
        bulk_operation_step(operation_id=operation.pk)
    operation.refresh_from_db()
    assert operation.batches == 1 and operation.successful == 10
    operation = bulk_operation_resume(operation=operation, rolling_update={"batch_size": 45, "stop_threshold": 50})
    assert operation.state == State.RUNNING and operation.resumed_at is not None
    assert (operation.batch_size, operation.stop_threshold) == (45, 50)
    operation = run_to_the_end(operation)
    assert operation.batches == 3 and operation.successful == 100
    assert list(
        operation.targets.order_by("batch").values_list("batch").annotate(n=__import__("django").db.models.Count("id"))
    ) == [(1, 10), (2, 45), (3, 45)]


def test_stop_skips_the_players_not_sent_and_still_counts_those_sent(fleet, make_players):
    make_players(fleet, 50)
    operation = create(fleet, batch_size=20)
    bulk_operation_step(operation_id=operation.pk)
    operation = bulk_operation_stop(operation=BulkOperation.objects.get(pk=operation.pk))
    assert operation.state == State.STOPPED and operation.stop_reason == "stopped"
    assert (operation.skipped, operation.awaiting_result, operation.finished_at) == (30, 20, None)
    report_results(operation)
    bulk_operation_step(operation_id=operation.pk)
    operation.refresh_from_db()
    assert (operation.successful, operation.skipped, operation.pending) == (20, 30, 0)
    assert operation.finished_at is not None and operation.batches == 1


@pytest.mark.parametrize(
    ("operation_type", "data", "command", "payload"),
    [
        ("SET_VOLUME", {"volume": 35}, "set_volume", {"volume": 35}),
        ("SET_BRIGHTNESS", {"brightness": 80}, "set_brightness", {"brightness": 80}),
        ("SET_APPLICATION_VERSION", {"version": "3.2.1"}, "set_app_version", {"version": "3.2.1"}),
        ("SEND_COMMAND", {"type": "screenshot"}, "screenshot", {}),
        ("REBOOT", {}, "reboot", {}),
    ],
)
def test_each_command_operation_queues_its_command(fleet, make_players, operation_type, data, command, payload):
    make_players(fleet, 3)
    run_to_the_end(create(fleet, operation_type=operation_type, data=data))
    commands = DeviceCommand.objects.all()
    assert commands.count() == 3
    assert {(c.type, tuple(sorted(c.payload.items()))) for c in commands} == {(command, tuple(payload.items()))}


def _batch_queries(fleet, make_players, size):
    make_players(fleet, size * 2, prefix=f"q{size}")
    operation = create(fleet, batch_size=size)
    bulk_operation_step(operation_id=operation.pk)  # the snapshot and the first batch
    report_results(operation)
    with CaptureQueriesContext(connection) as collect:  # results in, next batch due after batch_delay
        bulk_operation_step(operation_id=operation.pk)
    with CaptureQueriesContext(connection) as send:
        bulk_operation_step(operation_id=operation.pk)
    operation.refresh_from_db()
    assert operation.batches == 2 and operation.awaiting_result == size
    return len(collect), len(send)


def test_a_batch_costs_the_same_queries_at_10_and_100_players(fleet, other_fleet, make_players):
    small = _batch_queries(fleet, make_players, 10)
    large = _batch_queries(other_fleet, make_players, 100)
    assert small == large
    if connection.vendor == "postgresql":
        # Collecting: lock, 3 UPDATEs of results, recount, save. Sending: lock, claim (with the players),
        # INSERT of the commands, UPDATE of the players, UPDATE of the rows, recount, save. Each step also
        # has the SAVEPOINT and RELEASE of its transaction inside the test's.
        assert small == (8, 9)
