"""Benchmark of alert evaluation: one pass over 20 rules on a fleet of 10,000 players with telemetry history
and command logs, against the raw SQL of the same conditions, run in the same process on the same data.

The pass is `alert_rules_evaluate_due` as the beat task runs it (the ORM queries, the semver step, the alert
bookkeeping); the baseline is, per rule, two hand-written statements (filtered count, matching ids) sent from
a cursor: what the database alone needs to answer the same questions. Needs PostgreSQL (the baseline
compares versions with integer arrays):

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/signage .venv/bin/python bench/alerts.py [--players 10000]
"""

import argparse
import os
import statistics
import sys
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "signage.settings")

import django

django.setup()

from django.db import connection  # noqa: E402
from django.test.utils import CaptureQueriesContext, setup_test_environment  # noqa: E402
from django.utils import timezone  # noqa: E402

VERSIONS = ["1.9.3", "2.0.0", "2.4.1", "2.10.0", "3.0.0", "3.1.2", "3.12.0"]
MODELS = ["BrightSign XT", "Xiaomi Mi Box S", "Samsung QB55", "LG webOS 6"]

# (name, filter, conditions, threshold %): every condition type the evaluation runs in SQL.
RULES = [
    ("silent 90 s", {}, {"ALIVE_AT": [">", 90_000]}, 0),
    ("silent 1 h", {}, {"ALIVE_AT": [">", 3_600_000]}, 5),
    ("seen recently", {}, {"ALIVE_AT": ["<", 60_000]}, 99),
    ("storage < 10 %", {}, {"STORAGE_STATUS": ["<", 10]}, 0),
    ("storage <= 25 %", {"model": "BrightSign"}, {"STORAGE_STATUS": ["<=", 25]}, 10),
    ("hot", {}, {"TEMPERATURE": [">", 70]}, 0),
    ("cold", {}, {"TEMPERATURE": ["<", 5]}, 0),
    ("muted", {}, {"VOLUME": ["=", 0]}, 0),
    ("loud", {"name": "player 1"}, {"VOLUME": [">=", 90]}, 0),
    ("dim", {}, {"BRIGHTNESS": ["<", 20]}, 0),
    ("not full brightness", {}, {"BRIGHTNESS": ["!=", 100]}, 50),
    ("old app", {}, {"APPLICATION_VERSION": ["<", "2.10.0"]}, 0),
    ("old app on new models", {"application_version": [">=", "2.0.0"]}, {"APPLICATION_VERSION": ["<", "3.1.0"]}, 20),
    ("failing", {}, {"FAILED_ACTIONS": [">=", 3, 3_600_000]}, 0),
    ("never failing", {}, {"FAILED_ACTIONS": ["=", 0, 86_400_000]}, 50),
    ("no screenshot", {}, {"SCREENSHOT": ["<", 1, 3_600_000]}, 0),
    ("locked", {}, {"REMOTE_CONTROL": True}, 0),
    ("hot and loud", {}, {"TEMPERATURE": [">", 60], "VOLUME": [">", 50]}, 0),
    ("silent with low storage", {}, {"ALIVE_AT": [">", 90_000], "STORAGE_STATUS": ["<", 20]}, 0),
    ("hot, old and failing", {"model": "Samsung"},
     {"TEMPERATURE": [">", 50], "APPLICATION_VERSION": ["<", "3.0.0"], "FAILED_ACTIONS": [">", 0, 3_600_000]}, 0),
]  # fmt: skip


