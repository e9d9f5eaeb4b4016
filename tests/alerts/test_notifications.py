"""Notifications that reach people: a real SMTP server (aiosmtpd) and a real HTTP server (pytest-httpserver)."""

import json
import socket
from datetime import timedelta
from email import message_from_bytes

import pytest
from aiosmtpd.controller import Controller
from django.utils import timezone
from rest_framework.test import APIClient

from apps.alerts.models import Alert, AlertNotification, AlertRule
from apps.alerts.services import alert_rule_evaluate, notifications_send
from apps.alerts.tasks import evaluate_alert_rules
from apps.devices.models import Device

from .conftest import HOST


def _free_port() -> int:
    """A port nobody listens on now (a fixed one was once held by another server of the machine)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Inbox:
    """An SMTP server's handler keeping what it receives; it can refuse the next messages with a 451."""

    def __init__(self):
        self.messages = []
        self.refuse = 0

    async def handle_DATA(self, server, session, envelope):
        if self.refuse:
            self.refuse -= 1
            return "451 Requested action aborted: try again later"
        self.messages.append(message_from_bytes(envelope.content))
        return "250 Message accepted for delivery"


@pytest.fixture
def smtp(settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    port = _free_port()
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", port, 5
    settings.DEFAULT_FROM_EMAIL = "alerts@signage.test"
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    yield inbox
    controller.stop()


def _register_and_pair(api, screen, uuid):
    client = APIClient()
    registration = client.post("/api/device/register", {"uuid": uuid, "app_version": "2.0.0"}, format="json").json()
    client.credentials(HTTP_AUTHORIZATION=f"Device {registration['device_token']}")
    paired = api.post(f"{HOST}/devices/pair/", {"pairing_code": registration["pairing_code"],
                                                "screen": str(screen.pk), "name": uuid}, format="json")  # fmt: skip
    assert paired.status_code == 200, paired.content
    return client


def _beat_task(django_capture_on_commit_callbacks):
    """The beat task as the worker runs it; the e-mails go once the evaluation commits."""
    with django_capture_on_commit_callbacks(execute=True):
        evaluate_alert_rules.delay()


def _a_minute_passes():
    AlertRule.objects.update(last_evaluated_at=timezone.now() - timedelta(minutes=1))


def test_a_silent_player_opens_an_alert_that_e_mails_once_then_resolves(
    api, fleet, screen, smtp, django_capture_on_commit_callbacks
):
    api.post(f"{HOST}/alert_rules/", {"name": "Silent player", "conditions": {"ALIVE_AT": [">", 90_000]},
                                      "periodicity": {"interval": 60},
                                      "action": {"emails": ["ops@example.com"]}}, format="json")  # fmt: skip
    players = [_register_and_pair(api, screen, f"hall-{index}") for index in range(3)]
    for player in players:
        assert player.post("/api/device/heartbeat", {"volume": 10}, format="json").status_code == 200
    # The third player stops: its last heartbeat is ten minutes old by the time the task runs.
    silent = Device.objects.get(uuid="hall-2")
    _beat_task(django_capture_on_commit_callbacks)  # flushes the buffered heartbeats first
    Device.objects.filter(pk=silent.pk).update(last_seen_at=timezone.now() - timedelta(minutes=10))
    _a_minute_passes()
    _beat_task(django_capture_on_commit_callbacks)

    alert = Alert.objects.get(rule__name="Silent player", resolved_at__isnull=True)
    assert list(alert.devices.all()) == [silent]
    assert len(smtp.messages) == 1
    opened = smtp.messages[0]
    assert opened["To"] == "ops@example.com" and opened["From"] == "alerts@signage.test"
    assert opened["Subject"] == "[Signage] Alert opened: Silent player"
    assert "hall-2" in opened.get_payload()

    # The player comes back: the alert resolves, and a second e-mail says so.
    assert players[2].post("/api/device/heartbeat", {"volume": 10}, format="json").status_code == 200
    _a_minute_passes()
    _beat_task(django_capture_on_commit_callbacks)
    alert.refresh_from_db()
    assert alert.resolved_at is not None
    assert len(smtp.messages) == 2
    assert smtp.messages[1]["Subject"] == "[Signage] Alert resolved: Silent player"

    # Running the task again sends nothing.
    _a_minute_passes()
    _beat_task(django_capture_on_commit_callbacks)
    assert len(smtp.messages) == 2
    assert not AlertNotification.objects.filter(sent_at__isnull=True).exists()


@pytest.fixture
def hot_rule(fleet, screen, make_device, make_rule, make_member):
    make_member(fleet, "technician", email="tech@example.com")
    make_member(fleet, "viewer", email="viewer@example.com")
    make_device(screen, temperature=90)
    return make_rule(fleet, {"TEMPERATURE": [">", 70]}, action={"emails": ["ops@example.com"], "roles": ["technician"]})


def test_one_e_mail_per_recipient_including_members_by_role(hot_rule, smtp, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        alert_rule_evaluate(rule_id=hot_rule.pk)
    assert sorted(message["To"] for message in smtp.messages) == ["ops@example.com", "tech@example.com"]


def test_a_device_joining_the_alert_notifies_and_a_steady_alert_does_not(
    hot_rule, screen, make_device, smtp, evaluate, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        evaluate(hot_rule)
        evaluate(hot_rule)  # nothing changed
    assert len(smtp.messages) == 2
    make_device(screen, temperature=95, name="newcomer")
    with django_capture_on_commit_callbacks(execute=True):
        evaluate(hot_rule)
    assert len(smtp.messages) == 4
    assert smtp.messages[-1]["Subject"].startswith("[Signage] Alert has new devices")
    assert "newcomer" in smtp.messages[-1].get_payload()


def test_smtp_failures_are_retried_without_ever_sending_twice(hot_rule, smtp, django_capture_on_commit_callbacks):
    smtp.refuse = 2  # both recipients refused on the first attempt
    with django_capture_on_commit_callbacks(execute=True):
        alert_rule_evaluate(rule_id=hot_rule.pk)
    assert smtp.messages == []
    pending = AlertNotification.objects.filter(sent_at__isnull=True)
    assert pending.count() == 2 and all(row.attempts == 1 and "451" in row.last_error for row in pending)
    assert notifications_send() == 0  # not due yet: backoff
    later = timezone.now() + timedelta(minutes=3)
    assert notifications_send(now=later) == 2
    assert notifications_send(now=later) == 0
    assert notifications_send(ids=list(AlertNotification.objects.values_list("pk", flat=True)), now=later) == 0
    assert len(smtp.messages) == 2


def test_a_snoozed_alert_sends_nothing(
    hot_rule, screen, make_device, smtp, evaluate, django_capture_on_commit_callbacks
):
    from apps.alerts.services import alert_snooze

    with django_capture_on_commit_callbacks(execute=True):
        alert = evaluate(hot_rule)
    alert_snooze(alert=alert, until=timezone.now() + timedelta(hours=1))
    make_device(screen, temperature=95)
    with django_capture_on_commit_callbacks(execute=True):
        evaluate(hot_rule)
    assert len(smtp.messages) == 2  # the opening only


def test_webhook_posts_json_through_the_safe_fetcher(fleet, screen, make_device, make_rule, httpserver, settings,
                                                     django_capture_on_commit_callbacks):  # fmt: skip
    settings.SIGNAGE_MEDIA_FETCH_ALLOW_PRIVATE = True  # the test server is on 127.0.0.1
    httpserver.expect_oneshot_request("/hook", method="POST").respond_with_data("", status=500)
    httpserver.expect_request("/hook", method="POST").respond_with_data("ok")
    device = make_device(screen, temperature=90)
    rule = make_rule(fleet, {"TEMPERATURE": [">", 70]}, action={"webhook_url": httpserver.url_for("/hook")})
    with django_capture_on_commit_callbacks(execute=True):
        alert = alert_rule_evaluate(rule_id=rule.pk)
    notification = AlertNotification.objects.get(alert=alert)
    assert notification.sent_at is None and "500" in notification.last_error  # the first answer failed
    assert notifications_send(now=timezone.now() + timedelta(minutes=3)) == 1
    requests = [request for request, _ in httpserver.log]
    assert len(requests) == 2
    body = json.loads(requests[-1].data)
    assert body["event"] == "opened" and body["alert"] == alert.pk and body["devices"] == [device.uuid]
    assert requests[-1].headers["Content-Type"] == "application/json"


def test_webhook_to_a_private_address_is_refused_by_default(fleet, screen, make_device, make_rule, settings,
                                                            django_capture_on_commit_callbacks):  # fmt: skip
    settings.SIGNAGE_MEDIA_FETCH_ALLOW_PRIVATE = False
    make_device(screen, temperature=90)
    rule = make_rule(fleet, {"TEMPERATURE": [">", 70]}, action={"webhook_url": "http://127.0.0.1:8602/hook"})
    with django_capture_on_commit_callbacks(execute=True):
        alert = alert_rule_evaluate(rule_id=rule.pk)
    notification = AlertNotification.objects.get(alert=alert)
    assert notification.sent_at is None and "non-public" in notification.last_error


@pytest.mark.django_db(transaction=True)
def test_two_senders_at_once_send_each_message_once(fleet, screen, make_device, make_rule, make_member, smtp):
    import threading

    from django.db import connection

    if connection.vendor != "postgresql":
        pytest.skip("row locks need PostgreSQL (CI runs this on PostgreSQL)")
    for index in range(8):
        make_member(fleet, "technician", email=f"tech{index}@example.com")
    make_device(screen, temperature=90)
    rule = make_rule(fleet, {"TEMPERATURE": [">", 70]}, action={"roles": ["technician"]})
    alert_rule_evaluate(rule_id=rule.pk)  # committed: the after-commit send ran here too (eager tasks)
    AlertNotification.objects.update(sent_at=None, attempts=0)  # as if that send had not happened
    smtp.messages.clear()
    barrier, sent = threading.Barrier(2), []

    def sender():
        try:
            barrier.wait()
            sent.append(notifications_send())
        finally:
            connection.close()

    threads = [threading.Thread(target=sender) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sum(sent) == 8
    assert sorted(message["To"] for message in smtp.messages) == sorted(f"tech{i}@example.com" for i in range(8))
