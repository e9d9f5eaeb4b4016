"""Alert rules and alerts: every write goes through here (API, admin, tasks)."""

from datetime import datetime, timedelta

from django.db import IntegrityError, transaction
from django.utils import timezone

from apps.accounts.models import Fleet, Membership
from apps.devices.models import Device
from signage.arguments import UNCHANGED, Unchanged, given
from signage.errors import field_error

from .evaluation import Outcome, rule_outcome
from .models import Alert, AlertDevice, AlertNotification, AlertRule, AlertType, Channel, NotificationEvent
from .rules import in_active_window, rule_clean

# --- rules ----------------------------------------------------------------------------------------------

RULE_FIELDS = ("name", "description", "alert_type", "filter", "conditions", "threshold", "periodicity", "action",
               "paused")  # fmt: skip


@transaction.atomic
def alert_rule_create(
    *,
    fleet: Fleet,
    name: str,
    description: str = "",
    alert_type: str = AlertType.DEVICE,
    filter: dict | Unchanged = UNCHANGED,
    conditions: dict | Unchanged = UNCHANGED,
    threshold: dict | Unchanged = UNCHANGED,
    periodicity: dict | Unchanged = UNCHANGED,
    action: dict | Unchanged = UNCHANGED,
    paused: bool = False,
    builtin: str = "",
) -> AlertRule:
    """A rule, validated whole (a rule that could not be evaluated is a ValidationError, never stored); a
    JSON part left out takes its default (no filter, once per interval of 300 s, ...)."""
    values = {
        "name": name,
        "description": description,
        "alert_type": alert_type,
        "paused": paused,
        **given(filter=filter, conditions=conditions, threshold=threshold, periodicity=periodicity, action=action),
    }
    cleaned = rule_clean(fleet=fleet, values=values)
    return AlertRule.objects.create(fleet=fleet, builtin=builtin, **{**values, **cleaned})


@transaction.atomic
def alert_rule_update(
    *,
    rule: AlertRule,
    name: str | Unchanged = UNCHANGED,
    description: str | Unchanged = UNCHANGED,
    alert_type: str | Unchanged = UNCHANGED,
    filter: dict | Unchanged = UNCHANGED,
    conditions: dict | Unchanged = UNCHANGED,
    threshold: dict | Unchanged = UNCHANGED,
    periodicity: dict | Unchanged = UNCHANGED,
    action: dict | Unchanged = UNCHANGED,
    paused: bool | Unchanged = UNCHANGED,
) -> AlertRule:
    """Change a rule (only the fields given); the result is validated whole, as on creation."""
    values = given(
        name=name,
        description=description,
        alert_type=alert_type,
        filter=filter,
        conditions=conditions,
        threshold=threshold,
        periodicity=periodicity,
        action=action,
        paused=paused,
    )
    if "alert_type" in values and values["alert_type"] != rule.alert_type and rule.alerts.exists():
        raise field_error("alert_type", "A rule that has alerts keeps its type.")
    merged = {name: getattr(rule, name) for name in RULE_FIELDS} | values
    cleaned = rule_clean(fleet=rule.fleet, values=merged)
    for field, value in {**values, **cleaned}.items():
        setattr(rule, field, value)
    rule.save()
    return rule


def alert_rule_set_archived(*, rule: AlertRule, archived: bool) -> AlertRule:
    rule.archived_at = (rule.archived_at or timezone.now()) if archived else None
    rule.save(update_fields=["archived_at", "modified_at"])
    return rule


def alert_rule_set_paused(*, rule: AlertRule, paused: bool) -> AlertRule:
    rule.paused = paused
    rule.save(update_fields=["paused", "modified_at"])
    return rule


def rule_is_due(rule: AlertRule, now: datetime) -> bool:
    """Not paused nor archived, its interval elapsed since the last evaluation, inside an active window."""
    if rule.paused or rule.archived_at is not None:
        return False
    interval = (rule.periodicity or {}).get("interval", 300)
    # A few seconds of slack: the beat runs every minute, a 60 s rule must not skip every other run.
    if rule.last_evaluated_at and now - rule.last_evaluated_at < timedelta(seconds=interval - 5):
        return False
    return in_active_window(rule.periodicity or {}, now)


