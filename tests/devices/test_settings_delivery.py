"""A player's effective settings (policies by priority, its own power schedule, its screen's orientation,
resolution and time zone) reach it once per change: the heartbeat (still lean) says `has_new_settings`, the
player fetches `GET /api/device/settings`. Power schedules across time zones and DST; policy status and
violations from telemetry, and POLICY_VIOLATION_* alert conditions."""

import os
import zoneinfo
from datetime import UTC, datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from apps.devices import lean
from apps.devices.models import Device
from apps.devices.policies import delivery, services
from apps.devices.policies.delivery import local_instant, power_actions_from_opening_hours, power_actions_upcoming
from apps.screens.models import ScreenType
from tests.alerts import conftest as alerts_conftest

from .conftest import HOST, RedisRoundTrips

make_rule, evaluate = alerts_conftest.make_rule, alerts_conftest.evaluate
needs_redis = pytest.mark.skipif(not os.environ.get("REDIS_URL"), reason="the lean path needs Redis (REDIS_URL)")


def policy(fleet, name, items):
    return services.policy_create(fleet=fleet, name=name, items=items)


def beat(client, **telemetry):
    response = client.post("/api/device/heartbeat", telemetry, format="json")
    assert response.status_code == 200, response.content
    return response.json()


@needs_redis
def test_settings_travel_once_per_change_and_the_idle_heartbeat_stays_lean(paired, fleet, api, monkeypatch):
    client = paired()
    device = Device.objects.get()
    assert beat(client)["has_new_settings"] is True  # pairing gave it its screen's orientation and time zone
    first = client.get("/api/device/settings").json()
    assert first["settings"]["orientation"] == "LANDSCAPE"
    assert first["settings"]["datetime"] == {"timezone": "Europe/Paris"}
    assert first["sources"]["orientation"] == "screen"

    quiet = policy(fleet, "Quiet", [{"type": "VOLUME", "value": 20}, {"type": "ORIENTATION", "value": "PORTRAIT"}])
    loud = policy(fleet, "Loud", [{"type": "VOLUME", "value": 90}])
    api.post(f"{HOST}/devices/{device.pk}/policies/", {"policy": quiet.pk, "priority": 1}, format="json")
    api.post(f"{HOST}/devices/{device.pk}/policies/", {"policy": loud.pk, "priority": 5}, format="json")
    answer = beat(client)
    assert answer["has_new_settings"] is True and answer["settings_version"] != first["version"]
    fetched = client.get("/api/device/settings").json()
    assert fetched["version"] == answer["settings_version"]
    assert (fetched["settings"]["volume"], fetched["settings"]["orientation"]) == (90, "PORTRAIT")
    assert fetched["sources"]["volume"] == {"policy": loud.pk, "priority": 5}

    beat(client)  # the full path remembers the fetched version
    trips = RedisRoundTrips(monkeypatch)
    with CaptureQueriesContext(connection) as idle:
        answer = beat(client, volume=90)
    assert (len(idle), trips.count) == (0, 1)  # with policies, nothing changed: no SQL, one round trip
    assert answer["has_new_settings"] is False and answer["settings_version"] == fetched["version"]

    # saving a policy without changing it changes nothing for the player: still lean
    assert api.patch(f"{HOST}/policies/{loud.pk}/", {"name": "Loud!"}, format="json").status_code == 200
    with CaptureQueriesContext(connection) as idle:
        assert beat(client)["has_new_settings"] is False
    assert len(idle) == 0
    # archiving the winning policy: the quieter one wins, the player hears of it once
    api.patch(f"{HOST}/policies/{loud.pk}/", {"archived": True}, format="json")
    assert beat(client)["has_new_settings"] is True
    assert client.get("/api/device/settings").json()["settings"]["volume"] == 20
    assert beat(client)["has_new_settings"] is False


@needs_redis
def test_a_fetch_does_not_undo_a_version_written_while_it_was_computed(paired, monkeypatch):
    client = paired()
    assert beat(client)["has_new_settings"] is True
    computed = delivery.devices_settings

    def refreshed_meanwhile(devices):  # a refresh commits between the fetch's read and its write
        found = computed(devices)
        Device.objects.update(settings_version="meanwhile")
        lean.forget(Device.objects.values_list("token_hash", flat=True))  # as devices_settings_refresh does
        return found

    monkeypatch.setattr(delivery, "devices_settings", refreshed_meanwhile)
    fetched = client.get("/api/device/settings").json()
    monkeypatch.undo()
    device = Device.objects.get()
    assert (device.settings_version, device.settings_fetched) == ("meanwhile", fetched["version"])
    assert beat(client)["has_new_settings"] is True  # it hears of the newer one


