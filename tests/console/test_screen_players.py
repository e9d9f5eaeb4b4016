"""The screen's page lists its players (SPEC 10: devices inside screens): read-only, each linked to its own
page, under the fleet guard, in a flat number of queries."""

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from apps.accounts.models import Role
from tests.devices.factories import DeviceFactory

from .forms import form_data

pytestmark = pytest.mark.django_db


def page_of(screen):
    return f"/admin/screens/screen/{screen.pk}/change/"


def test_the_screen_page_lists_its_players_and_no_other_screens(console, fleet, make_screen):
    hall, lobby = make_screen(fleet, "Hall"), make_screen(fleet, "Lobby")
    mine = DeviceFactory(screen=hall, name="Hall left", app_version="4.2.0", online=True)
    unnamed = DeviceFactory(screen=hall)
    theirs = DeviceFactory(screen=lobby, name="Lobby player")
    DeviceFactory(name="Unpaired player")

    response = console.get(page_of(hall))
    assert response.status_code == 200
    page = response.content.decode()
    assert f'href="/admin/devices/device/{mine.pk}/change/">Hall left</a>' in page
    assert mine.uuid in page and "4.2.0" in page
    assert f'href="/admin/devices/device/{unnamed.pk}/change/">{unnamed.uuid}</a>' in page
    assert "Lobby player" not in page and theirs.uuid not in page and "Unpaired player" not in page


def test_the_players_are_read_only_and_not_added_here(console, fleet, make_screen):
    hall = make_screen(fleet, "Hall")
    DeviceFactory(screen=hall, name="Hall left")
    response = console.get(page_of(hall))
    assert response.context["has_change_permission"] is True  # an admin edits the screen ...
    fields = form_data(response, "screen_form")
    assert fields["players-TOTAL_FORMS"] == "1" and fields["players-MAX_NUM_FORMS"] == "0"
    assert sorted(name for name in fields if name.startswith("players-0-")) == ["players-0-id", "players-0-screen"]
    (formset,) = [f for f in response.context["inline_admin_formsets"] if f.formset.prefix == "players"]
    assert not formset.has_add_permission and not formset.has_change_permission and not formset.has_delete_permission


def test_saving_the_screen_leaves_its_players_alone(console, fleet, make_screen):
    hall, lobby = make_screen(fleet, "Hall"), make_screen(fleet, "Lobby")
    player = DeviceFactory(screen=hall, name="Hall left")
    fields = form_data(console.get(page_of(hall)), "screen_form")
    fields.update({"name": "Great hall", "players-0-screen": lobby.pk, "players-0-name": "Renamed"})
    assert console.post(page_of(hall), fields).status_code == 302
    hall.refresh_from_db()
    player.refresh_from_db()
    assert hall.name == "Great hall"
    assert (player.screen_id, player.name) == (hall.pk, "Hall left")


def test_no_players_on_the_add_page(console):
    response = console.get("/admin/screens/screen/add/")
    assert response.status_code == 200
    assert "players" not in [f.formset.prefix for f in response.context["inline_admin_formsets"]]


def test_a_viewer_sees_the_players_but_edits_nothing(console_for, fleet, make_screen):
    hall = make_screen(fleet, "Hall")
    player = DeviceFactory(screen=hall, name="Hall left")
    viewer = console_for(fleet, Role.VIEWER)
    response = viewer.get(page_of(hall))
    assert response.status_code == 200 and response.context["has_change_permission"] is False
    assert f'href="/admin/devices/device/{player.pk}/change/">Hall left</a>' in response.content.decode()
    fields = form_data(response, "screen_form")
    fields["name"] = "Renamed"
    assert viewer.post(page_of(hall), fields).status_code == 403
    hall.refresh_from_db()
    assert hall.name == "Hall"


def test_another_fleets_staff_get_a_404(console_for, fleet, other_fleet, make_screen):
    hall = make_screen(fleet, "Hall")
    DeviceFactory(screen=hall, name="Hall left")
    stranger = console_for(other_fleet, Role.ADMIN)
    response = stranger.get(page_of(hall))
    assert response.status_code == 404 and b"Hall left" not in response.content


def test_the_page_queries_do_not_grow_with_the_players(console, fleet, make_screen):
    hall = make_screen(fleet, "Hall")

    def queries():
        with CaptureQueriesContext(connection) as captured:
            response = console.get(page_of(hall))
        assert response.status_code == 200
        return len(captured), len(re.findall(r'href="/admin/devices/device/\d+/change/"', response.content.decode()))

    DeviceFactory(screen=hall)
    one, links = queries()
    assert links == 1
    for _ in range(9):
        DeviceFactory(screen=hall)
    assert queries() == (one, 10)
