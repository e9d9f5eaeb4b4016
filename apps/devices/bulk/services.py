"""Bulk operations: create, run in rolling batches, pause, resume, stop, archive.

How an operation runs (`bulk_operation_step`, called by the Celery task `bulk_operation_run`):

- **Snapshot.** When it starts (at once, or at `start_at`), the players its filter or list selects are
  resolved once into one row each (`BulkOperationDevice`, unique per operation and player). Players
  that match later are not added; a player that left the fleet before its turn is skipped.
- **Batches.** Each step locks the operation's row (a second worker skips it: `SKIP LOCKED`), claims up
  to `batch_size` pending rows (`FOR UPDATE SKIP LOCKED`) and applies the operation to their players in
  the same transaction that marks the rows. A worker killed mid-batch loses the whole transaction:
  nothing was applied and the rows are still pending, so the next step (any worker) does the batch
  again, and a player never gets the operation twice.
- **Results.** Tag and policy operations are done when their transaction commits (`succeeded`, or
  `skipped` when they change nothing). Command operations (send a command, reboot, volume, brightness,
  application version) count the command's own result as the player reports it: `succeeded` /
  `failed`; no result within `result_timeout` seconds counts as failed (`timeout`).
- **Rolling.** The next batch starts `batch_delay` seconds after every player of the previous one has
  its result. Once `stop_threshold` players failed, the operation stops: no further batch starts,
  results of players already sent are still counted, and players never sent are `skipped`.

Every step costs a fixed number of queries, whatever the batch size (pinned in tests).
"""

import uuid
from datetime import datetime, timedelta

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Count, Q
from django.utils import timezone

from apps.accounts.models import Fleet
from apps.places.models import Place
from apps.screens.models import ScreenGroup
from signage.arguments import UNCHANGED, Unchanged, given
from signage.errors import field_error

from ..models import CommandType, Device, on_screens_of
from ..policies.models import PRIORITY_MAX, PRIORITY_MIN, DevicePolicy, DeviceTag, Policy, Tag
from ..policies.services import policy_assign, policy_unassign, tag_assign, tag_unassign, with_all_tags
from ..services import clean_command, commands_queue
from .models import (
    LIVE_STATES,
    MAX_BATCH_DELAY,
    MAX_BATCH_SIZE,
    MAX_STOP_THRESHOLD,
    BulkOperation,
    BulkOperationDevice,
    BulkOperationState,
    BulkOperationType,
    TargetState,
)

FILTER_KEYS = ("tags", "places", "screen_groups", "models", "application_versions")
MAX_IDS = 10_000
Type = BulkOperationType
State = BulkOperationState

# Operations that queue a device command, and which one.
COMMAND_OF = {
    Type.REBOOT: CommandType.REBOOT,
    Type.SET_VOLUME: CommandType.SET_VOLUME,
    Type.SET_BRIGHTNESS: CommandType.SET_BRIGHTNESS,
    Type.SET_APPLICATION_VERSION: CommandType.SET_APP_VERSION,
}
NOT_IN_BULK = (CommandType.LOCK, CommandType.UNLOCK)  # they go with the device's PIN, one by one


# --- validation ------------------------------------------------------------------------------------------


def _pk_of(item, model) -> object:
    """An id or a hyperlink to an object of `model` as its primary key; a ValueError when it is neither."""
    if isinstance(item, bool) or not isinstance(item, str | int):
        raise ValueError(item)
    text = str(item).rstrip("/").rsplit("/", 1)[-1]
    if model._meta.pk.get_internal_type() == "UUIDField":
        return uuid.UUID(text)
    number = int(text)
    if not 0 < number < 2**63:
        raise ValueError(text)
    return number