def _full_heartbeat_queries(client, device) -> int:
    lean.forget([device.token_hash])  # no Redis record: the full path serves it
    with CaptureQueriesContext(connection) as full:
        answer = beat(client)
    assert answer["has_new_settings"] is False
    return len(full)


def test_full_heartbeat_with_policies_costs_the_same_queries(paired, fleet):
    """The full path (first heartbeat after a record is dropped) of a device with five policies costs what it
    costs without any: the settings version is a column of the device row it reads anyway."""
    client = paired()
    device = Device.objects.get()
    client.get("/api/device/settings")
    beat(client)  # the first heartbeat builds the screen's playlist state
    without = _full_heartbeat_queries(client, device)
    for index in range(5):
        services.policy_assign(policy=policy(fleet, f"p{index}", [{"type": "VOLUME", "value": index}]),
                               devices=[device], priority=index)  # fmt: skip
    client.get("/api/device/settings")
    assert _full_heartbeat_queries(client, device) == without == FULL_HEARTBEAT_QUERIES


# The device by its token (with screen and fleet), then recording it as seen (a savepoint, its statement, the
# release): the same with five policies as with none.
FULL_HEARTBEAT_QUERIES = 4
# The device by its token, the player with its screen, screen type and fleet, its active policies' items.
SETTINGS_FETCH_QUERIES = 3
ITEMS = [
    {"type": "VOLUME", "value": 30}, {"type": "BRIGHTNESS", "value": 70}, {"type": "ORIENTATION", "value": "PORTRAIT"},
    {"type": "TEMPERATURE", "value": {"max": 70}}, {"type": "DATETIME", "value": {"timezone": "Asia/Tokyo"}},
    {"type": "REMOTE_CONTROL", "value": False},
]  # fmt: skip


@needs_redis
@pytest.mark.parametrize("policies", [1, 6])
def test_heartbeat_and_settings_fetch_queries_do_not_grow_with_policies(policies, paired, fleet, monkeypatch):
    """Pinned at two sizes: with 1 or 6 policies (items overlapping by priority), an idle heartbeat is 0 SQL
    and 1 Redis round trip, the full path FULL_HEARTBEAT_QUERIES, a settings fetch SETTINGS_FETCH_QUERIES."""
    client = paired()
    device = Device.objects.get()
    for index in range(policies):
        services.policy_assign(policy=policy(fleet, f"p{index}", ITEMS[: index + 1]), devices=[device],
                               priority=index)  # fmt: skip
    assert beat(client)["has_new_settings"] is True
    version = client.get("/api/device/settings").json()["version"]
    with CaptureQueriesContext(connection) as fetch:
        again = client.get("/api/device/settings").json()
    assert (len(fetch), again["version"]) == (SETTINGS_FETCH_QUERIES, version)
    assert again["sources"]["volume"] == {"policy": Device.objects.get().policies.get(name=f"p{policies - 1}").pk,
                                          "priority": policies - 1}  # fmt: skip
    beat(client)  # the full path remembers the fetched version in the lean record
    trips = RedisRoundTrips(monkeypatch)
    with CaptureQueriesContext(connection) as idle:
        answer = beat(client, volume=30)
    assert (len(idle), trips.count) == (0, 1)
    assert (answer["settings_version"], answer["has_new_settings"]) == (version, False)
    assert _full_heartbeat_queries(client, device) == FULL_HEARTBEAT_QUERIES


def test_a_screen_types_size_reaches_the_players_of_its_screens(paired, fleet, make_screen, api,
                                                                django_capture_on_commit_callbacks):  # fmt: skip
    kind = ScreenType.objects.create(fleet=fleet, name="Wall", width=1920, height=1080)
    client = paired(make_screen(fleet, "Hall", screen_type=kind))
    beat(client)
    assert client.get("/api/device/settings").json()["settings"]["resolution"] == {"width": 1920, "height": 1080}
    assert beat(client)["has_new_settings"] is False
    with django_capture_on_commit_callbacks(execute=True):
        response = api.patch(f"{HOST}/screen_types/{kind.pk}/", {"width": 3840, "height": 2160}, format="json")
    assert response.status_code == 200, response.content
    assert beat(client)["has_new_settings"] is True
    assert client.get("/api/device/settings").json()["settings"]["resolution"] == {"width": 3840, "height": 2160}
    with django_capture_on_commit_callbacks(execute=True):
        assert api.delete(f"{HOST}/screen_types/{kind.pk}/").status_code == 204
    assert beat(client)["has_new_settings"] is True
    settings = client.get("/api/device/settings").json()
    assert settings["settings"]["resolution"] is None and "resolution" not in settings["sources"]


