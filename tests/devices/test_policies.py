"""Policies (reference 004 "Policy", "Device/Policy"): items validated per type, merged by priority,
assigned to players of the policy's fleet only, cloned, archived (inactive)."""

import pytest

from apps.accounts.models import Role
from apps.devices.models import DevicePolicy, Policy
from apps.devices.policies import services
from apps.devices.policies.items import policies_merge, policy_items_clean

HOST = "http://testserver/api/management/v2"

GOOD_ITEMS = [
    {"type": "VOLUME", "value": 40},
    {"type": "BRIGHTNESS", "value": 80},
    {"type": "TIMERS", "value": [{"type": "TIMER_1", "time_on": "08:00", "time_off": "20:00:00",
                                  "weekdays": ["tue", "mon"], "level": "NATIVE"}]},
    {"type": "POWER_ACTIONS_SCHEDULE",
     "value": [{"power_action": "SYSTEM_REBOOT", "weekdays": ["SUNDAY"], "time": "03:30"}]},
    {"type": "ORIENTATION", "value": "PORTRAIT"},
    {"type": "RESOLUTION", "value": {"width": 1920, "height": 1080}},
    {"type": "APPLICATION_VERSION", "value": "2.4.0"},
    {"type": "REMOTE_CONTROL", "value": False},
    {"type": "DATETIME", "value": {"timezone": "America/New_York", "ntp_server": "pool.ntp.org"}},
    {"type": "TEMPERATURE", "value": {"max": 70}},
]  # fmt: skip


def test_every_item_type_is_validated_and_normalised():
    cleaned = {item["type"]: item["value"] for item in policy_items_clean(GOOD_ITEMS)}
    assert cleaned["TIMERS"] == [{"type": "TIMER_1", "weekdays": ["mon", "tue"], "time_on": "08:00:00",
                                  "time_off": "20:00:00", "level": "NATIVE"}]  # fmt: skip
    assert cleaned["POWER_ACTIONS_SCHEDULE"][0]["time"] == "03:30:00"
    assert len(cleaned) == 10


@pytest.mark.parametrize(
    "items",
    [
        {"type": "VOLUME"},
        [{"type": "VOLUME", "value": 101}],
        [{"type": "VOLUME", "value": True}],
        [{"type": "VOLUME", "value": 5}, {"type": "VOLUME", "value": 6}],
        [{"type": "NOPE", "value": 1}],
        [{"type": ["VOLUME"], "value": 1}],
        [{"type": "VOLUME", "value": 1, "extra": 1}],
        [{"type": "BRIGHTNESS", "value": -1}],
        [{"type": "TIMERS", "value": [{"type": "TIMER_9", "time_on": "08:00", "weekdays": ["mon"]}]}],
        [{"type": "TIMERS", "value": [{"type": "TIMER_1", "time_on": None, "time_off": None, "weekdays": ["mon"]}]}],
        [{"type": "TIMERS", "value": [{"type": "TIMER_1", "time_on": "25:00", "weekdays": ["mon"]}]}],
        [
            {
                "type": "POWER_ACTIONS_SCHEDULE",
                "value": [{"power_action": "EXPLODE", "weekdays": ["MONDAY"], "time": "03:00"}],
            }
        ],
        [
            {
                "type": "POWER_ACTIONS_SCHEDULE",
                "value": [{"power_action": "SYSTEM_REBOOT", "weekdays": [], "time": "03:00"}],
            }
        ],
        [{"type": "ORIENTATION", "value": "SIDEWAYS"}],
        [{"type": "RESOLUTION", "value": {"width": 0, "height": 1080}}],
        [{"type": "RESOLUTION", "value": {"width": 10**30, "height": 1080}}],
        [{"type": "APPLICATION_VERSION", "value": "latest"}],
        [{"type": "REMOTE_CONTROL", "value": "yes"}],
        [{"type": "DATETIME", "value": {"timezone": "Mars/Olympus"}}],
        [{"type": "DATETIME", "value": {"timezone": "UTC", "ntp_server": "not a host"}}],
        [{"type": "TEMPERATURE", "value": {}}],
        [{"type": "TEMPERATURE", "value": {"min": 50, "max": 40}}],
        [{"type": "TEMPERATURE", "value": {"max": 1e300}}],
    ],
)
def test_bad_items_are_a_400_naming_items(api, fleet, items):
    response = api.post(f"{HOST}/policies/", {"name": "Bad", "fleet": fleet.pk, "items": items}, format="json")
    assert response.status_code == 400, response.content
    assert response.json()["items"][0]["code"] in ("invalid", "invalid_type", "invalid_value", "duplicate_type")
    assert not Policy.objects.exists()


def test_merge_highest_priority_wins_item_by_item_and_ties_go_to_the_older_policy():
    low = [{"type": "VOLUME", "value": 10}, {"type": "BRIGHTNESS", "value": 20}]
    high = [{"type": "VOLUME", "value": 90}]
    tie = [{"type": "BRIGHTNESS", "value": 55}, {"type": "ORIENTATION", "value": "PORTRAIT"}]
    merged = policies_merge([(1, 7, low), (5, 3, high), (1, 4, tie)])
    assert merged["VOLUME"] == {"value": 90, "policy": 3, "priority": 5}
    assert merged["BRIGHTNESS"] == {"value": 55, "policy": 4, "priority": 1}  # tie on 1: policy 4 before 7
    assert merged["ORIENTATION"]["policy"] == 4
    assert policies_merge([(1, 4, tie), (5, 3, high), (1, 7, low)]) == merged  # order of rows is irrelevant