def fleet_ids_clean(field: str, value, model, queryset) -> list:
    """A list of ids (or hyperlinks) of objects in `queryset` (the fleet's), canonical and sorted. An id of
    another fleet is unknown here, exactly like an id that exists nowhere."""
    if not isinstance(value, list) or not value or len(value) > MAX_IDS:
        raise field_error(field, f"Expected a non-empty list of ids (at most {MAX_IDS}).")
    try:
        ids = {_pk_of(item, model) for item in value}
    except (ValueError, TypeError, AttributeError):
        raise field_error(field, "Expected a list of ids or URLs.", "does_not_exist") from None
    found = sorted(queryset.filter(pk__in=ids).values_list("pk", flat=True), key=str)
    if len(found) != len(ids):
        raise field_error(field, "Some ids are not objects of this fleet.", "does_not_exist")
    return [pk if isinstance(pk, int) else str(pk) for pk in found]


def _texts(field: str, key: str, value) -> list[str]:
    if not isinstance(value, list) or not value or len(value) > 100:
        raise field_error(field, f"{key}: expected a non-empty list of at most 100 texts.")
    if not all(isinstance(item, str) and 0 < len(item) <= 200 for item in value):
        raise field_error(field, f"{key}: each item is a text of 1 to 200 characters.")
    return sorted(set(value))


def filter_clean(value, *, fleet: Fleet) -> dict:
    """The player filter in canonical form: `tags` (players with all of them), `places`, `screen_groups`
    (their screen in any of them), `models`, `application_versions` (any of them, exact)."""
    if not isinstance(value, dict):
        raise field_error("filter", "Expected an object.")
    unknown = [key for key in value if key not in FILTER_KEYS]
    if unknown:
        raise field_error("filter", f"Unknown filter '{unknown[0]}'. Valid: {', '.join(FILTER_KEYS)}.")
    cleaned: dict = {}
    public_or_own = Place.objects.of_fleet(fleet.pk)
    related = {
        "places": (Place, public_or_own),
        "screen_groups": (ScreenGroup, ScreenGroup.objects.of_fleet(fleet.pk)),
        "tags": (Tag, Tag.objects.of_fleet(fleet.pk)),
    }
    for key, item in value.items():
        if key in related:
            model, queryset = related[key]
            try:
                cleaned[key] = fleet_ids_clean("filter", item, model, queryset)
            except ValidationError as error:
                raise field_error("filter", f"{key}: {error.messages[0]}", "does_not_exist") from None
        else:
            cleaned[key] = _texts("filter", key, item)
    return cleaned


def filtered_devices(operation: BulkOperation):
    """The players of the operation's fleet that its filter or list selects now."""
    devices = Device.objects.of_fleet(operation.fleet_id)
    if operation.device_ids is not None:
        return devices.filter(pk__in=operation.device_ids)
    chosen = operation.filter or {}
    if "models" in chosen:
        devices = devices.filter(model__in=chosen["models"])
    if "application_versions" in chosen:
        devices = devices.filter(app_version__in=chosen["application_versions"])
    devices = on_screens_of(devices, places=chosen.get("places"), screen_groups=chosen.get("screen_groups"))
    if "tags" in chosen:  # all of them, a tag or any tag below it, as the device list filters them
        tags = list(Tag.objects.of_fleet(operation.fleet_id).filter(pk__in=chosen["tags"]))
        devices = with_all_tags(devices, tags)
    return devices


def _whole_number(data: dict, key: str, low: int, high: int) -> int:
    value = data.get(key)
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise field_error("data", f"'{key}' must be a whole number from {low} to {high}.")
    return value


def _only(data: dict, *keys: str) -> None:
    extra = sorted(set(data) - set(keys))
    if extra:
        raise field_error("data", f"Unexpected '{extra[0]}'. This operation takes: {', '.join(keys) or 'nothing'}.")