# --- evaluation -------------------------------------------------------------------------------------------


def alert_rules_evaluate_due(*, now: datetime | None = None) -> list[int]:
    """Evaluate every due rule (the beat task, every minute); returns the ids of the rules evaluated."""
    now = now or timezone.now()
    rules = AlertRule.objects.filter(paused=False, archived_at__isnull=True).only(
        "pk", "paused", "archived_at", "periodicity", "last_evaluated_at"
    )
    evaluated = []
    for rule in rules:
        if rule_is_due(rule, now) and alert_rule_evaluate(rule_id=rule.pk, now=now) is not False:
            evaluated.append(rule.pk)
    return evaluated


def alert_rule_evaluate(*, rule_id: int, now: datetime | None = None) -> Alert | bool | None:
    """Evaluate one rule and bring its alert up to date: open it, follow its devices, resolve it.

    The rule row is locked for the evaluation; a second run arriving meanwhile skips the rule (returns
    False) instead of waiting, and the partial unique index on open alerts is the last word should two runs
    still race. Returns the rule's open alert afterwards (None when there is none)."""
    now = now or timezone.now()
    with transaction.atomic():
        rule = (
            AlertRule.objects.select_for_update(skip_locked=True, of=("self",))
            .filter(pk=rule_id)
            .select_related("fleet")
            .first()
        )
        if rule is None:
            return False
        open_alert = Alert.objects.filter(rule=rule, resolved_at__isnull=True).first()
        if rule.alert_type == AlertType.SHARE_OF_VOICE:
            alert = _sync_share_of_voice(rule, open_alert, now)
        else:
            # The open alert's devices, read once: snoozed ones are left out of the outcome, and the rest
            # tell what changed.
            on_alert = list(
                AlertDevice.objects.filter(alert=open_alert).values_list(
                    "device_id", "assigned_by_hand", "snoozed_until"
                )
                if open_alert
                else []
            )
            snoozed = {device_id for device_id, _, until in on_alert if until and until > now}
            outcome = rule_outcome(rule, now, snoozed)
            alert = _sync_devices(rule, open_alert, outcome, now, on_alert, snoozed)
        AlertRule.objects.filter(pk=rule.pk).update(last_evaluated_at=now)
    return alert


def _open(rule: AlertRule, now: datetime, details: dict | None = None) -> Alert:
    try:
        with transaction.atomic():
            return Alert.objects.create(
                fleet_id=rule.fleet_id,
                rule=rule,
                name=rule.name,
                description=rule.description,
                details=details or {},
                latest_change_at=now,
            )
    except IntegrityError:  # another run opened it first: follow that one
        return Alert.objects.get(rule=rule, resolved_at__isnull=True)


def _sync_devices(
    rule: AlertRule, alert: Alert | None, outcome: Outcome, now: datetime, on_alert: list, snoozed: set[int]
) -> Alert | None:
    percentage = (rule.threshold or {}).get("percentage", 0)
    if not outcome.crosses(percentage):
        if alert is not None:
            _resolve(alert, now)
        return None
    matched = set(outcome.matched)
    if alert is None:
        alert = _open(rule, now)
        AlertDevice.objects.bulk_create(
            [AlertDevice(alert=alert, device_id=device_id) for device_id in sorted(matched)], ignore_conflicts=True
        )
        _notify(alert, NotificationEvent.OPENED, now, added=sorted(matched))
        return alert
    current = {device_id: by_hand for device_id, by_hand, _ in on_alert}
    added = sorted(matched - current.keys())
    # Devices that stopped matching leave the alert, unless assigned by hand or snoozed (a snoozed device is
    # left out of `matched`, not cured).
    gone = [pk for pk, by_hand in current.items() if pk not in matched and not by_hand and pk not in snoozed]
    if added:
        AlertDevice.objects.bulk_create(
            [AlertDevice(alert=alert, device_id=device_id) for device_id in added], ignore_conflicts=True
        )
    if gone:
        AlertDevice.objects.filter(alert=alert, device_id__in=gone).delete()
    if added or gone:
        alert.latest_change_at = now
        alert.save(update_fields=["latest_change_at"])
    if added:
        _notify(alert, NotificationEvent.DEVICES_ADDED, now, added=added)
    return alert


