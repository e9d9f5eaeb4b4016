"""Each fleet starts with sensible rules; share-of-voice overflows open an alert of their own kind."""

import importlib
from datetime import UTC, datetime, timedelta

from django.apps import apps as django_apps
from django.utils import timezone

from apps.accounts.models import Fleet
from apps.alerts.builtin import builtin_rules_create
from apps.alerts.models import Alert, AlertRule, AlertType

from .conftest import HOST


def test_a_new_fleet_gets_the_built_in_rules(db):
    fleet = Fleet.objects.create(name="Fresh", heartbeat_interval=120)
    rules = {rule.builtin: rule for rule in AlertRule.objects.filter(fleet=fleet)}
    assert set(rules) == {"player_silent", "storage_low", "commands_failing", "share_of_voice_overflow"}
    assert rules["player_silent"].conditions == {"ALIVE_AT": [">", 180_000], "SCREEN_OPEN": True}  # 1.5 x 120 s
    assert rules["storage_low"].conditions == {"STORAGE_STATUS": ["<", 10]}
    assert rules["commands_failing"].conditions == {"FAILED_ACTIONS": [">=", 3, 3_600_000]}
    assert rules["share_of_voice_overflow"].alert_type == AlertType.SHARE_OF_VOICE
    assert builtin_rules_create(fleet=fleet) == 0  # idempotent


def test_the_data_migration_gives_existing_fleets_their_rules(fleet):
    AlertRule.objects.filter(fleet=fleet).delete()
    migration = importlib.import_module("apps.alerts.migrations.0002_builtin_rules")
    migration.create_builtin_rules(django_apps, None)
    migration.create_builtin_rules(django_apps, None)
    assert AlertRule.objects.filter(fleet=fleet).exclude(builtin="").count() == 4


def test_built_in_rules_are_the_fleet_admins_to_edit_or_pause(api, fleet):
    rule = AlertRule.objects.get(fleet=fleet, builtin="storage_low")
    response = api.patch(f"{HOST}/alert_rules/{rule.pk}/", {"conditions": {"STORAGE_STATUS": ["<", 5]}}, format="json")
    assert response.status_code == 200 and response.json()["builtin"] == "storage_low"
    assert api.post(f"{HOST}/alert_rules/{rule.pk}/pause/").json()["paused"] is True


def test_built_in_silent_player_rule_waits_for_open_hours(fleet, make_screen, make_device, evaluate):
    week = {str(day): [["08:00", "20:00"]] for day in range(1, 8)}
    screen = make_screen(fleet, "Shop", timezone="Europe/Paris", opening_hours=week)
    night = datetime(2026, 1, 7, 23, 0, tzinfo=UTC)  # midnight in Paris: closed
    device = make_device(screen, last_seen_at=night - timedelta(hours=2))
    rule = AlertRule.objects.get(fleet=fleet, builtin="player_silent")
    assert evaluate(rule, now=night) is None
    morning = night + timedelta(hours=9)  # 09:00 in Paris
    alert = evaluate(rule, now=morning)
    assert list(alert.devices.all()) == [device]


def test_built_in_storage_and_failures_rules(fleet, screen, make_device, evaluate):
    from apps.devices.models import CommandType, DeviceCommand

    full = make_device(screen, storage_total_mb=32000, storage_free_mb=3000)
    make_device(screen, storage_total_mb=32000, storage_free_mb=16000)
    assert list(evaluate(AlertRule.objects.get(fleet=fleet, builtin="storage_low")).devices.all()) == [full]
    for minutes in (5, 20, 50):
        DeviceCommand.objects.create(
            device=full, type=CommandType.REBOOT, failed_at=timezone.now() - timedelta(minutes=minutes)
        )
    assert list(evaluate(AlertRule.objects.get(fleet=fleet, builtin="commands_failing")).devices.all()) == [full]


def test_share_of_voice_overflows_open_their_own_alert(fleet, screen, evaluate):
    from apps.ads.models import Ad, QuotaOverflow

    rule = AlertRule.objects.get(fleet=fleet, builtin="share_of_voice_overflow")
    assert evaluate(rule) is None
    ad = Ad.objects.create(fleet=fleet, name="Summer sale", campaign_startdate=timezone.now().date())
    # What the hourly share-of-voice audit records when allocations shrink.
    QuotaOverflow.objects.create(ad=ad, screen=screen, date=timezone.now().date(), duration=45, quota=30)
    alert = evaluate(rule)
    assert alert.rule.alert_type == AlertType.SHARE_OF_VOICE
    assert alert.details["overflows"][0]["ad_name"] == "Summer sale"
    assert alert.details["overflows"][0]["duration"] == 45
    assert evaluate(rule).pk == alert.pk
    QuotaOverflow.objects.all().delete()  # the next audit found nothing
    assert evaluate(rule) is None
    alert.refresh_from_db()
    assert alert.resolved_at is not None
    assert Alert.objects.filter(rule=rule).count() == 1