def test_screen_orientation_resolution_and_timezone_reach_the_player(paired, fleet, api,
                                                                    django_capture_on_commit_callbacks):  # fmt: skip
    client = paired()
    beat(client)
    client.get("/api/device/settings")
    kind = ScreenType.objects.create(fleet=fleet, name="Totem", width=1080, height=1920, orientation="portrait")
    with django_capture_on_commit_callbacks(execute=True):
        response = api.patch(f"{HOST}/screens/{client.screen.pk}/",
                             {"orientation": "portrait", "rotation": 180, "timezone": "America/New_York",
                              "screen_type": kind.pk}, format="json")  # fmt: skip
    assert response.status_code == 200, response.content
    assert beat(client)["has_new_settings"] is True
    settings = client.get("/api/device/settings").json()["settings"]
    assert settings["orientation"] == "PORTRAIT_FLIPPED"
    assert settings["resolution"] == {"width": 1080, "height": 1920}
    assert settings["datetime"] == {"timezone": "America/New_York"}
    # a policy's DATETIME item wins over the screen's time zone
    device = Device.objects.get()
    services.policy_assign(policy=policy(fleet, "Tokyo", [{"type": "DATETIME", "value": {"timezone": "Asia/Tokyo"}}]),
                           devices=[device])  # fmt: skip
    assert client.get("/api/device/settings").json()["settings"]["datetime"] == {"timezone": "Asia/Tokyo"}


# --- power schedules across time zones and DST -------------------------------------------------------------

DAILY_7AM = [{"power_action": "DISPLAY_POWER_ON", "weekdays": ["MONDAY", "TUESDAY", "WEDNESDAY", "THURSDAY",
              "FRIDAY", "SATURDAY", "SUNDAY"], "time": "07:00:00"}]  # fmt: skip


@pytest.mark.parametrize(
    "zone, since, expected",
    [
        # Paris: 07:00 is 06:00 UTC in winter, 05:00 UTC from the last Sunday of March (2026-03-29)
        ("Europe/Paris", "2026-03-28T00:00:00Z", ["2026-03-28T06:00:00Z", "2026-03-29T05:00:00Z"]),
        # and back on the last Sunday of October (2026-10-25)
        ("Europe/Paris", "2026-10-24T00:00:00Z", ["2026-10-24T05:00:00Z", "2026-10-25T06:00:00Z"]),
        # New York changes on another day (2026-03-08): UTC-5 then UTC-4
        ("America/New_York", "2026-03-07T00:00:00Z", ["2026-03-07T12:00:00Z", "2026-03-08T11:00:00Z"]),
        # Sydney goes the other way in April (2026-04-05): UTC+11 then UTC+10
        ("Australia/Sydney", "2026-04-03T12:00:00Z", ["2026-04-03T20:00:00Z", "2026-04-04T21:00:00Z"]),
        # no DST: Tokyo stays UTC+9
        ("Asia/Tokyo", "2026-03-28T00:00:00Z", ["2026-03-28T22:00:00Z", "2026-03-29T22:00:00Z"]),
    ],
)
def test_power_actions_follow_the_wall_clock_across_dst(zone, since, expected):
    start = datetime.fromisoformat(since)
    upcoming = power_actions_upcoming(schedule=DAILY_7AM, zone=zone, since=start, hours=48)
    assert [row["at"] for row in upcoming] == expected
    assert {row["power_action"] for row in upcoming} == {"DISPLAY_POWER_ON"}


def test_gap_and_repeated_times():
    paris = zoneinfo.ZoneInfo("Europe/Paris")
    # 02:30 does not exist on 2026-03-29 in Paris: it moves forward by the gap, to 03:30 summer time
    spring = local_instant(datetime(2026, 3, 29).date(), datetime(1, 1, 1, 2, 30).time(), paris)
    assert spring.astimezone(UTC) == datetime(2026, 3, 29, 1, 30, tzinfo=UTC)
    assert (spring.hour, spring.minute) == (3, 30)
    # 02:30 happens twice on 2026-10-25: the first (summer time, UTC+2) is the one, and only once
    autumn = local_instant(datetime(2026, 10, 25).date(), datetime(1, 1, 1, 2, 30).time(), paris)
    assert autumn.astimezone(UTC) == datetime(2026, 10, 25, 0, 30, tzinfo=UTC)
    schedule = [{"power_action": "SYSTEM_REBOOT", "weekdays": ["SUNDAY"], "time": "02:30:00"}]
    upcoming = power_actions_upcoming(schedule=schedule, zone="Europe/Paris",
                                      since=datetime(2026, 10, 24, tzinfo=UTC), hours=48)  # fmt: skip
    assert [row["at"] for row in upcoming] == ["2026-10-25T00:30:00Z"]