def _sync_share_of_voice(rule: AlertRule, alert: Alert | None, now: datetime) -> Alert | None:
    from apps.ads.models import QuotaOverflow

    overflows = list(
        QuotaOverflow.objects.filter(ad__fleet_id=rule.fleet_id)
        .order_by("date", "pk")
        .values("ad_id", "ad__name", "screen_id", "screen__name", "date", "duration", "quota")[:200]
    )
    if not overflows:
        if alert is not None:
            _resolve(alert, now)
        return None
    details = {
        "overflows": [
            {
                "ad": str(row["ad_id"]),
                "ad_name": row["ad__name"],
                "screen": str(row["screen_id"]),
                "screen_name": row["screen__name"],
                "date": row["date"].isoformat(),
                "duration": row["duration"],
                "quota": row["quota"],
            }
            for row in overflows
        ]
    }
    if alert is None:
        alert = _open(rule, now, details)
        _notify(alert, NotificationEvent.OPENED, now)
        return alert
    if alert.details != details:
        alert.details, alert.latest_change_at = details, now
        alert.save(update_fields=["details", "latest_change_at"])
    return alert


def _resolve(alert: Alert, now: datetime) -> None:
    alert.resolved_at = alert.latest_change_at = now
    alert.save(update_fields=["resolved_at", "latest_change_at"])
    _notify(alert, NotificationEvent.RESOLVED, now)


# --- notifications ---------------------------------------------------------------------------------------


def recipients(rule: AlertRule) -> list[str]:
    """The rule's e-mail addresses and those of the fleet's members holding one of its roles."""
    action = rule.action or {}
    emails = list(action.get("emails", []))
    if action.get("roles"):
        emails += (
            Membership.objects.filter(fleet_id=rule.fleet_id, role__in=action["roles"])
            .exclude(user__email="")
            .values_list("user__email", flat=True)
        )
    return list(dict.fromkeys(email.strip().lower() for email in emails if email))


def _notify(alert: Alert, event: str, now: datetime, added: list[int] | None = None) -> None:
    """Write one outbox row per recipient for this change; they are sent once the transaction commits."""
    if alert.snoozed_until and alert.snoozed_until > now:
        return
    rule = alert.rule
    targets = [(Channel.EMAIL, email) for email in recipients(rule)]
    if (rule.action or {}).get("webhook_url"):
        targets.append((Channel.WEBHOOK, rule.action["webhook_url"]))
    if not targets:
        return
    alert.change_number += 1
    Alert.objects.filter(pk=alert.pk).update(change_number=alert.change_number)
    names = list(Device.objects.filter(pk__in=(added or [])[:50]).values_list("name", "uuid"))
    subject, body = _message(alert, event, names, len(added or []))
    payload = {
        "alert": alert.pk,
        "rule": rule.pk,
        "fleet": alert.fleet_id,
        "event": event,
        "name": alert.name,
        "at": now.isoformat(),
        "devices": [uuid for _, uuid in names],
        "details": alert.details,
    }
    rows = AlertNotification.objects.bulk_create(
        [
            AlertNotification(
                alert=alert,
                change_number=alert.change_number,
                event=event,
                channel=channel,
                recipient=recipient,
                subject=subject,
                body=body,
                payload=payload,
            )
            for channel, recipient in targets
        ]
    )
    ids = [row.pk for row in rows]

    def send():
        from .tasks import send_alert_notifications

        send_alert_notifications.delay(ids)

    transaction.on_commit(send)


