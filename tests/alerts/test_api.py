"""The alert_rules/ and alerts/ endpoints: validation, actions, filters, roles and tenancy."""

from datetime import timedelta

import pytest
from django.utils import timezone

from apps.accounts.models import Role
from apps.alerts.models import Alert, AlertDevice, AlertRule

from .conftest import HOST

VALID = {
    "name": "Hot players",
    "description": "Too hot",
    "alert_type": "DEVICE",
    "filter": {"model": "BrightSign", "application_version": [">=", "3.12"]},
    "conditions": {"TEMPERATURE": [">", 70], "ALIVE_AT": ["<", 600000]},
    "threshold": {"type": "percentage", "percentage": 10},
    "periodicity": {
        "interval": 300,
        "active_time_windows": [{"weekdays": [1, 2, 3, 4, 5], "start": "22:00", "end": "06:00"}],
    },
    "action": {"emails": ["ops@example.com"], "roles": ["admin"], "webhook_url": "https://hooks.example.com/x"},
}


def test_create_a_rule_in_canonical_form(api, fleet):
    response = api.post(f"{HOST}/alert_rules/", VALID, format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["filter"]["application_version"] == [">=", "3.12.0"]
    assert body["periodicity"]["active_time_windows"][0]["timezone"] == "Europe/Paris"  # the fleet's
    assert body["archived"] is False and body["paused"] is False
    assert body["fleet"].endswith(f"/fleets/{fleet.pk}/")
    assert AlertRule.objects.filter(name="Hot players").count() == 1


def test_reference_sample_periodicity_is_the_interval(api, fleet):
    response = api.post(f"{HOST}/alert_rules/", {**VALID, "periodicity": 120}, format="json")
    assert response.status_code == 201
    assert response.json()["periodicity"] == {"interval": 120, "active_time_windows": []}


BAD_RULES = [
    ("conditions", {"conditions": {"CPU_LOAD": [">", 1]}}),
    ("conditions", {"conditions": {"VOLUME": ["~", 1]}}),
    ("conditions", {"conditions": {"VOLUME": [">", 101]}}),
    ("conditions", {"conditions": {"VOLUME": [">", "50"]}}),
    ("conditions", {"conditions": {"VOLUME": [">"]}}),
    ("conditions", {"conditions": {"ALIVE_AT": [">=", 1000]}}),
    ("conditions", {"conditions": {"ALIVE_AT": [">", 0]}}),
    ("conditions", {"conditions": {"APPLICATION_VERSION": [">", "three"]}}),
    ("conditions", {"conditions": {"APPLICATION_VERSION": ["~>", "1.0.0"]}}),
    ("conditions", {"conditions": {"FAILED_ACTIONS": [">", 3]}}),
    ("conditions", {"conditions": {"FAILED_ACTIONS": [">", -1, 1000]}}),
    ("conditions", {"conditions": {"REMOTE_CONTROL": "yes"}}),
    ("conditions", {"conditions": {}}),
    ("conditions", {"conditions": ["VOLUME"]}),
    ("filter", {"filter": {"application_version": ["<", "1.x"]}}),
    ("filter", {"filter": {"colour": "red"}}),
    ("filter", {"filter": {"screens": ["not-a-uuid"]}}),
    ("filter", {"filter": {"screen_groups": [99999]}}),
    ("threshold", {"threshold": {"type": "percentage", "percentage": 100}}),
    ("threshold", {"threshold": {"type": "absolute", "percentage": 5}}),
    ("threshold", {"threshold": {"type": "percentage", "percentage": -1}}),
    ("periodicity", {"periodicity": {"interval": 10}}),
    ("periodicity", {"periodicity": {"interval": 300, "active_time_windows": [{"start": "09:00", "end": "09:00"}]}}),
    ("periodicity", {"periodicity": {"interval": 300, "active_time_windows": [{"start": "9h", "end": "10:00"}]}}),
    (
        "periodicity",
        {"periodicity": {"interval": 300, "active_time_windows": [{"start": "09:00", "end": "10:00", "weekdays": []}]}},
    ),
    (
        "periodicity",
        {
            "periodicity": {
                "interval": 300,
                "active_time_windows": [{"start": "09:00", "end": "10:00", "timezone": "Mars/Olympus"}],
            }
        },
    ),
    ("action", {"action": {"emails": ["not an address"]}}),
    ("action", {"action": {"roles": ["boss"]}}),
    ("action", {"action": {"webhook_url": "ftp://example.com/"}}),
    ("alert_type", {"alert_type": "POLICY"}),
]


@pytest.mark.parametrize(("field", "change"), BAD_RULES)
def test_a_rule_that_cannot_be_evaluated_is_a_400_naming_the_field(api, fleet, field, change):
    before = AlertRule.objects.count()
    response = api.post(f"{HOST}/alert_rules/", {**VALID, **change}, format="json")
    assert response.status_code == 400, response.content
    errors = response.json()[field]
    assert errors[0]["message"] and errors[0]["code"]
    assert AlertRule.objects.count() == before


@pytest.mark.parametrize(("field", "change"), BAD_RULES[:8])
def test_a_bad_change_leaves_the_rule_as_it_was(api, fleet, field, change):
    rule = api.post(f"{HOST}/alert_rules/", VALID, format="json").json()
    response = api.patch(rule["url"], change, format="json")
    assert response.status_code == 400
    assert field in response.json()
    assert api.get(rule["url"]).json()["conditions"] == rule["conditions"]


def test_patch_is_validated_whole(api, fleet):
    rule = api.post(f"{HOST}/alert_rules/", VALID, format="json").json()
    response = api.patch(rule["url"], {"conditions": {"VOLUME": ["<", 5]}}, format="json")
    assert response.status_code == 200
    assert response.json()["conditions"] == {"VOLUME": ["<", 5]}
    assert response.json()["threshold"] == VALID["threshold"]


def test_archive_unarchive_pause_unpause(api, fleet):
    rule = api.post(f"{HOST}/alert_rules/", VALID, format="json").json()
    for verb, field, value in [("archive", "archived", True), ("unarchive", "archived", False),
                               ("pause", "paused", True), ("unpause", "paused", False)]:  # fmt: skip
        response = api.post(f"{rule['url']}{verb}/")
        assert response.status_code == 200, verb
        assert response.json()[field] is value
    api.post(f"{rule['url']}archive/")
    listed = api.get(f"{HOST}/alert_rules/", {"archived": "true"}).json()
    assert [item["id"] for item in listed["results"]] == [rule["id"]]
    assert api.get(f"{HOST}/alert_rules/", {"archived": "maybe"}).status_code == 400


def test_fleets_start_with_built_in_rules(api, fleet):
    names = {item["builtin"] for item in api.get(f"{HOST}/alert_rules/").json()["results"]}
    assert names == {"player_silent", "storage_low", "commands_failing", "share_of_voice_overflow"}


def test_only_fleet_admins_write_rules(client_for, make_member, fleet):
    editor = client_for(make_member(fleet, Role.EDITOR))
    assert editor.get(f"{HOST}/alert_rules/").status_code == 200
    assert editor.post(f"{HOST}/alert_rules/", {**VALID, "fleet": fleet.pk}, format="json").status_code == 403
    rule = AlertRule.objects.filter(fleet=fleet).first()
    assert editor.post(f"{HOST}/alert_rules/{rule.pk}/pause/").status_code == 403


def test_another_fleets_rules_and_alerts_are_404(api, other_fleet, make_screen, make_device, make_rule, evaluate):
    screen = make_screen(other_fleet, "Theirs")
    make_device(screen, temperature=90)
    rule = make_rule(other_fleet, {"TEMPERATURE": [">", 70]})
    alert = evaluate(rule)
    assert api.get(f"{HOST}/alert_rules/{rule.pk}/").status_code == 404
    assert api.patch(f"{HOST}/alert_rules/{rule.pk}/", {"name": "x"}, format="json").status_code == 404
    assert api.post(f"{HOST}/alert_rules/{rule.pk}/archive/").status_code == 404
    assert api.get(f"{HOST}/alerts/{alert.pk}/").status_code == 404
    assert api.post(f"{HOST}/alerts/{alert.pk}/archive/").status_code == 404
    assert alert.pk not in [item["id"] for item in api.get(f"{HOST}/alerts/").json()["results"]]
    assert api.get(f"{HOST}/alerts/", {"rule": rule.pk}).status_code == 400


def test_another_fleets_objects_in_a_rule_are_400(api, fleet, other_fleet, make_screen):
    theirs = make_screen(other_fleet, "Theirs")
    response = api.post(f"{HOST}/alert_rules/", {**VALID, "filter": {"screens": [str(theirs.pk)]}}, format="json")
    assert response.status_code == 400
    assert response.json()["filter"][0]["code"] == "does_not_exist"
    response = api.post(f"{HOST}/alert_rules/", {**VALID, "fleet": other_fleet.pk}, format="json")
    assert response.status_code == 400 and "fleet" in response.json()


@pytest.fixture
def open_alert(fleet, screen, make_device, make_rule, evaluate):
    devices = [make_device(screen, temperature=90) for _ in range(2)]
    rule = make_rule(fleet, {"TEMPERATURE": [">", 70]})
    alert = evaluate(rule)
    alert.test_devices = devices
    return alert


def test_alert_detail_lists_its_devices(api, open_alert):
    body = api.get(f"{HOST}/alerts/{open_alert.pk}/").json()
    assert {item["uuid"] for item in body["devices"]} == {device.uuid for device in open_alert.test_devices}
    assert body["rule"].endswith(f"/alert_rules/{open_alert.rule_id}/")
    assert body["resolved"] is False and body["archived"] is False


def test_alert_actions(api, open_alert):
    url = f"{HOST}/alerts/{open_alert.pk}/"
    assert api.post(f"{url}archive/").json()["archived"] is True
    assert api.get(f"{HOST}/alerts/", {"archived": "true"}).json()["count"] == 1
    assert api.post(f"{url}unarchive/").json()["archived"] is False
    until = (timezone.now() + timedelta(days=1)).isoformat()
    assert api.post(f"{url}snooze/", {"snooze_until": until}, format="json").json()["snoozed_until"]
    assert api.post(f"{url}unsnooze/").json()["snoozed_until"] is None
    device = open_alert.test_devices[0]
    body = api.post(f"{url}snooze/", {"snooze_until": until, "device": device.pk}, format="json").json()
    assert [item["snoozed_until"] is not None for item in body["devices"] if item["id"] == device.pk] == [True]
    assert body["snoozed_until"] is None  # only the device
    body = api.post(f"{url}unsnooze/", {"device": f"{HOST}/devices/{device.pk}/"}, format="json").json()
    assert all(item["snoozed_until"] is None for item in body["devices"])
    assert api.patch(url, {"description": "Looking into it"}, format="json").json()["description"] == "Looking into it"


def test_snooze_in_the_past_or_of_a_foreign_device_is_refused(api, open_alert, other_fleet, make_screen, make_device):
    url = f"{HOST}/alerts/{open_alert.pk}/"
    past = (timezone.now() - timedelta(minutes=1)).isoformat()
    response = api.post(f"{url}snooze/", {"snooze_until": past}, format="json")
    assert response.status_code == 400 and "snooze_until" in response.json()
    assert api.post(f"{url}snooze/", {"snooze_until": "tomorrow"}, format="json").status_code == 400
    theirs = make_device(make_screen(other_fleet, "Theirs"))
    future = (timezone.now() + timedelta(hours=1)).isoformat()
    response = api.post(f"{url}snooze/", {"snooze_until": future, "device": theirs.pk}, format="json")
    assert response.status_code == 400 and "device" in response.json()
    assert Alert.objects.get(pk=open_alert.pk).snoozed_until is None


def test_assign_and_unassign_by_hand(
    api, open_alert, screen, make_device, make_rule, evaluate, other_fleet, make_screen
):
    url = f"{HOST}/alerts/{open_alert.pk}/"
    extra = make_device(screen, temperature=20)
    body = api.post(f"{url}assign/", {"devices": [extra.pk]}, format="json").json()
    assert extra.pk in [item["id"] for item in body["devices"] if item["assigned_by_hand"]]
    evaluate(open_alert.rule)  # evaluation leaves a device assigned by hand
    assert AlertDevice.objects.filter(alert=open_alert, device=extra).exists()
    theirs = make_device(make_screen(other_fleet, "Theirs"))
    response = api.post(f"{url}assign/", {"devices": [theirs.pk]}, format="json")
    assert response.status_code == 400 and "devices" in response.json()
    body = api.post(f"{url}unassign/", {"devices": [f"{HOST}/devices/{extra.pk}/"]}, format="json").json()
    assert extra.pk not in [item["id"] for item in body["devices"]]
    assert api.post(f"{url}assign/", {"devices": []}, format="json").status_code == 400


def test_alert_filters(api, open_alert, screen, make_device):
    device = open_alert.test_devices[0]
    assert api.get(f"{HOST}/alerts/", {"device": device.pk}).json()["count"] == 1
    assert api.get(f"{HOST}/alerts/", {"device": make_device(screen).pk}).json()["count"] == 0
    assert api.get(f"{HOST}/alerts/", {"resolved": "false"}).json()["count"] == 1
    assert api.get(f"{HOST}/alerts/", {"resolved": "true"}).json()["count"] == 0
    assert api.get(f"{HOST}/alerts/", {"rule": open_alert.rule_id}).json()["count"] == 1


def test_viewers_read_alerts_but_do_not_act(client_for, make_member, fleet, open_alert):
    viewer = client_for(make_member(fleet, Role.VIEWER))
    assert viewer.get(f"{HOST}/alerts/{open_alert.pk}/").status_code == 200
    assert viewer.post(f"{HOST}/alerts/{open_alert.pk}/archive/").status_code == 403
    technician = client_for(make_member(fleet, Role.TECHNICIAN))
    assert technician.post(f"{HOST}/alerts/{open_alert.pk}/archive/").status_code == 200


def test_alert_list_queries_do_not_grow_with_alerts(api, fleet, screen, make_devices, make_rule, evaluate,
                                                   django_assert_max_num_queries):  # fmt: skip
    make_devices(screen, 5, temperature=90)

    def count():
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        with CaptureQueriesContext(connection) as captured:
            assert api.get(f"{HOST}/alerts/").status_code == 200
        return len(captured)

    evaluate(make_rule(fleet, {"TEMPERATURE": [">", 70]}, name="one"))
    few = count()
    for index in range(6):
        evaluate(make_rule(fleet, {"TEMPERATURE": [">", 60 + index]}, name=f"r{index}"))
    assert count() == few
