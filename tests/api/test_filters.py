"""Filters on related objects: bounded ids, and another fleet's object as unknown as a missing one."""

import pytest

from apps.screens.models import ScreenGroup

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "path",
    [
        "/api/management/v2/screens/?group=99999999999999999999999",
        "/api/management/v2/screens/?place=99999999999999999999999",
        "/api/management/v2/places/?exclusive_fleet=1e30",
        "/api/management/v2/medias/?fleet=999999999999999999999",
        "/api/management/v2/screen_types/?fleet=-1",
    ],
)
def test_impossible_ids_are_400(api, path):
    response = api.get(path)
    assert response.status_code == 400
    assert next(iter(response.json().values()))[0]["code"] == "invalid_choice"


def test_another_fleets_object_in_a_filter_is_unknown(api, fleet, other_fleet):
    theirs = ScreenGroup.objects.create(fleet=other_fleet, name="Theirs")
    mine = ScreenGroup.objects.create(fleet=fleet, name="Mine")
    assert api.get(f"/api/management/v2/screens/?group={mine.pk}").status_code == 200
    foreign = api.get(f"/api/management/v2/screens/?group={theirs.pk}")
    missing = api.get(f"/api/management/v2/screens/?group={theirs.pk + 1000}")
    assert foreign.status_code == missing.status_code == 400
    assert foreign.json() == missing.json()
    assert api.get(f"/api/management/v2/places/?exclusive_fleet={other_fleet.pk}").status_code == 400
    assert api.get(f"/api/management/v2/screen_groups/?fleet={other_fleet.pk}").status_code == 400
