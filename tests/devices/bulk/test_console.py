"""Bulk operations in the console: a progress bar, creation through the service, and the actions."""

import pytest

from apps.accounts.models import Role
from apps.devices.bulk.models import BulkOperation, BulkOperationState
from apps.devices.bulk.services import bulk_operation_step

from .conftest import report_results

LIST = "/admin/devices/bulkoperation/"


@pytest.fixture
def console(make_member, fleet):
    from django.test import Client

    browser = Client()
    browser.force_login(make_member(fleet, Role.TECHNICIAN, is_staff=True))
    return browser


def test_the_list_and_the_page_show_a_progress_bar(console, fleet, other_fleet, make_players):
    players = make_players(fleet, 10)
    operation = BulkOperation.objects.create(fleet=fleet, name="Reboot the hall", operation_type="REBOOT",
                                             filter={}, batch_size=4)  # fmt: skip
    BulkOperation.objects.create(fleet=other_fleet, name="Their reboot", operation_type="REBOOT", filter={})
    bulk_operation_step(operation_id=operation.pk)
    report_results(operation, failing={players[0].pk})
    bulk_operation_step(operation_id=operation.pk)
    page = console.get(LIST).content.decode()
    assert "Reboot the hall" in page and "Their reboot" not in page
    assert 'role="progressbar"' in page and 'aria-valuenow="4"' in page
    assert "4 / 10 done: 3 succeeded, 1 failed, 0 skipped, 6 pending" in page
    detail = console.get(f"{LIST}{operation.pk}/change/").content.decode()
    assert "3 succeeded, 1 failed" in detail and "Failed players" in detail and f"{players[0].pk}/change/" in detail


def test_created_in_the_console_through_the_service(console, fleet, other_fleet, make_players):
    theirs = make_players(other_fleet, 1, prefix="theirs")[0]
    form = {"fleet": fleet.pk, "name": "Volume down", "operation_type": "SET_VOLUME", "data": '{"volume": 20}',
            "filter": "", "device_ids": f"[{theirs.pk}]", "start_at_0": "", "start_at_1": "", "batch_size": 10,
            "batch_delay": 0, "stop_threshold": "", "result_timeout": 900}  # fmt: skip
    refused = console.post(f"{LIST}add/", form)
    assert refused.status_code == 200 and "Some ids are not objects of this fleet." in refused.content.decode()
    assert not BulkOperation.objects.exists()
    mine = make_players(fleet, 2, prefix="mine")
    form["device_ids"] = str([player.pk for player in mine])
    assert console.post(f"{LIST}add/", form).status_code == 302
    operation = BulkOperation.objects.get()
    assert operation.data == {"volume": 20} and operation.device_ids == [player.pk for player in mine]


def test_pause_and_stop_actions(console, fleet):
    operation = BulkOperation.objects.create(fleet=fleet, name="Reboot", operation_type="REBOOT", filter={})
    console.post(LIST, {"action": "pause", "_selected_action": [operation.pk]})
    operation.refresh_from_db()
    assert operation.state == BulkOperationState.PAUSED
    console.post(LIST, {"action": "stop", "_selected_action": [operation.pk]})
    operation.refresh_from_db()
    assert operation.state == BulkOperationState.STOPPED