def _message(alert: Alert, event: str, names: list[tuple[str, str]], total: int) -> tuple[str, str]:
    title = {
        NotificationEvent.OPENED: "Alert opened",
        NotificationEvent.DEVICES_ADDED: "Alert has new devices",
        NotificationEvent.RESOLVED: "Alert resolved",
    }[event]
    lines = [f"{title}: {alert.name}", ""]
    if alert.description:
        lines += [alert.description, ""]
    if names:
        lines.append(f"Devices ({total}):")
        lines += [f"- {name or uuid} ({uuid})" for name, uuid in names]
        if total > len(names):
            lines.append(f"- and {total - len(names)} more")
    for overflow in alert.details.get("overflows", [])[:20]:
        lines.append(
            f"- {overflow['ad_name']} on {overflow['screen_name']} from {overflow['date']}: "
            f"{overflow['duration']:g} s for {overflow['quota']:g} s allocated"
        )
    if event == NotificationEvent.RESOLVED:
        lines.append("No device matches the rule any more.")
    return f"[Signage] {title}: {alert.name}"[:300], "\n".join(lines)


MAX_ATTEMPTS = 10


def notifications_send(*, ids: list[int] | None = None, now: datetime | None = None) -> int:
    """Send unsent notifications (those given, or every one due for a retry). Each row is claimed under a
    row lock (others skip it), sent, and marked sent in the same transaction: a message is never sent twice,
    and a failure leaves it for a later attempt with backoff. Returns how many were sent."""
    from .notifications import deliver

    now = now or timezone.now()
    due = AlertNotification.objects.filter(sent_at__isnull=True, attempts__lt=MAX_ATTEMPTS)
    due = due.filter(pk__in=ids) if ids is not None else due.exclude(next_attempt_at__gt=now)
    sent = 0
    for pk in list(due.order_by("pk").values_list("pk", flat=True)[:500]):
        with transaction.atomic():
            notification = (
                AlertNotification.objects.select_for_update(skip_locked=True)
                .filter(pk=pk, sent_at__isnull=True)
                .first()
            )
            if notification is None:
                continue
            notification.attempts += 1
            try:
                deliver(notification)
            except Exception as error:
                notification.last_error = f"{type(error).__name__}: {error}"[:500]
                notification.next_attempt_at = now + timedelta(minutes=2**notification.attempts)
                notification.save(update_fields=["attempts", "last_error", "next_attempt_at"])
                continue
            notification.sent_at = timezone.now()
            notification.save(update_fields=["attempts", "sent_at", "last_error"])
            sent += 1
    return sent


# --- alerts -------------------------------------------------------------------------------------------------


def alert_set_archived(*, alert: Alert, archived: bool) -> Alert:
    alert.archived_at = (alert.archived_at or timezone.now()) if archived else None
    alert.save(update_fields=["archived_at"])
    return alert


def alert_update_description(*, alert: Alert, description: str) -> Alert:
    alert.description = description
    alert.latest_change_at = timezone.now()
    alert.save(update_fields=["description", "latest_change_at"])
    return alert


def _future(until: datetime | None) -> datetime | None:
    if until is not None and until <= timezone.now():
        raise field_error("snooze_until", "Must be in the future.")
    return until


def alert_snooze(*, alert: Alert, until: datetime | None, device: Device | None = None) -> Alert:
    """Silence the whole alert, or one of its devices (it then neither counts nor notifies), until a date;
    `until=None` lifts the snooze."""
    until = _future(until)
    with transaction.atomic():
        if device is None:
            alert.snoozed_until = until
            alert.save(update_fields=["snoozed_until"])
        else:
            updated = AlertDevice.objects.filter(alert=alert, device=device).update(snoozed_until=until)
            if not updated:
                raise field_error("device", "This device is not on the alert.")
    return alert


def alert_assign(*, alert: Alert, devices: list[Device], assign: bool) -> Alert:
    """Put devices on the alert by hand (evaluation then leaves them), or take them off."""
    if any(device.fleet_id != alert.fleet_id for device in devices):
        raise field_error("devices", "Every device must belong to the alert's fleet.")
    with transaction.atomic():
        if assign:
            AlertDevice.objects.bulk_create(
                [AlertDevice(alert=alert, device=device, assigned_by_hand=True) for device in devices],
                update_conflicts=True,
                unique_fields=["alert", "device"],
                update_fields=["assigned_by_hand"],
            )
        else:
            AlertDevice.objects.filter(alert=alert, device__in=devices).delete()
        alert.latest_change_at = timezone.now()
        alert.save(update_fields=["latest_change_at"])
    return alert
