"""Telemetry history: kept compactly, readable by type and time range, written in bulk."""

from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from apps.devices.models import CommandType, DeviceCommand, TelemetrySample
from apps.devices.telemetry import TelemetryReport, telemetry_record

HOST = "http://testserver/api/management/v2"
BEAT = {"volume": 40, "brightness": 80, "temperature": 41.5, "wifi_signal": -60, "storage_total_mb": 1000,
        "storage_free_mb": 400, "app_version": "2.0.0", "ip_address": "10.0.0.7", "uptime_seconds": 100}  # fmt: skip


def beat(client, body):
    """A heartbeat, then the bulk flush of buffered heartbeats (the lean path buffers them in Redis)."""
    from apps.devices.services import devices_flush_heartbeats

    response = client.post("/api/device/heartbeat", body, format="json")
    assert response.status_code == 200
    devices_flush_heartbeats()


def _rows(device_id, kind=None):
    rows = TelemetrySample.objects.filter(device_id=device_id)
    return rows.filter(type=kind) if kind else rows


def test_heartbeats_write_history_only_when_values_change(paired):
    client = paired()
    device_id = client.registration["device_id"]
    beat(client, BEAT)
    first = _rows(device_id).count()
    assert first == 8  # one row per type reported (storage is one)
    for _ in range(3):  # unchanged values (uptime grows as time passes): nothing new
        beat(client, BEAT)
    assert _rows(device_id).count() == first
    beat(client, {**BEAT, "volume": 70})
    assert list(_rows(device_id, "VOLUME").values_list("value", flat=True)) == [70, 40]
    assert _rows(device_id).count() == first + 1
    assert _rows(device_id, "VOLUME").filter(is_latest=True).get().value == 70


def test_an_unchanged_value_is_written_again_after_the_fleets_interval(fleet, paired):
    client = paired()
    device_id = client.registration["device_id"]
    now = timezone.now()
    report = {"volume": 40}
    telemetry_record(reports=[TelemetryReport(device_id=device_id, at=now, values=report)])
    telemetry_record(reports=[TelemetryReport(device_id=device_id, at=now + timedelta(seconds=3599), values=report)])
    assert _rows(device_id, "VOLUME").count() == 1
    telemetry_record(reports=[TelemetryReport(device_id=device_id, at=now + timedelta(seconds=3600), values=report)])
    assert _rows(device_id, "VOLUME").count() == 2
    fleet.telemetry_history_interval = 600
    fleet.save()
    telemetry_record(reports=[TelemetryReport(device_id=device_id, at=now + timedelta(seconds=4200), values=report)])
    assert _rows(device_id, "VOLUME").count() == 3


def test_uptime_is_history_only_at_a_reboot(paired):
    client = paired()
    device_id = client.registration["device_id"]
    now = timezone.now()
    for offset, uptime in [(0, 1000), (60, 1060), (120, 1120), (180, 30)]:
        telemetry_record(reports=[TelemetryReport(device_id=device_id, at=now + timedelta(seconds=offset),
                                                  values={"uptime_seconds": uptime})])  # fmt: skip
    assert list(_rows(device_id, "UPTIME").order_by("created_at").values_list("value", flat=True)) == [1000, 30]


def test_history_survives_a_cold_cache(paired):
    from tests.conftest import cache_clear_own

    client = paired()
    device_id = client.registration["device_id"]
    beat(client, BEAT)
    cache_clear_own()
    beat(client, BEAT)  # read back from the database: still unchanged
    assert _rows(device_id, "VOLUME").count() == 1


@pytest.mark.parametrize("size", [10, 80])  # 160 rows: one INSERT on SQLite too (999 parameters)
def test_a_batch_is_written_with_the_same_queries_whatever_its_size(
    fleet, make_screen, size, django_assert_num_queries
):
    from apps.devices.models import Device, token_hash

    screen = make_screen(fleet, "Wall")
    Device.objects.bulk_create(
        Device(uuid=f"d{i}", token_hash=token_hash(f"d{i}"), fleet=fleet, screen=screen) for i in range(size)
    )
    ids = list(Device.objects.filter(fleet=fleet).values_list("pk", flat=True))
    now = timezone.now()
    first = [TelemetryReport(device_id=pk, at=now, values={"volume": 10, "temperature": 30.0}) for pk in ids]
    # PostgreSQL: one statement compares with the latest rows and writes (telemetry.history_sql). Elsewhere:
    # the latest rows and the fleets' intervals (2), then the writes (savepoint, the rows they replace, insert,
    # release: nothing to replace yet).
    postgresql = connection.vendor == "postgresql"
    with django_assert_num_queries(1 if postgresql else 6):
        assert telemetry_record(reports=first) == 2 * size
    later = now + timedelta(seconds=60)
    changed = [TelemetryReport(device_id=pk, at=later, values={"volume": 11, "temperature": 30.0}) for pk in ids]
    with django_assert_num_queries(1 if postgresql else 7):  # the same, with the update of the replaced
        assert telemetry_record(reports=changed) == size
    with django_assert_num_queries(1 if postgresql else 2):  # nothing changed: nothing written
        assert telemetry_record(reports=changed) == 0


def test_latest_telemetry_and_history_api(api, paired):
    client = paired()
    device_id = client.registration["device_id"]
    beat(client, BEAT)
    for volume in (50, 60):
        beat(client, {**BEAT, "volume": volume})
    latest = api.get(f"{HOST}/devices/{device_id}/telemetry/").json()
    assert latest["telemetries"]["VOLUME"]["value"] == 60
    assert latest["telemetries"]["STORAGE"]["value"] == {"total_mb": 1000, "free_mb": 400}
    history = api.get(f"{HOST}/devices/{device_id}/telemetry/volume/", {"limit": 2}).json()
    assert history["count"] == 3
    assert [item["value"] for item in history["results"]] == [60, 50]
    middle = TelemetrySample.objects.get(device_id=device_id, type="VOLUME", value=50).created_at
    since = api.get(f"{HOST}/devices/{device_id}/telemetry/VOLUME/", {"since": middle.isoformat()}).json()
    assert [item["value"] for item in since["results"]] == [60, 50]
    until = api.get(f"{HOST}/devices/{device_id}/telemetry/VOLUME/", {"until": middle.isoformat()}).json()
    assert [item["value"] for item in until["results"]] == [40]