def fill(players: int):
    import random

    from apps.accounts.models import Fleet
    from apps.alerts.models import AlertRule
    from apps.alerts.services import alert_rule_create
    from apps.devices.models import CommandType, Device, DeviceCommand, TelemetrySample, token_hash
    from apps.screens.models import Screen

    rng = random.Random(7)
    now = timezone.now()
    fleet = Fleet.objects.create(name="Bench fleet", heartbeat_interval=60)
    AlertRule.objects.filter(fleet=fleet).update(archived_at=now)  # the 20 rules below only
    screens = Screen.objects.bulk_create(
        Screen(fleet=fleet, name=f"S{i:05}", slug=f"bench-{i:05}", timezone="Europe/Paris") for i in range(500)
    )
    devices = Device.objects.bulk_create(
        Device(
            uuid=f"bench-{i:06}",
            name=f"player {i}",
            token_hash=token_hash(f"bench-{i}"),
            fleet=fleet,
            screen=screens[i % len(screens)],
            model=MODELS[i % len(MODELS)],
            app_version=rng.choice(VERSIONS),
            last_seen_at=now - timedelta(seconds=rng.choice([10, 30, 50, 120, 4000])),
            online=True,
            storage_total_mb=32000,
            storage_free_mb=rng.randint(0, 32000),
            volume=rng.randint(0, 100),
            brightness=rng.choice([10, 50, 100]),
            temperature=rng.uniform(0, 90),
            is_locked=rng.random() < 0.05,
        )
        for i in range(players)
    )
    history = []
    for device in devices:  # a day of compact history: a few changes per type
        for hours in (20, 8, 1):
            at = now - timedelta(hours=hours)
            history += [
                TelemetrySample(
                    device=device, type="VOLUME", value=rng.randint(0, 100), created_at=at, is_latest=False
                ),
                TelemetrySample(
                    device=device, type="TEMPERATURE", value=rng.uniform(0, 90), created_at=at, is_latest=hours == 1
                ),
                TelemetrySample(
                    device=device,
                    type="STORAGE",
                    value={"total_mb": 32000, "free_mb": 9000},
                    created_at=at,
                    is_latest=hours == 1,
                ),
            ]
    TelemetrySample.objects.bulk_create(history, batch_size=5000)
    commands = []
    for device in devices:
        for _ in range(rng.choice([0, 0, 1, 3])):
            age = timedelta(minutes=rng.randint(1, 180))
            commands.append(DeviceCommand(device=device, type=CommandType.REBOOT, failed_at=now - age))
        if rng.random() < 0.5:
            commands.append(
                DeviceCommand(device=device, type=CommandType.SCREENSHOT, succeeded_at=now - timedelta(minutes=30))
            )
    DeviceCommand.objects.bulk_create(commands, batch_size=5000)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    rules = [
        alert_rule_create(
            fleet=fleet,
            name=name,
            filter=rule_filter,
            conditions=conditions,
            periodicity={"interval": 60},
            threshold={"type": "percentage", "percentage": threshold},
        )
        for name, rule_filter, conditions, threshold in RULES
    ]
    return fleet, rules, len(history), len(commands)


# --- the baseline: the same conditions, written by hand ------------------------------------------------------


def _version(text: str) -> str:
    return "ARRAY[" + ",".join(str(int(part)) for part in text.split(".")) + "]::int[]"


VERSION_SQL = "string_to_array(split_part(d.app_version, '-', 1), '.')::int[]"
SQL_OPERATORS = {"=": "=", "!=": "<>", ">": ">", "<": "<", ">=": ">=", "<=": "<="}


