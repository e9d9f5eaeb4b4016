"""Evaluation is set-based: its queries do not grow with devices; two runs at once open one alert."""

import threading

import pytest
from django.db import IntegrityError, connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from apps.alerts.models import Alert, AlertDevice, AlertRule
from apps.alerts.services import alert_rule_evaluate
from apps.devices.models import CommandType, Device, DeviceCommand

from .conftest import ago

EVERY_CONDITION = {
    "ALIVE_AT": ["<", 3_600_000],
    "STORAGE_STATUS": ["<", 50],
    "VOLUME": [">=", 10],
    "BRIGHTNESS": ["<=", 90],
    "TEMPERATURE": [">", 60],
    "APPLICATION_VERSION": ["<", "3.0.0"],
    "FAILED_ACTIONS": [">=", 0, 3_600_000],
    "SCREENSHOT": ["<", 5, 3_600_000],
    "REMOTE_CONTROL": False,
    "SCREEN_OPEN": True,
}


def _fleet_of(screen, make_devices, size):
    """`size` players, a tenth of them matching every condition, with a few commands each."""
    hot = size // 10
    common = {
        "storage_total_mb": 1000,
        "storage_free_mb": 100,
        "volume": 50,
        "brightness": 50,
        "last_seen_at": ago(minutes=1),
    }
    make_devices(screen, hot, temperature=80, app_version="2.5.0", **common)
    make_devices(screen, size - hot, temperature=30, app_version="3.1.0", **common)
    devices = list(Device.objects.filter(fleet=screen.fleet).values_list("pk", flat=True)[:50])
    DeviceCommand.objects.bulk_create(
        DeviceCommand(device_id=pk, type=CommandType.REBOOT, failed_at=timezone.now()) for pk in devices
    )
    return hot


def _queries(rule_id):
    AlertRule.objects.filter(pk=rule_id).update(last_evaluated_at=None)
    with CaptureQueriesContext(connection) as captured:
        alert = alert_rule_evaluate(rule_id=rule_id)
    return len(captured), alert


@pytest.mark.parametrize("size", [100, 1000])
def test_one_evaluation_costs_the_same_queries_at_100_and_1000_players(screen, make_devices, make_rule, size):
    hot = _fleet_of(screen, make_devices, size)
    rule = make_rule(screen.fleet, EVERY_CONDITION, filter={"model": "", "application_version": [">", "1.0.0"]},
                     action={"emails": ["ops@example.com"]})  # fmt: skip
    opening, alert = _queries(rule.pk)
    assert alert.devices.count() == hot
    steady, _ = _queries(rule.pk)
    Device.objects.filter(temperature=80).update(temperature=20)
    resolving, alert = _queries(rule.pk)
    assert alert is None
    # The same numbers at both sizes (pinned): opening with its notifications, a steady run, a resolution.
    assert (opening, steady, resolving) == (16, 10, 14)


@pytest.mark.django_db(transaction=True)
def test_two_runs_at_once_open_a_single_alert(fleet, screen, make_devices, make_rule):
    if connection.vendor != "postgresql":
        pytest.skip("row locks need PostgreSQL (CI runs this on PostgreSQL)")
    make_devices(screen, 30, temperature=90)
    rule = make_rule(fleet, {"TEMPERATURE": [">", 70]})
    barrier, results = threading.Barrier(2), []

    def run():
        try:
            barrier.wait()
            results.append(alert_rule_evaluate(rule_id=rule.pk))
        finally:
            connection.close()

    for _ in range(3):  # a few rounds: the second run lands before, during or after the first
        AlertRule.objects.filter(pk=rule.pk).update(last_evaluated_at=None)
        threads = [threading.Thread(target=run) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=30)
    assert len(results) == 6
    assert Alert.objects.filter(rule=rule).count() == 1
    assert AlertDevice.objects.filter(alert__rule=rule).count() == 30


def test_the_database_refuses_a_second_open_alert(fleet, make_rule):
    rule = make_rule(fleet, {"TEMPERATURE": [">", 70]})
    Alert.objects.create(fleet=fleet, rule=rule, name="first", latest_change_at=timezone.now())
    with pytest.raises(IntegrityError), transaction.atomic():
        Alert.objects.create(fleet=fleet, rule=rule, name="second", latest_change_at=timezone.now())
    Alert.objects.filter(rule=rule).update(resolved_at=timezone.now())
    Alert.objects.create(fleet=fleet, rule=rule, name="reopened", latest_change_at=timezone.now())


@pytest.mark.parametrize("size", [100, 1000])
def test_a_policy_violation_rule_costs_the_same_queries_at_100_and_1000_players(screen, make_devices, make_rule, size):
    """POLICY_VIOLATION_* conditions: the players a policy governs, then their policies' items, two queries
    for all of a rule's policy conditions whatever the number of players."""
    from apps.devices.policies import services as policies

    hot = size // 10
    make_devices(screen, hot, volume=90, temperature=30)
    make_devices(screen, size - hot, volume=50, temperature=30)
    quiet = policies.policy_create(fleet=screen.fleet, name="Quiet", items=[
        {"type": "VOLUME", "value": 50}, {"type": "TEMPERATURE", "value": {"max": 70}}])  # fmt: skip
    policies.policy_assign(policy=quiet, devices=Device.objects.filter(fleet=screen.fleet))
    rule = make_rule(screen.fleet, {"POLICY_VIOLATION": True, "POLICY_VIOLATION_TEMPERATURE": False})
    opening, alert = _queries(rule.pk)
    assert alert.devices.count() == hot
    steady, _ = _queries(rule.pk)
    Device.objects.filter(volume=90).update(volume=50)
    resolving, alert = _queries(rule.pk)
    assert alert is None
    # The same numbers at both sizes (pinned): opening with its notification, a steady run, a resolution.
    assert (opening, steady, resolving) == (13, 10, 11)
