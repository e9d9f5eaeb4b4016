import itertools
from datetime import timedelta

import pytest
from django.utils import timezone

from apps.alerts import services
from apps.alerts.models import AlertRule
from apps.devices.models import Device, token_hash
from tests.devices.factories import DeviceFactory

HOST = "http://testserver/api/management/v2"
_numbers = itertools.count(1)


@pytest.fixture
def screen(make_screen, fleet):
    return make_screen(fleet, "Lobby", timezone="Europe/Paris")


@pytest.fixture
def make_device(db):
    """A paired player with the given telemetry, written straight to the table (no protocol round trip)."""

    def make(screen, **values):
        number = next(_numbers)
        values.setdefault("last_seen_at", timezone.now())
        values.setdefault("name", f"player {number}")
        return DeviceFactory(
            uuid=f"device-{number}", raw_token=f"secret-{number}", screen=screen, online=True, **values
        )

    return make


@pytest.fixture
def make_devices(db):
    """`count` players on `screen` in one INSERT."""

    def make(screen, count, **values):
        start = next(_numbers)
        for _ in range(count):
            next(_numbers)
        values.setdefault("last_seen_at", timezone.now())
        Device.objects.bulk_create(
            Device(
                uuid=f"bulk-{start}-{index}",
                token_hash=token_hash(f"bulk-{start}-{index}"),
                fleet=screen.fleet,
                screen=screen,
                name=f"bulk {index}",
                **values,
            )
            for index in range(count)
        )

    return make


@pytest.fixture
def make_rule(db):
    def make(fleet, conditions, **values):
        values.setdefault("name", "Rule")
        return services.alert_rule_create(fleet=fleet, conditions=conditions, **values)

    return make


@pytest.fixture
def evaluate():
    """Evaluate a rule now (or at `now`), as the beat task does, whatever its interval."""

    def run(rule, now=None):
        AlertRule.objects.filter(pk=rule.pk).update(last_evaluated_at=None)
        return services.alert_rule_evaluate(rule_id=rule.pk, now=now)

    return run


def ago(**delta):
    return timezone.now() - timedelta(**delta)