def raw_sql(rule, now) -> tuple[str, str, list, list]:
    """(count statement, matching-ids statement, their parameters) for a rule, in plain PostgreSQL."""
    where, params = ["d.fleet_id = %s", "d.screen_id IS NOT NULL"], [rule.fleet_id]
    rule_filter = rule.filter
    if "model" in rule_filter:
        where.append("d.model ILIKE %s")
        params.append(f"%{rule_filter['model']}%")
    if "name" in rule_filter:
        where.append("d.name ILIKE %s")
        params.append(f"%{rule_filter['name']}%")
    if "application_version" in rule_filter:
        operator, version = rule_filter["application_version"]
        where.append(f"{VERSION_SQL} {SQL_OPERATORS[operator]} {_version(version)}")
    base = " AND ".join(where)
    matching, extra = [], []
    for name, value in rule.conditions.items():
        if name == "ALIVE_AT":
            edge = now - timedelta(milliseconds=value[1])
            if value[0] == ">":
                matching.append("(d.last_seen_at < %s OR d.last_seen_at IS NULL)")
            else:
                matching.append("d.last_seen_at >= %s")
            extra.append(edge)
        elif name == "STORAGE_STATUS":
            matching.append(
                "COALESCE(d.storage_free_mb, d.storage_total_mb - d.storage_used_mb) * 100.0 "
                f"/ NULLIF(d.storage_total_mb, 0) {SQL_OPERATORS[value[0]]} %s"
            )
            extra.append(value[1])
        elif name in ("VOLUME", "BRIGHTNESS", "TEMPERATURE"):
            matching.append(f"d.{name.lower()} {SQL_OPERATORS[value[0]]} %s")
            extra.append(value[1])
        elif name == "APPLICATION_VERSION":
            matching.append(f"{VERSION_SQL} {SQL_OPERATORS[value[0]]} {_version(value[1])}")
        elif name in ("FAILED_ACTIONS", "SCREENSHOT"):
            column, kind = (
                ("failed_at", "") if name == "FAILED_ACTIONS" else ("succeeded_at", "AND c.type = 'screenshot'")
            )
            matching.append(
                f"(SELECT count(*) FROM devices_devicecommand c WHERE c.device_id = d.id AND c.{column} >= %s {kind}) "
                f"{SQL_OPERATORS[value[0]]} %s"
            )
            extra += [now - timedelta(milliseconds=value[2]), value[1]]
        elif name == "REMOTE_CONTROL":
            matching.append("d.is_locked = %s")
            extra.append(value)
    count = f"SELECT count(*) FROM devices_device d WHERE {base}"
    ids = f"SELECT d.id FROM devices_device d WHERE {base} AND {' AND '.join(matching)} ORDER BY d.id"
    return count, ids, params, params + extra


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--players", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=5)
    options = parser.parse_args()

    from apps.alerts.evaluation import rule_outcome
    from apps.alerts.models import Alert, AlertRule
    from apps.alerts.services import alert_rules_evaluate_due

    if connection.vendor != "postgresql":
        sys.exit("bench/alerts.py needs PostgreSQL (DATABASE_URL=postgres://...)")
    setup_test_environment()
    old_name = connection.settings_dict["NAME"]
    connection.creation.create_test_db(verbosity=0, autoclobber=True, keepdb=False)
    try:
        started = time.perf_counter()
        fleet, rules, history, commands = fill(options.players)
        print(f"filled in {time.perf_counter() - started:.1f} s: {options.players} players, {history} telemetry "
              f"rows, {commands} commands, {len(rules)} rules")  # fmt: skip

        def evaluation_pass():
            AlertRule.objects.filter(fleet=fleet).update(last_evaluated_at=None)
            with CaptureQueriesContext(connection) as captured:
                began = time.perf_counter()
                evaluated = alert_rules_evaluate_due()
                elapsed = time.perf_counter() - began
            assert len(evaluated) == len(rules), evaluated
            return elapsed, len(captured)

        opening, opening_queries = evaluation_pass()  # opens the alerts (their devices, their notifications)
        open_alerts = Alert.objects.filter(fleet=fleet, resolved_at__isnull=True).count()

        def baseline_pass():
            now = timezone.now()
            answers = {}
            began = time.perf_counter()
            with connection.cursor() as cursor:
                for rule in rules:
                    count_sql, ids_sql, count_params, ids_params = raw_sql(rule, now)
                    cursor.execute(count_sql, count_params)
                    filtered = cursor.fetchone()[0]
                    cursor.execute(ids_sql, ids_params)
                    answers[rule.pk] = (filtered, [row[0] for row in cursor.fetchall()])
            return time.perf_counter() - began, answers

        # The two agree on every rule (same data, same instant to the second).
        _, answers = baseline_pass()
        now = timezone.now()
        for rule in rules:
            outcome = rule_outcome(rule, now)
            assert (outcome.filtered, outcome.matched) == answers[rule.pk], rule.name

        steady, raw, queries = [], [], 0
        for _ in range(options.rounds):  # interleaved, so both see the same machine load
            elapsed, queries = evaluation_pass()
            steady.append(elapsed)
            raw.append(baseline_pass()[0])
        steady_ms, raw_ms = statistics.median(steady) * 1000, statistics.median(raw) * 1000
        print(f"\nAlert evaluation, {options.players} players, {len(rules)} rules, {open_alerts} alerts open, "
              f"PostgreSQL, median of {options.rounds} rounds\n")  # fmt: skip
        print(f"{'pass':44} {'ms':>9} {'queries':>8} {'vs raw SQL':>11}")
        print(f"{'evaluation, opening the alerts (first pass)':44} {opening * 1000:9.1f} {opening_queries:8d} "
              f"{opening * 1000 / raw_ms:10.2f}x")  # fmt: skip
        print(f"{'evaluation, steady (alerts kept up to date)':44} {steady_ms:9.1f} {queries:8d} "
              f"{steady_ms / raw_ms:10.2f}x")  # fmt: skip
        print(f"{'raw SQL of the same conditions':44} {raw_ms:9.1f} {2 * len(rules):8d} {1:10.2f}x")
    finally:
        connection.creation.destroy_test_db(old_name, verbosity=0)


if __name__ == "__main__":
    main()
