"""Every condition type and operator at its boundaries, the threshold arithmetic, windows and snoozes."""

from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone

from apps.alerts.evaluation import rule_outcome
from apps.alerts.models import Alert, AlertDevice
from apps.alerts.rules import in_active_window
from apps.devices.models import CommandType, DeviceCommand

from .conftest import ago


def matched(rule, now=None):
    return set(rule_outcome(rule, now or timezone.now()).matched)


@pytest.mark.parametrize(
    ("condition", "values", "expected"),
    [
        # ALIVE_AT: '>' = silent for longer than the range (never seen counts as silent), '<' = seen within it.
        (["ALIVE_AT", [">", 90_000]], {"last_seen_at": timedelta(seconds=91)}, True),
        (["ALIVE_AT", [">", 90_000]], {"last_seen_at": timedelta(seconds=89)}, False),
        (["ALIVE_AT", [">", 90_000]], {"last_seen_at": None}, True),
        (["ALIVE_AT", ["<", 90_000]], {"last_seen_at": timedelta(seconds=89)}, True),
        (["ALIVE_AT", ["<", 90_000]], {"last_seen_at": timedelta(seconds=91)}, False),
        # STORAGE_STATUS: free storage in percent of the total (free from used when free is not reported).
        (["STORAGE_STATUS", ["<", 10]], {"storage_total_mb": 1000, "storage_free_mb": 99}, True),
        (["STORAGE_STATUS", ["<", 10]], {"storage_total_mb": 1000, "storage_free_mb": 100}, False),
        (["STORAGE_STATUS", ["<=", 10]], {"storage_total_mb": 1000, "storage_free_mb": 100}, True),
        (["STORAGE_STATUS", ["<", 10]], {"storage_total_mb": 1000, "storage_used_mb": 950}, True),
        (["STORAGE_STATUS", ["<", 10]], {"storage_total_mb": 0, "storage_free_mb": 0}, False),
        (["STORAGE_STATUS", ["<", 10]], {}, False),
        # VOLUME and BRIGHTNESS, every numeric operator on both sides of its edge.
        (["VOLUME", [">", 50]], {"volume": 51}, True),
        (["VOLUME", [">", 50]], {"volume": 50}, False),
        (["VOLUME", [">=", 50]], {"volume": 50}, True),
        (["VOLUME", [">=", 50]], {"volume": 49}, False),
        (["VOLUME", ["<", 50]], {"volume": 49}, True),
        (["VOLUME", ["<", 50]], {"volume": 50}, False),
        (["VOLUME", ["<=", 50]], {"volume": 50}, True),
        (["VOLUME", ["<=", 50]], {"volume": 51}, False),
        (["VOLUME", ["=", 0]], {"volume": 0}, True),
        (["VOLUME", ["=", 0]], {"volume": 1}, False),
        (["VOLUME", ["!=", 0]], {"volume": 1}, True),
        (["VOLUME", ["!=", 0]], {"volume": 0}, False),
        (["VOLUME", ["!=", 0]], {"volume": None}, False),
        (["BRIGHTNESS", ["<", 20]], {"brightness": 19}, True),
        (["BRIGHTNESS", ["<", 20]], {"brightness": 20}, False),
        # TEMPERATURE: a number of degrees.
        (["TEMPERATURE", [">", 70]], {"temperature": 70.5}, True),
        (["TEMPERATURE", [">", 70]], {"temperature": 70.0}, False),
        (["TEMPERATURE", [">", 70]], {"temperature": None}, False),
        # APPLICATION_VERSION: semver order, not text order ("10.0.0" > "9.0.0"); "2.1" is 2.1.0.
        (["APPLICATION_VERSION", ["<", "9.0.0"]], {"app_version": "10.0.0"}, False),
        (["APPLICATION_VERSION", [">", "9.0.0"]], {"app_version": "10.0.0"}, True),
        (["APPLICATION_VERSION", [">=", "2.1.0"]], {"app_version": "2.1"}, True),
        (["APPLICATION_VERSION", ["<", "2.1.0"]], {"app_version": "2.1.0-beta.1"}, True),
        (["APPLICATION_VERSION", ["=", "2.1.0"]], {"app_version": "2.1.0"}, True),
        (["APPLICATION_VERSION", ["!=", "2.1.0"]], {"app_version": "2.1.0"}, False),
        (["APPLICATION_VERSION", ["<", "2.1.0"]], {"app_version": "not-a-version"}, False),
        # REMOTE_CONTROL: locked or not.
        (["REMOTE_CONTROL", True], {"is_locked": True}, True),
        (["REMOTE_CONTROL", True], {"is_locked": False}, False),
        (["REMOTE_CONTROL", False], {"is_locked": False}, True),
    ],
)
def test_device_conditions_at_their_boundaries(screen, make_device, make_rule, condition, values, expected):
    # A timedelta is an age, taken from now when the test runs.
    values = {key: timezone.now() - value if isinstance(value, timedelta) else value for key, value in values.items()}
    device = make_device(screen, **values)
    rule = make_rule(screen.fleet, {condition[0]: condition[1]})
    assert (device.pk in matched(rule)) is expected