def data_clean(*, fleet: Fleet, operation_type: str, data) -> dict:
    """The operation's parameters in canonical form, checked once at creation."""
    if operation_type not in Type.values:
        raise field_error("operation_type", f"Valid: {', '.join(Type.values)}.")
    data = {} if data is None else data
    if not isinstance(data, dict):
        raise field_error("data", "Expected an object.")
    probe = Device(fleet=fleet)  # commands are checked as for any player of the fleet
    if operation_type == Type.SEND_COMMAND:
        _only(data, "type", "payload")
        kind = data.get("type")
        if kind not in CommandType.values or kind in NOT_IN_BULK:
            valid = [c for c in CommandType.values if c not in NOT_IN_BULK]
            raise field_error("data", f"'type' must be one of {', '.join(valid)}.")
        try:
            payload = clean_command(probe, kind, data.get("payload"))
        except ValidationError as error:
            raise field_error("data", f"payload: {'; '.join(error.messages)}") from None
        return {"type": kind, "payload": payload}
    if operation_type == Type.REBOOT:
        _only(data)
        return {}
    if operation_type in (Type.SET_VOLUME, Type.SET_BRIGHTNESS):
        key = "volume" if operation_type == Type.SET_VOLUME else "brightness"
        _only(data, key)
        return {key: _whole_number(data, key, 0, 100)}
    if operation_type == Type.SET_APPLICATION_VERSION:
        _only(data, "version")
        try:
            return clean_command(probe, CommandType.SET_APP_VERSION, data)
        except ValidationError:
            raise field_error("data", "'version' must be a version such as 2.4.1.") from None
    key, model = ("tag", Tag) if "TAG" in operation_type else ("policy", Policy)
    keys = (key, "priority") if operation_type == Type.ASSIGN_POLICY else (key,)
    _only(data, *keys)
    if key not in data:
        raise field_error("data", f"'{key}' is required.", "required")
    try:
        (pk,) = fleet_ids_clean("data", [data[key]], model, model.objects.of_fleet(fleet.pk))
    except ValidationError:
        raise field_error("data", f"'{key}' must be a {key} of this fleet.", "does_not_exist") from None
    cleaned = {key: pk}
    if operation_type == Type.ASSIGN_POLICY:
        priority = {"priority": data.get("priority", 0)}
        cleaned["priority"] = _whole_number(priority, "priority", PRIORITY_MIN, PRIORITY_MAX)
    return cleaned


def _rolling_clean(values: dict) -> dict:
    """Rolling settings (`batch_size`, `batch_delay`, `stop_threshold`, `result_timeout`) present in `values`."""
    bounds = {"batch_size": (1, MAX_BATCH_SIZE), "batch_delay": (0, MAX_BATCH_DELAY),
              "stop_threshold": (1, MAX_STOP_THRESHOLD), "result_timeout": (10, MAX_BATCH_DELAY)}  # fmt: skip
    cleaned = {}
    for key, (low, high) in bounds.items():
        if key not in values:
            continue
        value = values[key]
        if value is None and key == "stop_threshold":
            cleaned[key] = None
            continue
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise field_error(key, f"Expected a whole number from {low} to {high}.")
        cleaned[key] = value
    return cleaned


# --- lifecycle -----------------------------------------------------------------------------------------------


def _enqueue(operation_id: int) -> None:
    from ..tasks import bulk_operation_run  # tasks import this module

    transaction.on_commit(lambda: bulk_operation_run.delay(operation_id))


@transaction.atomic
def bulk_operation_create(
    *,
    fleet: Fleet,
    name: str,
    operation_type: str,
    data: dict | None = None,
    filter: dict | None = None,
    devices: list | None = None,
    start_at: datetime | None = None,
    batch_size: int | Unchanged = UNCHANGED,
    batch_delay: int | Unchanged = UNCHANGED,
    stop_threshold: int | Unchanged | None = UNCHANGED,
    result_timeout: int | Unchanged = UNCHANGED,
    author=None,
) -> BulkOperation:
    """Create an operation of `operation_type` (BulkOperationType) with its `data`, over the players `filter`
    selects or the `devices` listed (ids or URLs, of `fleet`, else a 400); it starts at `start_at`, or at once.
    Rolling settings left out take the model's defaults (`stop_threshold` None: never stop)."""
    has_filter, has_devices = filter is not None, devices is not None
    if has_filter == has_devices:
        raise field_error("__all__", "Give either a filter or a list of devices.", "required")
    rolling = given(
        batch_size=batch_size, batch_delay=batch_delay, stop_threshold=stop_threshold, result_timeout=result_timeout
    )
    operation = BulkOperation(
        fleet=fleet,
        name=name or "",
        operation_type=operation_type,
        data=data_clean(fleet=fleet, operation_type=operation_type, data=data),
        start_at=start_at,
        author=author,
        **_rolling_clean(rolling),
    )
    if not operation.name.strip():
        raise field_error("name", "This field is required.", "required")
    if has_filter:
        operation.filter = filter_clean(filter, fleet=fleet)
    else:
        operation.device_ids = fleet_ids_clean("devices", devices, Device, Device.objects.of_fleet(fleet.pk))
    operation.save()
    _enqueue(operation.pk)
    return operation


