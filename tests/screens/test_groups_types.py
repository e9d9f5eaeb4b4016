import pytest

from apps.accounts.models import Role
from apps.screens.models import ScreenGroup, ScreenType
from tests.screens.factories import ScreenGroupFactory

pytestmark = pytest.mark.django_db

GROUPS, TYPES = "/api/management/v2/screen_groups/", "/api/management/v2/screen_types/"


def test_admin_creates_a_group_of_own_screens(api, fleet, make_screen):
    screens = [make_screen(fleet, f"S{i}") for i in range(2)]
    response = api.post(GROUPS, {"name": "Lobby", "screens": [str(s.pk) for s in screens]}, format="json")
    assert response.status_code == 201, response.content
    group = ScreenGroup.objects.get(pk=response.json()["id"])
    assert set(group.screens.all()) == set(screens) and group.fleet == fleet


def test_a_group_cannot_hold_another_fleets_screen(api, fleet, other_fleet, make_screen):
    foreign = make_screen(other_fleet, "Foreign")
    response = api.post(GROUPS, {"name": "Sneaky", "screens": [str(foreign.pk)]}, format="json")
    assert response.status_code == 400
    assert response.json()["screens"][0]["code"] == "does_not_exist"
    assert not ScreenGroup.objects.filter(name="Sneaky").exists()


def test_types_are_written_by_admins_only(api, client_for, make_member, fleet):
    response = api.post(TYPES, {"name": "Totem", "width": 1080, "height": 1920, "orientation": "portrait"})
    assert response.status_code == 201
    editor = client_for(make_member(fleet, Role.EDITOR))
    screen_type = ScreenType.objects.get(name="Totem")
    assert editor.patch(f"{TYPES}{screen_type.pk}/", {"name": "Renamed"}, format="json").status_code == 403
    assert editor.post(TYPES, {"name": "X", "width": 1, "height": 1}, format="json").status_code == 403
    assert api.patch(f"{TYPES}{screen_type.pk}/", {"width": 0}, format="json").status_code == 200
    assert api.patch(f"{TYPES}{screen_type.pk}/", {"width": -1}, format="json").status_code == 400


def test_duplicate_group_name_in_a_fleet_is_a_400(api, fleet):
    ScreenGroupFactory(fleet=fleet, name="Lobby")
    response = api.post(GROUPS, {"name": "Lobby"}, format="json")
    assert response.status_code == 400
    assert response.json()["__all__"][0]["code"] == "unique"