def _commands(device, kind, column, ages):
    for age in ages:
        DeviceCommand.objects.create(device=device, type=kind, **{column: ago(seconds=age)})


@pytest.mark.parametrize(
    ("condition", "ages", "expected"),
    [
        # [operator, occurrences, range_in_past_ms]: only occurrences inside the range count.
        ([">=", 3, 3_600_000], [10, 20, 30], True),
        ([">=", 3, 3_600_000], [10, 20, 3_700], False),
        ([">", 2, 3_600_000], [10, 20], False),
        (["=", 0, 3_600_000], [], True),
        (["<", 1, 60_000], [120], True),
        (["!=", 2, 60_000], [1, 2], False),
    ],
)
def test_failed_actions_count_failures_in_the_range(screen, make_device, make_rule, condition, ages, expected):
    device = make_device(screen)
    _commands(device, CommandType.REBOOT, "failed_at", ages)
    DeviceCommand.objects.create(device=device, type=CommandType.REBOOT, succeeded_at=ago(seconds=5))  # no failure
    rule = make_rule(screen.fleet, {"FAILED_ACTIONS": condition})
    assert (device.pk in matched(rule)) is expected


def test_screenshot_counts_screenshots_taken_in_the_range(screen, make_device, make_rule):
    quiet, busy = make_device(screen), make_device(screen)
    _commands(busy, CommandType.SCREENSHOT, "succeeded_at", [30, 60])
    _commands(quiet, CommandType.SCREENSHOT, "succeeded_at", [7200])  # too old
    _commands(quiet, CommandType.SCREENSHOT, "failed_at", [10])  # not taken
    rule = make_rule(screen.fleet, {"SCREENSHOT": ["<", 1, 3_600_000]})
    assert matched(rule) == {quiet.pk}


def test_all_conditions_must_hold(screen, make_device, make_rule):
    hot_and_loud = make_device(screen, temperature=80, volume=90)
    hot = make_device(screen, temperature=80, volume=10)
    make_device(screen, temperature=20, volume=90)
    rule = make_rule(screen.fleet, {"TEMPERATURE": [">", 70], "VOLUME": [">", 50]})
    assert matched(rule) == {hot_and_loud.pk}
    assert hot.pk not in matched(rule)


def test_screen_open_follows_the_screens_hours_in_their_time_zone(fleet, make_screen, make_device, make_rule):
    # 10:30 UTC on a Wednesday: 11:30 in Paris (open 09-18), 19:30 in Tokyo (open 09-18: closed).
    now = datetime(2026, 1, 7, 10, 30, tzinfo=UTC)
    week = {str(day): [["09:00", "18:00"]] for day in range(1, 8)}
    paris = make_device(make_screen(fleet, "Paris", timezone="Europe/Paris", opening_hours=week), last_seen_at=None)
    tokyo = make_device(make_screen(fleet, "Tokyo", timezone="Asia/Tokyo", opening_hours=week), last_seen_at=None)
    closed = make_device(make_screen(fleet, "Off", active=False), last_seen_at=None)
    rule = make_rule(fleet, {"ALIVE_AT": [">", 90_000], "SCREEN_OPEN": True})
    assert matched(rule, now) == {paris.pk}
    rule.conditions["SCREEN_OPEN"] = False
    assert matched(rule, now) == {tokyo.pk, closed.pk}