def _locked(operation: BulkOperation) -> BulkOperation:
    return BulkOperation.objects.of_fleet(operation.fleet_id).select_for_update().get(pk=operation.pk)


def _refuse(operation: BulkOperation, action: str) -> ValidationError:
    return field_error("__all__", f"A {operation.get_state_display().lower()} operation cannot be {action}.", "state")


@transaction.atomic
def bulk_operation_pause(*, operation: BulkOperation) -> BulkOperation:
    """No further batch starts; players already sent still report their results."""
    operation = _locked(operation)
    if operation.state not in (State.SCHEDULED, State.RUNNING):
        raise _refuse(operation, "paused")
    operation.state, operation.paused_at = State.PAUSED, timezone.now()
    operation.save(update_fields=["state", "paused_at"])
    return operation


@transaction.atomic
def bulk_operation_resume(*, operation: BulkOperation, rolling_update: dict | None = None) -> BulkOperation:
    """Go on from where it paused, optionally with new rolling settings."""
    operation = _locked(operation)
    if operation.state != State.PAUSED:
        raise _refuse(operation, "resumed")
    for key, value in _rolling_clean(rolling_update or {}).items():
        setattr(operation, key, value)
    now = timezone.now()
    operation.state = State.RUNNING if operation.started_at else State.SCHEDULED
    operation.resumed_at = now
    if not operation.awaiting_result:  # a resume is a "go": the next batch starts at once
        operation.next_batch_at = now
    operation.save()
    _enqueue(operation.pk)
    return operation


@transaction.atomic
def bulk_operation_stop(*, operation: BulkOperation, reason: str = "stopped") -> BulkOperation:
    """Stop for good: players never sent are skipped; the results of those already sent still count."""
    operation = _locked(operation)
    if operation.state not in LIVE_STATES:
        raise _refuse(operation, "stopped")
    _stop(operation, timezone.now(), reason)
    _recount(operation, timezone.now())
    operation.save()
    return operation


def _stop(operation: BulkOperation, now: datetime, reason: str) -> None:
    operation.targets.filter(state=TargetState.PENDING).update(
        state=TargetState.SKIPPED, reason=reason, finished_at=now
    )
    operation.state, operation.stopped_at, operation.stop_reason = State.STOPPED, now, reason


@transaction.atomic
def bulk_operation_archive(*, operation: BulkOperation) -> BulkOperation:
    """Archive a finished or stopped operation (a live one must be stopped first)."""
    operation = _locked(operation)
    if operation.state in LIVE_STATES or operation.archived_at is not None:
        raise _refuse(operation, "archived" if operation.archived_at is None else "archived again")
    operation.archived_at = timezone.now()
    operation.save(update_fields=["archived_at"])
    return operation


# --- running -------------------------------------------------------------------------------------------------


def bulk_operations_due(*, now: datetime | None = None) -> list[int]:
    """Live operations with something to do now: a start, a batch, or results to collect."""
    now = now or timezone.now()
    due = (
        Q(state=State.SCHEDULED, start_at__isnull=True)
        | Q(state=State.SCHEDULED, start_at__lte=now)
        | Q(state=State.RUNNING, next_batch_at__lte=now)
        | Q(state__in=[State.RUNNING, State.PAUSED, State.STOPPED], awaiting_result__gt=0)
    )
    return list(BulkOperation.objects.filter(due).order_by("pk").values_list("pk", flat=True))


