"""Which devices a rule watches and which of them match it now: set-based SQL, a bounded number of queries
per rule whatever the number of devices (one condition is one clause of one query, never a loop)."""

import zoneinfo
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.db.models import Count, ExpressionWrapper, F, FloatField, IntegerField, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce, NullIf

from apps.devices.models import Device, DeviceCommand, on_screens_of
from apps.devices.policies.status import VIOLATION_ITEMS, devices_violations
from apps.screens.hours import is_open

from .models import AlertRule
from .rules import POLICY_VIOLATION_CONDITIONS, parse_version, semver_matches

LOOKUPS = {">": "gt", "<": "lt", ">=": "gte", "<=": "lte", "=": "exact"}
COLUMNS = {"VOLUME": "volume", "BRIGHTNESS": "brightness", "TEMPERATURE": "temperature"}


@dataclass
class Outcome:
    filtered: int
    matched: list[int] = field(default_factory=list)  # device ids, snoozed ones left out

    def crosses(self, percentage: float) -> bool:
        """matched / filtered exceeds the threshold (nothing filtered: nothing to alert about)."""
        return self.filtered > 0 and len(self.matched) * 100 > percentage * self.filtered


def compare(column: str, operator: str, value) -> Q:
    """`column <operator> value`; a device that reported nothing (NULL) never matches."""
    if operator == "!=":
        return ~Q(**{column: value}) & Q(**{f"{column}__isnull": False})
    return Q(**{f"{column}__{LOOKUPS[operator]}": value})


def _versions(devices: QuerySet, operator: str, wanted: str) -> list[str]:
    """The app versions among `devices` that satisfy the semver comparison: one query for the distinct
    versions, compared here (SQL cannot order semver)."""
    target = parse_version(wanted)
    seen = devices.order_by().values_list("app_version", flat=True).distinct()
    return [text for text in seen if (parsed := parse_version(text)) and semver_matches(parsed, operator, target)]


def filtered_devices(rule: AlertRule) -> QuerySet[Device]:
    """The paired devices of the rule's fleet that its filter selects: the base of the threshold."""
    devices = Device.objects.filter(fleet_id=rule.fleet_id, screen__isnull=False)
    rule_filter = rule.filter or {}
    if "model" in rule_filter:
        devices = devices.filter(model__icontains=rule_filter["model"])
    if "name" in rule_filter:
        devices = devices.filter(name__icontains=rule_filter["name"])
    if "screens" in rule_filter:
        devices = devices.filter(screen_id__in=rule_filter["screens"])
    devices = on_screens_of(devices, places=rule_filter.get("places"), screen_groups=rule_filter.get("screen_groups"))
    if "application_version" in rule_filter:
        operator, wanted = rule_filter["application_version"]
        devices = devices.filter(app_version__in=_versions(devices, operator, wanted))
    return devices


def _occurrences(kind: str, since: datetime) -> Subquery:
    commands = DeviceCommand.objects.filter(device_id=OuterRef("pk"))
    if kind == "FAILED_ACTIONS":
        commands = commands.filter(failed_at__gte=since)
    else:
        commands = commands.filter(type="screenshot", succeeded_at__gte=since)
    counted = commands.order_by().values("device_id").annotate(n=Count("pk")).values("n")
    return Coalesce(Subquery(counted, output_field=IntegerField()), 0)


def matching_devices(rule: AlertRule, devices: QuerySet[Device], now: datetime) -> QuerySet[Device]:
    """`devices` narrowed to those meeting every condition of the rule."""
    condition, violations = Q(), None
    for name, value in rule.conditions.items():
        if name == "ALIVE_AT":
            operator, range_ms = value
            edge = now - timedelta(milliseconds=range_ms)
            if operator == ">":  # silent for longer than the range (or never heard of)
                condition &= Q(last_seen_at__lt=edge) | Q(last_seen_at__isnull=True)
            else:
                condition &= Q(last_seen_at__gte=edge)
        elif name == "STORAGE_STATUS":
            free = Coalesce(F("storage_free_mb"), F("storage_total_mb") - F("storage_used_mb"))
            devices = devices.annotate(
                free_storage_percent=ExpressionWrapper(
                    free * 100.0 / NullIf(F("storage_total_mb"), 0), output_field=FloatField()
                )
            )
            condition &= compare("free_storage_percent", *value)
        elif name in COLUMNS:
            condition &= compare(COLUMNS[name], *value)
        elif name == "APPLICATION_VERSION":
            condition &= Q(app_version__in=_versions(devices, *value))
        elif name in ("FAILED_ACTIONS", "SCREENSHOT"):
            operator, occurrences, range_ms = value
            alias = f"{name.lower()}_count"
            devices = devices.annotate(**{alias: _occurrences(name, now - timedelta(milliseconds=range_ms))})
            condition &= compare(alias, operator, occurrences)
        elif name == "REMOTE_CONTROL":
            condition &= Q(is_locked=value)
        elif name in POLICY_VIOLATION_CONDITIONS:
            if violations is None:  # every item type at once: two queries per rule, whatever its conditions
                violations = devices_violations(devices)
            kind = name.removeprefix("POLICY_VIOLATION").removeprefix("_")
            wanted = {kind} if kind else set(VIOLATION_ITEMS)
            violating = [device_id for device_id, found in violations.items() if found & wanted]
            condition &= Q(pk__in=violating) if value else ~Q(pk__in=violating)
    return devices.filter(condition)


def _screen_is_open(row: tuple, now: datetime) -> bool:
    """Whether the device's screen should be open now, in the screen's time zone (else the fleet's)."""
    active, hours, screen_zone, fleet_zone = row
    local = now.astimezone(zoneinfo.ZoneInfo(screen_zone or fleet_zone or "UTC"))
    return bool(active) and is_open(hours or {}, local.isoweekday(), local.time())


def rule_outcome(rule: AlertRule, now: datetime, snoozed: set[int] | frozenset = frozenset()) -> Outcome:
    """How many devices the rule watches and which match now. Devices `snoozed` on the rule's open alert
    neither count nor notify."""
    devices = filtered_devices(rule)
    filtered = devices.count()
    if not filtered:
        return Outcome(filtered=0)
    matched = matching_devices(rule, devices, now)
    if "SCREEN_OPEN" not in rule.conditions:
        ids = matched.order_by("pk").values_list("pk", flat=True)
        return Outcome(filtered=filtered, matched=[pk for pk in ids if pk not in snoozed])
    # Opening hours are weekly ranges in each screen's time zone: judged here, on the matched rows, read
    # in the same query.
    wanted = rule.conditions["SCREEN_OPEN"]
    rows = matched.order_by("pk").values_list(
        "pk", "screen__active", "screen__opening_hours", "screen__timezone", "fleet__timezone"
    )
    return Outcome(
        filtered=filtered,
        matched=[row[0] for row in rows if row[0] not in snoozed and _screen_is_open(row[1:], now) == wanted],
    )