def test_filter_selects_the_devices_watched(fleet, make_screen, make_device, make_rule, make_place):
    from apps.screens.models import ScreenGroup

    group = ScreenGroup.objects.create(fleet=fleet, name="Stations")
    place = make_place(exclusive_fleet=fleet)
    grouped_screen, placed_screen = make_screen(fleet, "In group"), make_screen(fleet, "At place", place=place)
    grouped_screen.groups.add(group)
    in_group = make_device(grouped_screen, model="BrightSign XT", app_version="3.13.0", temperature=90)
    at_place = make_device(placed_screen, model="Xiaomi", app_version="3.11.0", temperature=90)
    conditions = {"TEMPERATURE": [">", 70]}
    cases = [
        ({"screen_groups": [group.pk]}, {in_group.pk}),
        ({"places": [place.pk]}, {at_place.pk}),
        ({"screens": [str(placed_screen.pk)]}, {at_place.pk}),
        ({"model": "brightsign"}, {in_group.pk}),
        ({"name": at_place.name}, {at_place.pk}),
        ({"application_version": [">", "3.12.0"]}, {in_group.pk}),
        ({}, {in_group.pk, at_place.pk}),
    ]
    for rule_filter, expected in cases:
        rule = make_rule(fleet, conditions, filter=rule_filter)
        outcome = rule_outcome(rule, timezone.now())
        assert set(outcome.matched) == expected, rule_filter
        assert outcome.filtered == len(expected), rule_filter


@pytest.mark.parametrize(
    ("percentage", "hot", "total", "fires"),
    [
        (0, 0, 10, False),
        (0, 1, 10, True),
        (50, 5, 10, False),  # exactly the threshold is not above it
        (50, 6, 10, True),
        (99, 99, 100, False),
        (99, 100, 100, True),
        (0, 0, 0, False),  # nothing filtered: nothing to alert about
    ],
)
def test_threshold_is_matched_over_filtered(screen, make_devices, make_rule, evaluate, percentage, hot, total, fires):
    make_devices(screen, hot, temperature=90)
    make_devices(screen, total - hot, temperature=20)
    rule = make_rule(
        screen.fleet, {"TEMPERATURE": [">", 70]}, threshold={"type": "percentage", "percentage": percentage}
    )
    alert = evaluate(rule)
    assert (alert is not None) is fires
    assert Alert.objects.filter(rule=rule).count() == int(fires)
    if fires:
        assert alert.devices.count() == hot


WINDOW_CASES = [
    # (window, instant in UTC, inside?) -- 2026-01-05 is a Monday.
    ({"weekdays": [1], "start": "09:00", "end": "17:00", "timezone": "UTC"}, datetime(2026, 1, 5, 9, 0), True),
    ({"weekdays": [1], "start": "09:00", "end": "17:00", "timezone": "UTC"}, datetime(2026, 1, 5, 17, 0), False),
    ({"weekdays": [1], "start": "09:00", "end": "17:00", "timezone": "UTC"}, datetime(2026, 1, 6, 10, 0), False),
    # Across midnight: Monday 22:00 to Tuesday 06:00 belongs to Monday's window.
    ({"weekdays": [1], "start": "22:00", "end": "06:00", "timezone": "UTC"}, datetime(2026, 1, 5, 23, 0), True),
    ({"weekdays": [1], "start": "22:00", "end": "06:00", "timezone": "UTC"}, datetime(2026, 1, 6, 5, 59), True),
    ({"weekdays": [1], "start": "22:00", "end": "06:00", "timezone": "UTC"}, datetime(2026, 1, 6, 6, 0), False),
    ({"weekdays": [1], "start": "22:00", "end": "06:00", "timezone": "UTC"}, datetime(2026, 1, 5, 5, 0), False),
    # Time zones: 09:00-17:00 in Tokyo is 00:00-08:00 UTC; Sunday 23:30 UTC is Monday 08:30 in Tokyo.
    ({"weekdays": [1], "start": "09:00", "end": "17:00", "timezone": "Asia/Tokyo"}, datetime(2026, 1, 5, 1, 0), True),
    ({"weekdays": [1], "start": "09:00", "end": "17:00", "timezone": "Asia/Tokyo"}, datetime(2026, 1, 5, 9, 0), False),
    ({"weekdays": [1], "start": "08:00", "end": "09:00", "timezone": "Asia/Tokyo"}, datetime(2026, 1, 4, 23, 30), True),
    # New York night window across midnight and a DST-free January: 22:00-02:00 local = 03:00-07:00 UTC.
    ({"weekdays": [5], "start": "22:00", "end": "02:00", "timezone": "America/New_York"},
     datetime(2026, 1, 10, 6, 30), True),
]  # fmt: skip


@pytest.mark.parametrize(("window", "at", "inside"), WINDOW_CASES)
def test_active_windows_across_midnight_and_time_zones(window, at, inside):
    assert in_active_window({"active_time_windows": [window]}, at.replace(tzinfo=UTC)) is inside