def bulk_operation_step(*, operation_id: int, now: datetime | None = None) -> bool:
    """One step of an operation, in one transaction: start it (snapshot), collect results, stop it at its
    threshold, or send its next batch. Returns True when a further step is due at once. An operation
    another worker is stepping is left alone."""
    now = now or timezone.now()
    with transaction.atomic():
        # A step is keyed by the operation it is given: in a task, or eagerly in the request that started it.
        operation = (
            BulkOperation.objects.unscoped("a step runs for the operation id it is given")
            .select_for_update(skip_locked=True)
            .filter(pk=operation_id)
            .first()
        )
        if operation is None:
            return False
        if operation.state == State.SCHEDULED:
            if operation.start_at is not None and operation.start_at > now:
                return False
            _snapshot(operation, now)
        if operation.awaiting_result:
            _collect_results(operation, now)
            _recount(operation, now)
        if operation.state == State.RUNNING:
            if operation.stop_threshold is not None and operation.failed >= operation.stop_threshold:
                _stop(operation, now, "stop_threshold")
                _recount(operation, now)
            elif not operation.awaiting_result and operation.pending and _batch_due(operation, now):
                _send_batch(operation, now)
                _recount(operation, now)
        if operation.state == State.RUNNING and not operation.pending:
            operation.state = State.FINISHED
        if operation.state in (State.FINISHED, State.STOPPED) and not operation.pending:
            operation.finished_at = operation.finished_at or now
        if operation.state == State.RUNNING and not operation.awaiting_result and operation.next_batch_at is None:
            operation.next_batch_at = now + timedelta(seconds=operation.batch_delay)
        operation.save()
    return operation.state == State.RUNNING and operation.next_batch_at is not None and operation.next_batch_at <= now


def _batch_due(operation: BulkOperation, now: datetime) -> bool:
    return operation.next_batch_at is not None and operation.next_batch_at <= now


def _snapshot(operation: BulkOperation, now: datetime) -> None:
    """The players of the operation, resolved once: one row each, in id order (the order of batches)."""
    ids = filtered_devices(operation).order_by("pk").values_list("pk", flat=True)
    BulkOperationDevice.objects.bulk_create(
        [BulkOperationDevice(operation=operation, device_id=pk) for pk in ids], ignore_conflicts=True
    )
    operation.state, operation.started_at, operation.next_batch_at = State.RUNNING, now, now
    _recount(operation, now)


def _recount(operation: BulkOperation, now: datetime) -> None:
    counts = dict(operation.targets.order_by().values_list("state").annotate(n=Count("id")))
    operation.successful = counts.get(TargetState.SUCCEEDED, 0)
    operation.failed = counts.get(TargetState.FAILED, 0)
    operation.skipped = counts.get(TargetState.SKIPPED, 0)
    operation.awaiting_result = counts.get(TargetState.SENT, 0)
    operation.pending = counts.get(TargetState.PENDING, 0) + operation.awaiting_result
    operation.total = sum(counts.values())


def _collect_results(operation: BulkOperation, now: datetime) -> None:
    """The results players reported for their commands, and the commands past `result_timeout`: three
    UPDATEs whatever the number of players. When the last one is in, the next batch is due after
    `batch_delay`."""
    sent = operation.targets.filter(state=TargetState.SENT)
    sent.filter(command__succeeded_at__isnull=False).update(state=TargetState.SUCCEEDED, finished_at=now)
    sent.filter(command__failed_at__isnull=False).update(state=TargetState.FAILED, reason="failed", finished_at=now)
    late = Q(sent_at__lt=now - timedelta(seconds=operation.result_timeout)) | Q(command__isnull=True)
    sent.filter(late).update(state=TargetState.FAILED, reason="timeout", finished_at=now)
    operation.next_batch_at = None  # set after the recount, once nothing is awaited


