"""Alerts and rules in the console: fleet-scoped lists without N+1, actions through the services, rule
edits validated like the API's."""

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from apps.accounts.models import Role
from apps.alerts.models import Alert, AlertRule, open_alerts_count


@pytest.fixture
def console_for(make_member):
    def make(fleet, role=Role.ADMIN):
        browser = Client()
        browser.force_login(make_member(fleet, role, is_staff=True))
        return browser

    return make


@pytest.fixture
def alerts(fleet, other_fleet, screen, make_screen, make_device, make_rule, evaluate):
    """Two open alerts in `fleet` (one with two devices), one in `other_fleet`."""
    for temperature in (90, 91):
        make_device(screen, temperature=temperature, volume=100)
    mine = [evaluate(make_rule(fleet, {"TEMPERATURE": [">", 70]}, name="Hot")),
            evaluate(make_rule(fleet, {"VOLUME": [">", 90]}, name="Loud"))]  # fmt: skip
    make_device(make_screen(other_fleet, "Theirs"), temperature=99)
    theirs = evaluate(make_rule(other_fleet, {"TEMPERATURE": [">", 70]}, name="Foreign heat"))
    return mine, theirs


def test_changelists_show_the_members_fleets_only(console_for, fleet, alerts):
    browser = console_for(fleet)
    page = browser.get("/admin/alerts/alert/").content.decode()
    assert "Hot" in page and "Loud" in page and "Foreign heat" not in page
    assert browser.get(f"/admin/alerts/alert/{alerts[1].pk}/change/").status_code == 404
    rules = browser.get("/admin/alerts/alertrule/").content.decode()
    assert "Player silent" in rules and "Foreign heat" not in rules


def test_alert_changelist_queries_do_not_grow_with_alerts(
    admin_client, fleet, screen, make_device, make_rule, evaluate
):
    make_device(screen, temperature=90)
    evaluate(make_rule(fleet, {"TEMPERATURE": [">", 70]}, name="first"))

    def count(path):
        with CaptureQueriesContext(connection) as captured:
            assert admin_client.get(path).status_code == 200
        return len(captured)

    few = count("/admin/alerts/alert/"), count("/admin/alerts/alertrule/")
    for index in range(5):
        evaluate(make_rule(fleet, {"TEMPERATURE": [">", 60 + index]}, name=f"more {index}"))
    assert (count("/admin/alerts/alert/"), count("/admin/alerts/alertrule/")) == few


def test_archive_and_snooze_actions(console_for, fleet, alerts):
    browser = console_for(fleet, Role.TECHNICIAN)
    mine, theirs = alerts
    ids = [str(alert.pk) for alert in mine]
    browser.post("/admin/alerts/alert/", {"action": "archive", "_selected_action": ids})
    assert Alert.objects.filter(pk__in=ids, archived_at__isnull=False).count() == 2
    browser.post("/admin/alerts/alert/", {"action": "snooze_a_day", "_selected_action": ids})
    assert Alert.objects.filter(pk__in=ids, snoozed_until__isnull=False).count() == 2
    # Another fleet's alert slipped into the selection is not touched.
    browser.post("/admin/alerts/alert/", {"action": "archive", "_selected_action": [str(theirs.pk)]})
    theirs.refresh_from_db()
    assert theirs.archived_at is None


def test_a_viewer_cannot_act(console_for, fleet, alerts):
    browser = console_for(fleet, Role.VIEWER)
    mine, _ = alerts
    browser.post("/admin/alerts/alert/", {"action": "archive", "_selected_action": [str(mine[0].pk)]})
    mine[0].refresh_from_db()
    assert mine[0].archived_at is None


def _rule_form(rule, **changes):
    values = {"fleet": rule.fleet_id, "name": rule.name, "description": rule.description,
              "alert_type": rule.alert_type, "filter": "{}", "conditions": '{"VOLUME": ["<", 5]}',
              "threshold": '{"type": "percentage", "percentage": 0}', "periodicity": '{"interval": 300}',
              "action": "{}"}  # fmt: skip
    return {**values, **changes}


def test_rule_edits_in_the_console_are_validated_like_the_api(console_for, fleet, make_rule):
    browser = console_for(fleet)
    rule = make_rule(fleet, {"VOLUME": ["<", 5]}, name="Quiet")
    url = f"/admin/alerts/alertrule/{rule.pk}/change/"
    refused = browser.post(url, _rule_form(rule, conditions='{"VOLUME": ["<", 500]}'))
    assert refused.status_code == 200 and "the number must be from 0 to 100" in refused.content.decode()
    rule.refresh_from_db()
    assert rule.conditions == {"VOLUME": ["<", 5]}
    saved = browser.post(url, _rule_form(rule, conditions='{"VOLUME": ["<", 7]}', periodicity="120"))
    assert saved.status_code == 302
    rule.refresh_from_db()
    assert rule.conditions == {"VOLUME": ["<", 7]} and rule.periodicity == {"interval": 120, "active_time_windows": []}


def test_rule_actions(console_for, fleet):
    browser = console_for(fleet)
    ids = [str(pk) for pk in AlertRule.objects.filter(fleet=fleet).values_list("pk", flat=True)]
    browser.post("/admin/alerts/alertrule/", {"action": "pause", "_selected_action": ids})
    assert AlertRule.objects.filter(fleet=fleet, paused=True).count() == len(ids) == 4


def test_open_alerts_count_for_the_dashboard(fleet, other_fleet, alerts, make_member):
    mine, _ = alerts
    assert open_alerts_count() == 3
    assert open_alerts_count([fleet.pk]) == 2
    assert open_alerts_count(user=make_member(fleet, Role.VIEWER)) == 2
    from apps.alerts.services import alert_set_archived

    alert_set_archived(alert=mine[0], archived=True)
    assert open_alerts_count([fleet.pk]) == 1


def test_the_dashboard_counts_open_alerts(console_for, fleet, alerts):
    mine, _ = alerts
    from apps.alerts.services import alert_set_archived

    alert_set_archived(alert=mine[1], archived=True)  # archived: no longer counted
    page = console_for(fleet, Role.VIEWER).get("/admin/").content.decode()
    assert "Open alerts: <b>1</b>" in page
    assert "Hot (Paris Metro)" in page and "Foreign heat" not in page and "Loud" not in page
