import pytest

from apps.devices.bulk.models import BulkOperation, BulkOperationDevice, TargetState
from apps.devices.bulk.services import bulk_operation_step
from apps.devices.models import Device, token_hash
from apps.devices.services import command_result

HOST = "http://testserver/api/management/v2"


@pytest.fixture
def make_players(make_screen):
    """`count` paired players of `fleet` on one screen (made in bulk: a fleet of a thousand)."""

    def make(fleet, count, prefix="bulk", screen=None, **values):
        screen = screen or make_screen(fleet, f"{prefix} hall")
        players = [
            Device(uuid=f"{prefix}-{index:05}", name=f"{prefix} {index}", fleet=fleet, screen=screen,
                   token_hash=token_hash(f"{prefix}-{index}"), online=True, **values)
            for index in range(count)
        ]  # fmt: skip
        Device.objects.bulk_create(players, batch_size=1000)
        return list(Device.objects.filter(uuid__startswith=f"{prefix}-").order_by("pk"))

    return make


def report_results(operation: BulkOperation, failing: set[int] = frozenset()) -> int:
    """The players of `operation` that have a command waiting report its result, as the device protocol
    does: `failed` for those in `failing`, `succeeded` for the others."""
    waiting = BulkOperationDevice.objects.filter(
        operation=operation, state=TargetState.SENT, command__succeeded_at__isnull=True, command__failed_at__isnull=True
    ).select_related("device")
    count = 0
    for row in waiting:
        status = "failed" if row.device_id in failing else "succeeded"
        command_result(device=row.device, command_id=row.command_id, status=status, result={"by": "test"})
        count += 1
    return count


def run_to_the_end(operation: BulkOperation, failing: set[int] = frozenset(), limit: int = 200) -> BulkOperation:
    """Step the operation as the task does, players answering between steps, until nothing is left."""
    for _ in range(limit):
        bulk_operation_step(operation_id=operation.pk)
        operation.refresh_from_db()
        if operation.finished_at is not None:
            return operation
        report_results(operation, failing)
    raise AssertionError(f"not finished after {limit} steps: {operation.state}, {operation.pending} pending")