def test_telemetry_api_refuses_bad_input_and_other_fleets(api, paired, other_fleet, client_for, make_member):
    client = paired()
    device_id = client.registration["device_id"]
    assert api.get(f"{HOST}/devices/{device_id}/telemetry/CPU/").status_code == 404
    response = api.get(f"{HOST}/devices/{device_id}/telemetry/VOLUME/", {"since": "yesterday"})
    assert response.status_code == 400 and "since" in response.json()
    now = timezone.now().isoformat()
    response = api.get(f"{HOST}/devices/{device_id}/telemetry/VOLUME/", {"since": now, "until": now})
    assert response.status_code == 400 and "until" in response.json()
    outsider = client_for(make_member(other_fleet))
    assert outsider.get(f"{HOST}/devices/{device_id}/telemetry/").status_code == 404
    assert outsider.get(f"{HOST}/devices/{device_id}/telemetry/VOLUME/").status_code == 404


def test_failed_commands_and_screenshots_are_countable_over_a_range(api, paired):
    client = paired()
    device_id = client.registration["device_id"]
    now = timezone.now()
    for age, kind, column in [(10, CommandType.REBOOT, "failed_at"), (20, CommandType.REFRESH, "failed_at"),
                              (7200, CommandType.REBOOT, "failed_at"), (30, CommandType.SCREENSHOT, "succeeded_at"),
                              (40, CommandType.SCREENSHOT, "failed_at")]:  # fmt: skip
        DeviceCommand.objects.create(device_id=device_id, type=kind, **{column: now - timedelta(seconds=age)})
    since = (now - timedelta(hours=1)).isoformat()
    body = api.get(f"{HOST}/devices/{device_id}/command_counts/", {"since": since}).json()
    assert (body["failed_commands"], body["screenshots"]) == (3, 1)
    body = api.get(f"{HOST}/devices/{device_id}/command_counts/").json()  # default: the last day
    assert (body["failed_commands"], body["screenshots"]) == (4, 1)


# Heartbeats of a few devices over two hours, in calls of one or two reports per device: changes, repeats,
# the fleet's interval, reboots, storage in parts, values left out (None, ""), a float equal to an integer.
STEPS = [
    (0, [{"volume": 40, "temperature": 41.5, "uptime_seconds": 1000, "storage_total_mb": 1000,
          "storage_free_mb": 400, "app_version": "2.0.0", "ip_address": "10.0.0.7"}]),
    (60, [{"volume": 40, "temperature": 41.5, "uptime_seconds": 1060, "app_version": "", "ip_address": None}]),
    (120, [{"volume": 41, "temperature": 41.5, "uptime_seconds": 1119, "storage_total_mb": 1000,
            "storage_free_mb": None, "storage_used_mb": 600}, {"volume": 40.0, "uptime_seconds": 30}]),
    (700, [{"volume": 40, "brightness": 80, "uptime_seconds": 610, "wifi_signal": -60}]),
    (3599, [{"volume": 40, "uptime_seconds": 3480, "os_version": "11", "wifi_signal": -61}]),
    (3600, [{"volume": 40, "uptime_seconds": 100, "temperature": 41.5}]),
    (7300, [{"volume": 40, "temperature": 41.5, "brightness": 80}, {"volume": 42, "brightness": 80}]),
]  # fmt: skip


@pytest.mark.skipif(connection.vendor != "postgresql", reason="compares PostgreSQL's statement with Python's")
def test_postgresql_keeps_the_same_history_as_the_python_rules(fleet, other_fleet, make_screen):
    """The flush decides in SQL (telemetry.history_sql) what the portable path decides in Python: the same
    reports give the same rows, values and latest rows on both."""
    from apps.devices.models import Device
    from apps.devices.telemetry import _record_portable

    other_fleet.telemetry_history_interval = 600
    other_fleet.save()
    owners = [fleet, other_fleet, None]
    devices = Device.objects.bulk_create(
        Device(uuid=f"t{i}", token_hash=f"{i:064x}", fleet=owners[i % 3]) for i in range(6)
    )
    sql, python = devices[:3], devices[3:]
    start = timezone.now()
    for offset, bodies in STEPS:
        for device_set, record in ((sql, telemetry_record), (python, None)):
            reports = [
                TelemetryReport(device_id=device.pk, at=start + timedelta(seconds=offset + number * 20), values=body)
                for device in device_set
                for number, body in enumerate(bodies)
            ]
            if record is None:
                _record_portable(sorted(reports, key=lambda report: report.at), {})
            else:
                record(reports=reports)

    def history(device):
        rows = _rows(device.pk).order_by("type", "created_at")
        return list(rows.values_list("type", "value", "created_at", "is_latest"))

    for kept, expected in zip(sql, python, strict=True):
        assert history(kept) == history(expected)
    assert len(history(sql[0])) > len(STEPS)  # a history, not one row per type
    storage = [value for kind, value, _, _ in history(sql[0]) if kind == "STORAGE"]
    assert storage == [{"total_mb": 1000, "free_mb": 400}, {"total_mb": 1000, "used_mb": 600}]
    assert not _rows(sql[0].pk, "APPLICATION_VERSION").filter(value="").exists()
