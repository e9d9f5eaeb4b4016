"""`bulk_operations/`: creation, progress, actions, the players' list, tenancy and bad input."""

import json

import pytest

from apps.devices.bulk.models import BulkOperation, BulkOperationState
from apps.devices.bulk.services import bulk_operation_step
from apps.screens.models import ScreenGroup

from .conftest import HOST, report_results

URL = f"{HOST}/bulk_operations/"


def post(api, url, body):
    return api.post(url, data=json.dumps(body), content_type="application/json")


def reboot(**values):
    return {"name": "Reboot", "operation_type": "REBOOT", **values}


def test_create_then_follow_the_progress(api, fleet, make_players):
    players = make_players(fleet, 12)
    response = post(api, URL, reboot(filter={}, rolling_update={"batch_size": 5, "stop_threshold": 3}))
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["state"] == "scheduled" and body["is_running"] is False
    assert body["rolling_update"] == {"batch_size": 5, "batch_delay": 0, "stop_threshold": 3, "result_timeout": 900}
    assert body["schedule"] == {"start_at": None} and body["filter"] == {} and body["devices"] is None
    operation = BulkOperation.objects.get(pk=body["id"])
    bulk_operation_step(operation_id=operation.pk)
    report_results(operation, failing={players[0].pk})
    bulk_operation_step(operation_id=operation.pk)
    body = api.get(f"{URL}{operation.pk}/").json()
    assert body["state"] == "running" and body["is_running"] is True and body["batches"] == 1
    assert body["progress"] == {"total": 12, "successful": 4, "failed": 1, "skipped": 0, "pending": 7,
                                "awaiting_result": 0}  # fmt: skip
    failed = api.get(f"{URL}{operation.pk}/devices/?state=failed").json()
    assert failed["count"] == 1
    assert failed["results"][0]["id"] == players[0].pk and failed["results"][0]["reason"] == "failed"
    assert failed["results"][0]["device"] == f"{HOST}/devices/{players[0].pk}/"
    assert api.get(f"{URL}{operation.pk}/devices/").json()["count"] == 12
    assert api.get(f"{URL}{operation.pk}/devices/?state=exploded").status_code == 400


def test_a_list_of_players_and_a_start_time(api, fleet, make_players):
    players = make_players(fleet, 3)
    body = reboot(devices=[players[0].pk, f"{HOST}/devices/{players[2].pk}/"],
                  schedule={"start_at": "2030-01-01T08:00:00+01:00"})  # fmt: skip
    response = post(api, URL, body)
    assert response.status_code == 201, response.content
    assert response.json()["devices"] == [players[0].pk, players[2].pk]
    assert response.json()["schedule"] == {"start_at": "2030-01-01T07:00:00Z"}


def test_pause_resume_stop_archive(api, fleet, make_players):
    make_players(fleet, 4)
    operation_id = post(api, URL, reboot(filter={}, rolling_update={"batch_size": 2})).json()["id"]
    bulk_operation_step(operation_id=operation_id)
    detail = f"{URL}{operation_id}/"
    assert post(api, f"{detail}pause/", {}).json()["state"] == "paused"
    assert post(api, f"{detail}pause/", {}).status_code == 400
    response = post(api, f"{detail}resume/", {"rolling_update": {"batch_size": 3, "batch_delay": 5}})
    assert response.status_code == 200, response.content
    assert response.json()["rolling_update"]["batch_size"] == 3 and response.json()["resumed_at"]
    refused = post(api, f"{detail}archive/", {})
    assert refused.status_code == 400 and refused.json()["__all__"][0]["code"] == "state"
    stopped = post(api, f"{detail}stop/", {}).json()
    assert stopped["state"] == "stopped" and stopped["progress"]["skipped"] == 2
    assert post(api, f"{detail}resume/", {}).status_code == 400
    assert post(api, f"{detail}archive/", {}).json()["archived_at"]
    assert api.get(f"{URL}?archived=true").json()["count"] == 1
    assert api.get(f"{URL}?archived=false").json()["count"] == 0


def test_another_fleets_ids_in_the_filter_or_the_list_are_a_400(api, fleet, other_fleet, make_players, make_place):
    theirs = make_players(other_fleet, 1, prefix="theirs")[0]
    group = ScreenGroup.objects.create(fleet=other_fleet, name="Theirs")
    place = make_place("Lyon", exclusive_fleet=other_fleet)
    mine = make_players(fleet, 1, prefix="mine")[0]
    cases = [
        ("devices", reboot(devices=[mine.pk, theirs.pk])),
        ("filter", reboot(filter={"screen_groups": [group.pk]})),
        ("filter", reboot(filter={"places": [place.pk]})),
        ("fleet", reboot(filter={}, fleet=f"{HOST}/fleets/{other_fleet.pk}/")),
    ]
    for field, body in cases:
        response = post(api, URL, body)
        assert response.status_code == 400, (body, response.content)
        assert field in response.json(), response.json()
    assert BulkOperation.objects.count() == 0
    # A public place is every fleet's.
    assert post(api, URL, reboot(filter={"places": [make_place("Paris").pk]})).status_code == 201