def _send_batch(operation: BulkOperation, now: datetime) -> None:
    """Claim the next `batch_size` pending players and apply the operation to them, in this transaction."""
    rows = list(
        operation.targets.select_for_update(skip_locked=True, of=("self",))
        .filter(state=TargetState.PENDING)
        .select_related("device")
        .order_by("pk")[: operation.batch_size]
    )
    if not rows:
        return
    operation.batches += 1
    operation.next_batch_at = None
    for row in rows:
        row.batch, row.sent_at = operation.batches, now
    present = [row for row in rows if row.device.fleet_id == operation.fleet_id]
    for row in rows:
        if row.device.fleet_id != operation.fleet_id:
            row.state, row.reason, row.finished_at = TargetState.SKIPPED, "not_in_fleet", now
    if present:
        APPLY[operation.operation_type](operation, present, now)
    BulkOperationDevice.objects.bulk_update(rows, ["state", "batch", "command", "reason", "sent_at", "finished_at"])


def _apply_command(operation: BulkOperation, rows: list[BulkOperationDevice], now: datetime) -> None:
    if operation.operation_type == Type.SEND_COMMAND:
        kind, payload = operation.data["type"], operation.data["payload"]
    else:
        kind, payload = COMMAND_OF[operation.operation_type], operation.data
    commands = commands_queue(devices=[row.device for row in rows], kind=kind, payload=payload, author=operation.author)
    for row, command in zip(rows, commands, strict=True):
        row.state, row.command = TargetState.SENT, command


def _apply_assignment(operation: BulkOperation, rows: list[BulkOperationDevice], now: datetime) -> None:
    """Assign or unassign a tag or a policy: done when the batch commits. A player it changes nothing for
    (already tagged, no such assignment, the same priority) is skipped (`unchanged`); every player fails
    (`deleted`) when the tag or policy was deleted since the operation was created."""
    kind = operation.operation_type
    devices = {row.device_id: row.device for row in rows}
    if kind in (Type.ASSIGN_TAG, Type.UNASSIGN_TAG):
        target = Tag.objects.of_fleet(operation.fleet_id).filter(pk=operation.data["tag"]).first()
        links = DeviceTag.objects.of_fleet(operation.fleet_id).filter(tag=target, device__in=list(devices))
        had = dict.fromkeys(links.values_list("device_id", flat=True))
    else:
        target = Policy.objects.of_fleet(operation.fleet_id).filter(pk=operation.data["policy"]).first()
        links = DevicePolicy.objects.of_fleet(operation.fleet_id).filter(policy=target, device__in=list(devices))
        had = dict(links.values_list("device_id", "priority"))
    if target is None:
        for row in rows:
            row.state, row.reason, row.finished_at = TargetState.FAILED, "deleted", now
        return
    if kind == Type.ASSIGN_TAG:
        changed = set(devices) - set(had)
        tag_assign(tag=target, devices=[devices[pk] for pk in changed])
    elif kind == Type.ASSIGN_POLICY:
        priority = operation.data["priority"]
        changed = {pk for pk in devices if pk not in had or had[pk] != priority}
        if changed:
            policy_assign(policy=target, devices=[devices[pk] for pk in changed], priority=priority)
    else:
        changed = set(had)
        unassign = tag_unassign if kind == Type.UNASSIGN_TAG else policy_unassign
        if changed:
            unassign(**{f"{'tag' if kind == Type.UNASSIGN_TAG else 'policy'}_ids": [target.pk]},
                     devices=[devices[pk] for pk in changed])  # fmt: skip
    for row in rows:
        if row.device_id in changed:
            row.state = TargetState.SUCCEEDED
        else:
            row.state, row.reason = TargetState.SKIPPED, "unchanged"
        row.finished_at = now


APPLY = {
    Type.SEND_COMMAND: _apply_command,
    Type.REBOOT: _apply_command,
    Type.SET_VOLUME: _apply_command,
    Type.SET_BRIGHTNESS: _apply_command,
    Type.SET_APPLICATION_VERSION: _apply_command,
    Type.ASSIGN_TAG: _apply_assignment,
    Type.UNASSIGN_TAG: _apply_assignment,
    Type.ASSIGN_POLICY: _apply_assignment,
    Type.UNASSIGN_POLICY: _apply_assignment,
}
