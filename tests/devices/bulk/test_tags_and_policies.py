"""Bulk operations on tags and policies (the models of apps/devices/policies), and the tag filter."""

import json

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from apps.devices.bulk.models import BulkOperation, TargetState
from apps.devices.bulk.services import bulk_operation_create, bulk_operation_step
from apps.devices.models import DevicePolicy, DeviceTag, Policy, Tag

from .conftest import HOST, run_to_the_end

URL = f"{HOST}/bulk_operations/"


def create(fleet, operation_type, data, **values):
    values = {"name": "Tags", "operation_type": operation_type, "data": data, "filter": {}, **values}
    return bulk_operation_create(fleet=fleet, **values)


def test_assign_a_tag_skips_players_that_have_it(fleet, make_players):
    players = make_players(fleet, 6)
    north = Tag.objects.create(fleet=fleet, name="North")
    DeviceTag.objects.create(device=players[0], tag=north)
    operation = run_to_the_end(create(fleet, "ASSIGN_TAG", {"tag": north.pk}, batch_size=4))
    assert (operation.successful, operation.skipped, operation.batches) == (5, 1, 2)
    assert operation.targets.get(device=players[0]).reason == "unchanged"
    assert DeviceTag.objects.filter(tag=north).count() == 6


def test_unassign_a_tag(fleet, make_players):
    players = make_players(fleet, 4)
    north = Tag.objects.create(fleet=fleet, name="North")
    DeviceTag.objects.bulk_create([DeviceTag(device=player, tag=north) for player in players[:3]])
    operation = run_to_the_end(create(fleet, "UNASSIGN_TAG", {"tag": north.pk}))
    assert (operation.successful, operation.skipped) == (3, 1)
    assert not DeviceTag.objects.exists()


def test_assign_and_unassign_a_policy_with_its_priority(fleet, make_players):
    players = make_players(fleet, 3)
    quiet = Policy.objects.create(fleet=fleet, name="Quiet", items=[])
    DevicePolicy.objects.create(device=players[0], policy=quiet, priority=5)
    DevicePolicy.objects.create(device=players[1], policy=quiet, priority=1)
    operation = run_to_the_end(create(fleet, "ASSIGN_POLICY", {"policy": quiet.pk, "priority": 5}))
    assert (operation.successful, operation.skipped) == (2, 1)
    assert set(DevicePolicy.objects.values_list("priority", flat=True)) == {5}
    operation = run_to_the_end(create(fleet, "UNASSIGN_POLICY", {"policy": quiet.pk}))
    assert operation.successful == 3 and not DevicePolicy.objects.exists()


def test_a_tag_deleted_after_the_creation_fails_its_players(fleet, make_players):
    make_players(fleet, 3)
    north = Tag.objects.create(fleet=fleet, name="North")
    operation = create(fleet, "ASSIGN_TAG", {"tag": north.pk}, stop_threshold=2)
    north.delete()
    operation = run_to_the_end(operation)
    assert operation.failed == 3 and set(operation.targets.values_list("reason", flat=True)) == {"deleted"}


def test_the_tag_filter_takes_players_with_all_the_tags_or_tags_below_them(fleet, make_players):
    players = make_players(fleet, 4)
    region = Tag.objects.create(fleet=fleet, name="Region")
    city = Tag.objects.create(fleet=fleet, name="City", parent=region)
    outdoor = Tag.objects.create(fleet=fleet, name="Outdoor")
    DeviceTag.objects.bulk_create([
        DeviceTag(device=players[0], tag=region), DeviceTag(device=players[0], tag=outdoor),
        DeviceTag(device=players[1], tag=city), DeviceTag(device=players[1], tag=outdoor),
        DeviceTag(device=players[2], tag=city),
    ])  # fmt: skip
    operation = create(fleet, "REBOOT", {}, filter={"tags": [region.pk, outdoor.pk]})
    bulk_operation_step(operation_id=operation.pk)
    assert set(operation.targets.values_list("device_id", flat=True)) == {players[0].pk, players[1].pk}


def _assign_queries(fleet, make_players, size):
    make_players(fleet, size * 2, prefix=f"t{size}")
    tag = Tag.objects.create(fleet=fleet, name=f"T{size}")
    operation = create(fleet, "ASSIGN_TAG", {"tag": tag.pk}, batch_size=size)
    bulk_operation_step(operation_id=operation.pk)  # snapshot and the first batch
    with CaptureQueriesContext(connection) as captured:
        bulk_operation_step(operation_id=operation.pk)
    operation.refresh_from_db()
    assert operation.successful == 2 * size and operation.targets.filter(state=TargetState.PENDING).count() == 0
    return len(captured)


def test_a_tag_batch_costs_the_same_queries_at_10_and_100_players(fleet, other_fleet, make_players):
    assert _assign_queries(fleet, make_players, 10) == _assign_queries(other_fleet, make_players, 100)


def post(api, body):
    return api.post(URL, data=json.dumps(body), content_type="application/json")


def test_another_fleets_tag_or_policy_is_a_400(api, fleet, other_fleet):
    their_tag = Tag.objects.create(fleet=other_fleet, name="Theirs")
    their_policy = Policy.objects.create(fleet=other_fleet, name="Theirs", items=[])
    cases = [
        ("filter", {"operation_type": "REBOOT", "filter": {"tags": [their_tag.pk]}}),
        ("data", {"operation_type": "ASSIGN_TAG", "data": {"tag": their_tag.pk}, "filter": {}}),
        ("data", {"operation_type": "UNASSIGN_TAG", "data": {"tag": their_tag.pk}, "filter": {}}),
        ("data", {"operation_type": "ASSIGN_POLICY", "data": {"policy": their_policy.pk}, "filter": {}}),
        ("data", {"operation_type": "UNASSIGN_POLICY", "data": {"policy": their_policy.pk}, "filter": {}}),
    ]
    for field, body in cases:
        response = post(api, {"name": "Theirs", **body})
        assert response.status_code == 400 and field in response.json(), (body, response.content)
    assert not BulkOperation.objects.exists()


@pytest.mark.parametrize(
    "data",
    [{}, {"tag": "north"}, {"tag": [1]}, {"tag": 2**70}, {"tag": None}, {"policy": 1}, {"tag": 1, "priority": 3}],
)
def test_bad_tag_data_is_a_400(api, fleet, data):
    Tag.objects.create(fleet=fleet, name="North")
    response = post(api, {"name": "Bad", "operation_type": "ASSIGN_TAG", "data": data, "filter": {}})
    assert response.status_code == 400 and "data" in response.json(), response.content


@pytest.mark.parametrize("priority", [10**7, -(10**7), "high", True, 1.5])
def test_a_policy_priority_out_of_range_is_a_400(api, fleet, priority):
    policy = Policy.objects.create(fleet=fleet, name="Quiet", items=[])
    body = {"name": "Bad", "operation_type": "ASSIGN_POLICY", "data": {"policy": policy.pk, "priority": priority},
            "filter": {}}  # fmt: skip
    response = post(api, body)
    assert response.status_code == 400 and "data" in response.json(), response.content