def test_another_fleets_operation_is_a_404(api, other_fleet):
    theirs = BulkOperation.objects.create(fleet=other_fleet, name="Theirs", operation_type="REBOOT", filter={})
    detail = f"{URL}{theirs.pk}/"
    assert api.get(detail).status_code == 404
    assert api.get(f"{detail}devices/").status_code == 404
    for verb in ("pause", "resume", "stop", "archive"):
        assert post(api, f"{detail}{verb}/", {}).status_code == 404
    assert api.get(URL).json()["count"] == 0
    theirs.refresh_from_db()
    assert theirs.state == BulkOperationState.SCHEDULED


@pytest.mark.parametrize(
    "body",
    [
        {},
        reboot(),  # neither a filter nor players
        reboot(filter={}, devices=[1]),  # both
        reboot(filter=[]),
        reboot(filter={"colour": ["red"]}),
        reboot(filter={"models": "BrightSign"}),
        reboot(filter={"models": [7]}),
        reboot(filter={"places": ["x"]}),
        reboot(filter={"screen_groups": [2**70]}),
        reboot(filter={"screen_groups": [True]}),
        reboot(filter={"screen_groups": [{"id": 1}]}),
        reboot(devices=[]),
        reboot(devices=["abc"]),
        reboot(devices=[-1]),
        reboot(filter={}, data={"now": True}),
        reboot(filter={}, rolling_update={"batch_size": 0}),
        reboot(filter={}, rolling_update={"batch_size": 1001}),
        reboot(filter={}, rolling_update={"stop_threshold": 0}),
        reboot(filter={}, rolling_update={"batch_delay": -1}),
        reboot(filter={}, rolling_update={"result_timeout": 2**40}),
        reboot(filter={}, rolling_update="fast"),
        reboot(filter={}, schedule={"start_at": "tomorrow"}),
        reboot(filter={}, schedule={"start_at": "0001-01-01T00:00:00+14:00"}),
        reboot(filter={}, operation_type="DELETE_LOCATION"),
        reboot(filter={}, name=""),
        reboot(filter={}, operation_type="SET_VOLUME", data={"volume": 101}),
        reboot(filter={}, operation_type="SET_VOLUME", data={"volume": True}),
        reboot(filter={}, operation_type="SET_BRIGHTNESS", data={}),
        reboot(filter={}, operation_type="SET_APPLICATION_VERSION", data={"version": "../../etc"}),
        reboot(filter={}, operation_type="SEND_COMMAND", data={"type": "lock"}),
        reboot(filter={}, operation_type="SEND_COMMAND", data={"type": "set_volume", "payload": {"volume": "x"}}),
        reboot(filter={}, operation_type="SEND_COMMAND", data={"type": "play_ad", "payload": {"ad": "nope"}}),
        reboot(filter={}, operation_type="SEND_COMMAND", data=[1]),
    ],
)
def test_bad_input_is_a_400_and_nothing_is_stored(api, fleet, body):
    response = post(api, URL, body)
    assert response.status_code == 400, response.content
    payload = response.json()
    assert all(isinstance(entries, list | dict) for entries in payload.values()), payload
    assert BulkOperation.objects.count() == 0


def test_resume_refuses_bad_rolling_settings(api, fleet):
    operation = BulkOperation.objects.create(fleet=fleet, name="Paused", operation_type="REBOOT", filter={},
                                             state=BulkOperationState.PAUSED)  # fmt: skip
    for rolling in ({"batch_size": 0}, {"stop_threshold": -3}, {"batch_delay": "soon"}, "fast"):
        response = post(api, f"{URL}{operation.pk}/resume/", {"rolling_update": rolling})
        assert response.status_code == 400, (rolling, response.content)
    operation.refresh_from_db()
    assert operation.state == BulkOperationState.PAUSED and operation.batch_size == 100


def test_viewers_follow_operations_but_cannot_start_them(client_for, make_member, fleet):
    from apps.accounts.models import Role

    viewer = client_for(make_member(fleet, Role.VIEWER))
    assert post(viewer, URL, reboot(filter={})).status_code == 403
    assert viewer.get(URL).status_code == 200