def test_opening_hours_generate_display_on_and_off():
    hours = {"1": [["09:00", "18:00"]], "2": [["09:00", "18:00"]], "5": [["09:00", "12:00"], ["14:00", "24:00"]],
             "6": [["00:00", "02:00"]], "7": []}  # fmt: skip
    actions = power_actions_from_opening_hours(hours)
    assert {
        "power_action": "DISPLAY_POWER_ON",
        "weekdays": ["MONDAY", "TUESDAY", "FRIDAY"],
        "time": "09:00:00",
    } in actions
    assert {"power_action": "DISPLAY_POWER_OFF", "weekdays": ["MONDAY", "TUESDAY"], "time": "18:00:00"} in actions
    assert {"power_action": "DISPLAY_POWER_OFF", "weekdays": ["FRIDAY"], "time": "12:00:00"} in actions
    assert {"power_action": "DISPLAY_POWER_ON", "weekdays": ["FRIDAY"], "time": "14:00:00"} in actions
    # Friday 14:00-24:00 runs on into Saturday 00:00-02:00: no off at midnight, no on at 00:00
    assert {"power_action": "DISPLAY_POWER_OFF", "weekdays": ["SATURDAY"], "time": "02:00:00"} in actions
    assert not any(action["time"] == "00:00:00" for action in actions)
    assert power_actions_from_opening_hours({}) == []


def test_power_schedule_endpoints(api, fleet, make_screen, make_device, other_fleet):
    every_day = {str(day): [["08:00", "20:00"]] for day in range(1, 8)}
    screen = make_screen(fleet, "Shop", timezone="Europe/Paris", opening_hours=every_day)
    device = make_device(screen)
    url = f"{HOST}/devices/{device.pk}/power_schedule/"
    reboot = {"power_action": "SYSTEM_REBOOT", "weekdays": ["SUNDAY"], "time": "04:00"}
    response = api.post(url, {"power_actions_schedule": [reboot]}, format="json")
    assert response.status_code == 200, response.content
    assert response.json()["power_actions_schedule"][0]["time"] == "04:00:00"
    response = api.post(f"{url}from_opening_hours/")
    assert response.status_code == 200, response.content
    kinds = sorted(action["power_action"] for action in response.json()["power_actions_schedule"])
    assert kinds == ["DISPLAY_POWER_OFF", "DISPLAY_POWER_ON", "SYSTEM_REBOOT"]  # the reboot stays
    assert (
        response.json()["timezone"] == "Europe/Paris"
        and response.json()["sources"]["power_actions_schedule"] == "device"
    )
    # the next 48 h as UTC instants that are the schedule's wall-clock times in the screen's zone
    paris = zoneinfo.ZoneInfo("Europe/Paris")
    upcoming = response.json()["upcoming_power_actions"]
    ons = [row for row in upcoming if row["power_action"] == "DISPLAY_POWER_ON"]
    assert 1 <= len(ons) <= 3  # one a day: 48 h hold two (one or three across a DST change)
    for row in upcoming:
        local = datetime.fromisoformat(row["at"]).astimezone(paris)
        expected = {"DISPLAY_POWER_ON": "08:00", "DISPLAY_POWER_OFF": "20:00", "SYSTEM_REBOOT": "04:00"}
        assert row["at"].endswith("Z") and f"{local:%H:%M}" == expected[row["power_action"]]
        assert row["power_action"] != "SYSTEM_REBOOT" or local.weekday() == 6  # Sundays only
    timers = [{"type": "TIMER_1", "time_on": "07:30", "time_off": "22:00", "weekdays": ["mon", "fri"]}]
    body = api.post(url, {"timers": timers}, format="json").json()
    assert body["effective"]["timers"] == body["timers"] == [
        {"type": "TIMER_1", "weekdays": ["mon", "fri"], "time_on": "07:30:00", "time_off": "22:00:00",
         "level": "PROPRIETARY"}]  # fmt: skip
    assert body["sources"]["timers"] == "device" and len(body["power_actions_schedule"]) == 3  # the schedule stays
    # a policy's schedule wins over the player's own
    night = policy(fleet, "Night", [{"type": "POWER_ACTIONS_SCHEDULE",
                                     "value": [{"power_action": "DISPLAY_POWER_OFF", "weekdays": ["MONDAY"],
                                                "time": "23:00"}]}])  # fmt: skip
    services.policy_assign(policy=night, devices=[device])
    body = api.get(url).json()
    assert body["effective"]["power_actions_schedule"] == night.items[0]["value"]
    assert body["sources"]["power_actions_schedule"] == {"policy": night.pk, "priority": 0}
    for bad in ({"timers": [{"type": "TIMER_8", "weekdays": ["mon"], "time_on": "08:00"}]},
                {"power_actions_schedule": "daily"}, {"power_actions_schedule": [{"time": "04:00"}]}):  # fmt: skip
        assert api.post(url, bad, format="json").status_code == 400
    assert len(Device.objects.get(pk=device.pk).power_actions_schedule) == 3  # unchanged
    theirs = make_device(make_screen(other_fleet, "Theirs"))
    assert api.get(f"{HOST}/devices/{theirs.pk}/power_schedule/").status_code == 404
    assert api.post(f"{HOST}/devices/{theirs.pk}/power_schedule/from_opening_hours/").status_code == 404