def test_effective_settings_skip_archived_policies(api, fleet, screen, make_device):
    device = make_device(screen)
    quiet = services.policy_create(fleet=fleet, name="Quiet", items=[{"type": "VOLUME", "value": 5}])
    loud = services.policy_create(fleet=fleet, name="Loud", items=[{"type": "VOLUME", "value": 95}])
    services.policy_assign(policy=quiet, devices=[device], priority=1)
    services.policy_assign(policy=loud, devices=[device], priority=10)
    assert api.get(f"{HOST}/devices/{device.pk}/settings/").json()["settings"]["VOLUME"]["value"] == 95
    response = api.patch(f"{HOST}/policies/{loud.pk}/", {"archived": True}, format="json")
    assert response.status_code == 200 and response.json()["archived"] is True
    body = api.get(f"{HOST}/devices/{device.pk}/settings/").json()
    assert body["settings"] == {"VOLUME": {"value": 5, "policy": quiet.pk, "priority": 1}}


def test_assign_reassign_list_and_unassign(api, fleet, screen, make_device):
    device = make_device(screen)
    policy = services.policy_create(fleet=fleet, name="Night")
    url = f"{HOST}/devices/{device.pk}/policies/"
    response = api.post(url, {"policy": policy.pk, "priority": 3}, format="json")
    assert response.status_code == 201, response.content
    assert response.json()["priority"] == 3 and response.json()["id"] == policy.pk
    assert api.post(url, {"policy": f"{HOST}/policies/{policy.pk}/", "priority": 8}, format="json").status_code == 201
    assert DevicePolicy.objects.get().priority == 8
    listed = api.get(url).json()
    assert [row["name"] for row in listed["results"]] == ["Night"]
    detail = api.get(f"{HOST}/devices/{device.pk}/").json()
    assert detail["policies"][0]["priority"] == 8
    assert api.delete(f"{url}{policy.pk}/").status_code == 204
    assert not DevicePolicy.objects.exists()
    assert api.delete(f"{url}{policy.pk}/").status_code == 204  # already gone: nothing to do


@pytest.mark.parametrize("priority", [10**7, -(10**7), "high", None, 1.5])
def test_priority_out_of_bounds_is_a_400(api, fleet, screen, make_device, priority):
    device = make_device(screen)
    policy = services.policy_create(fleet=fleet, name="Night")
    response = api.post(f"{HOST}/devices/{device.pk}/policies/", {"policy": policy.pk, "priority": priority},
                        format="json")  # fmt: skip
    assert response.status_code == 400
    assert not DevicePolicy.objects.exists()


def test_tenancy(api, fleet, other_fleet, screen, make_screen, make_device):
    mine = make_device(screen)
    theirs = make_device(make_screen(other_fleet, "Theirs"))
    foreign = services.policy_create(fleet=other_fleet, name="Foreign")
    own = services.policy_create(fleet=fleet, name="Own")
    # another fleet's policy in a payload: 400, nothing assigned
    response = api.post(f"{HOST}/devices/{mine.pk}/policies/", {"policy": foreign.pk}, format="json")
    assert response.status_code == 400 and response.json()["policy"][0]["code"] == "does_not_exist"
    # another fleet's objects: 404
    assert api.get(f"{HOST}/policies/{foreign.pk}/").status_code == 404
    assert api.patch(f"{HOST}/policies/{foreign.pk}/", {"name": "x"}, format="json").status_code == 404
    assert api.post(f"{HOST}/policies/{foreign.pk}/clone/", {"name": "x"}, format="json").status_code == 404
    assert api.post(f"{HOST}/devices/{theirs.pk}/policies/", {"policy": own.pk}, format="json").status_code == 404
    assert api.get(f"{HOST}/devices/{theirs.pk}/settings/").status_code == 404
    assert api.get(f"{HOST}/policies/").json()["count"] == 1
    # cloning into another fleet: 400
    response = api.post(f"{HOST}/policies/{own.pk}/clone/", {"name": "x", "fleet": other_fleet.pk}, format="json")
    assert response.status_code == 400
    assert not DevicePolicy.objects.exists() and Policy.objects.count() == 2
    # the service refuses a player of another fleet (the bulk operations call it directly)
    with pytest.raises(Exception, match="fleet"):
        services.policy_assign(policy=own, devices=[theirs])


def test_clone_copies_items_not_assignments(api, fleet, screen, make_device):
    policy = services.policy_create(fleet=fleet, name="Base", description="d", items=GOOD_ITEMS)
    services.policy_assign(policy=policy, devices=[make_device(screen)], priority=2)
    response = api.post(f"{HOST}/policies/{policy.pk}/clone/", {"name": "Copy"}, format="json")
    assert response.status_code == 201, response.content
    copy = Policy.objects.get(pk=response.json()["id"])
    assert (copy.name, copy.description, copy.items, copy.archived) == ("Copy", "d", policy.items, False)
    assert not copy.device_policies.exists()


def test_roles(client_for, make_member, fleet, screen, make_device):
    device = make_device(screen)
    policy = services.policy_create(fleet=fleet, name="P")
    technician = client_for(make_member(fleet, Role.TECHNICIAN))
    assert technician.post(f"{HOST}/policies/", {"name": "T", "fleet": fleet.pk}, format="json").status_code == 403
    response = technician.post(f"{HOST}/devices/{device.pk}/policies/", {"policy": policy.pk}, format="json")
    assert response.status_code == 201
    viewer = client_for(make_member(fleet, Role.VIEWER))
    assert viewer.post(f"{HOST}/devices/{device.pk}/policies/", {"policy": policy.pk}, format="json").status_code == 403
    assert viewer.get(f"{HOST}/devices/{device.pk}/policies/").status_code == 200