def test_no_window_means_always():
    assert in_active_window({"active_time_windows": []}, datetime(2026, 1, 5, 3, 0, tzinfo=UTC)) is True


def test_a_due_rule_is_evaluated_only_inside_its_window_and_interval(fleet, screen, make_device, make_rule):
    from apps.alerts.services import alert_rules_evaluate_due

    make_device(screen, temperature=90)
    window = {"weekdays": [1], "start": "09:00", "end": "10:00", "timezone": "UTC"}
    rule = make_rule(fleet, {"TEMPERATURE": [">", 70]}, periodicity={"interval": 600, "active_time_windows": [window]})
    monday_nine = datetime(2026, 1, 5, 9, 30, tzinfo=UTC)
    assert rule.pk not in alert_rules_evaluate_due(now=monday_nine - timedelta(hours=1))
    assert rule.pk in alert_rules_evaluate_due(now=monday_nine)
    assert rule.pk not in alert_rules_evaluate_due(now=monday_nine + timedelta(minutes=5))  # interval not elapsed
    assert rule.pk in alert_rules_evaluate_due(now=monday_nine + timedelta(minutes=10))
    rule.refresh_from_db()
    rule.paused = True
    rule.save()
    assert rule.pk not in alert_rules_evaluate_due(now=monday_nine + timedelta(minutes=20))


def test_resolve_and_reopen_as_a_new_alert(screen, make_device, make_rule, evaluate):
    device = make_device(screen, temperature=90)
    rule = make_rule(screen.fleet, {"TEMPERATURE": [">", 70]})
    first = evaluate(rule)
    assert list(first.devices.all()) == [device]
    assert evaluate(rule).pk == first.pk  # still open: the same alert, not one per run
    device.temperature = 40
    device.save()
    assert evaluate(rule) is None
    first.refresh_from_db()
    assert first.resolved_at is not None
    device.temperature = 95
    device.save()
    second = evaluate(rule)
    assert second.pk != first.pk and second.resolved_at is None
    assert Alert.objects.filter(rule=rule).count() == 2


def test_alert_follows_its_devices(screen, make_device, make_rule, evaluate):
    one, two = make_device(screen, temperature=90), make_device(screen, temperature=20)
    rule = make_rule(screen.fleet, {"TEMPERATURE": [">", 70]})
    alert = evaluate(rule)
    two.temperature = 90
    two.save()
    assert set(evaluate(rule).devices.all()) == {one, two}
    one.temperature = 20
    one.save()
    alert = evaluate(rule)
    assert set(alert.devices.all()) == {two}


def test_snoozed_device_neither_counts_until_the_snooze_expires(screen, make_device, make_rule, evaluate):
    from apps.alerts.services import alert_snooze

    hot, warm, cool = (make_device(screen, temperature=t) for t in (90, 90, 20))
    rule = make_rule(screen.fleet, {"TEMPERATURE": [">", 70]}, threshold={"type": "percentage", "percentage": 50})
    alert = evaluate(rule)
    assert set(alert.devices.all()) == {hot, warm}  # 2 of 3 > 50 %
    alert_snooze(alert=alert, device=hot, until=timezone.now() + timedelta(hours=1))
    # An hour and a minute later the snooze has expired: the device counts again, the alert stays open.
    assert evaluate(rule, now=timezone.now() + timedelta(hours=1, minutes=1)).pk == alert.pk
    # While it holds, the snoozed device does not count: 1 of 3 is not above 50 %, the alert resolves.
    assert evaluate(rule) is None
    assert cool not in alert.devices.all()


def test_snoozed_device_stays_on_the_alert_while_others_keep_it_open(screen, make_device, make_rule, evaluate):
    from apps.alerts.services import alert_snooze

    hot, other = make_device(screen, temperature=90), make_device(screen, temperature=90)
    rule = make_rule(screen.fleet, {"TEMPERATURE": [">", 70]})
    alert = evaluate(rule)
    until = timezone.now() + timedelta(hours=1)
    alert_snooze(alert=alert, device=hot, until=until)
    alert = evaluate(rule)
    row = AlertDevice.objects.get(alert=alert, device=hot)
    assert row.snoozed_until == until
    assert set(alert.devices.all()) == {hot, other}
    other.temperature = 20
    other.save()
    assert evaluate(rule) is None  # the only device left matching is snoozed


def test_share_of_voice_rule_has_no_device_parts(fleet, make_rule):
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError):
        make_rule(fleet, {"VOLUME": [">", 1]}, alert_type="SHARE_OF_VOICE")