# --- policy status and violations ------------------------------------------------------------------------


def test_policy_status_and_violations_from_telemetry(api, fleet, screen, make_device):
    device = make_device(screen, volume=80, brightness=50, app_version="2.4", temperature=75.5)
    rules = policy(fleet, "Rules", [
        {"type": "VOLUME", "value": 40}, {"type": "BRIGHTNESS", "value": 50},
        {"type": "APPLICATION_VERSION", "value": "2.4.0"}, {"type": "TEMPERATURE", "value": {"max": 70}},
        {"type": "ORIENTATION", "value": "PORTRAIT"},
    ])  # fmt: skip
    services.policy_assign(policy=rules, devices=[device], priority=2)
    body = api.get(f"{HOST}/devices/{device.pk}/policy_status/").json()
    rows = {row["type"]: row for row in body["items"]}
    assert (rows["VOLUME"]["desired"], rows["VOLUME"]["reported"], rows["VOLUME"]["in_violation"]) == (40, 80, True)
    assert rows["BRIGHTNESS"]["state"] == "ok"
    assert rows["APPLICATION_VERSION"]["in_violation"] is False  # "2.4" is 2.4.0
    assert (rows["TEMPERATURE"]["state"], rows["TEMPERATURE"]["reported"]) == ("violation", 75.5)
    assert rows["ORIENTATION"]["state"] == "pending" and rows["ORIENTATION"]["in_violation"] is False
    assert rows["VOLUME"]["policy"] == rules.pk and rows["VOLUME"]["priority"] == 2
    Device.objects.filter(pk=device.pk).update(
        volume=None, temperature=20, settings_fetched=Device.objects.get(pk=device.pk).settings_version
    )
    rows = {row["type"]: row for row in api.get(f"{HOST}/devices/{device.pk}/policy_status/").json()["items"]}
    assert rows["VOLUME"]["state"] == "unknown" and rows["TEMPERATURE"]["state"] == "ok"
    assert rows["ORIENTATION"] == {**rows["ORIENTATION"], "state": "applied", "reported": "PORTRAIT"}


def test_policy_violation_alert_conditions(fleet, screen, make_device, make_rule, evaluate, api):
    from apps.alerts.models import Alert

    loud = make_device(screen, volume=90, temperature=30)
    fine = make_device(screen, volume=30, temperature=30)
    free = make_device(screen, volume=90)  # no policy: never in violation
    services.policy_assign(policy=policy(fleet, "Q", [{"type": "VOLUME", "value": 30}]), devices=[loud, fine])
    rule = make_rule(fleet, {"POLICY_VIOLATION_VOLUME": True}, threshold={"type": "percentage", "percentage": 0})
    evaluate(rule)
    alert = Alert.objects.get(rule=rule)
    assert set(alert.devices.values_list("pk", flat=True)) == {loud.pk}
    any_rule = make_rule(fleet, {"POLICY_VIOLATION": False}, name="Compliant",
                         threshold={"type": "percentage", "percentage": 0})  # fmt: skip
    evaluate(any_rule)
    assert set(Alert.objects.get(rule=any_rule).devices.values_list("pk", flat=True)) == {fine.pk, free.pk}
    response = api.post(f"{HOST}/alert_rules/", {"name": "x", "conditions": {"POLICY_VIOLATION_VOLUME": "yes"}},
                        format="json")  # fmt: skip
    assert response.status_code == 400
