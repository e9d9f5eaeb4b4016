import json

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from apps.accounts.models import Role
from apps.screens.models import Screen
from apps.screens.services import screens_set_online
from tests.accounts.factories import MembershipFactory
from tests.screens.factories import ScreenGroupFactory, ScreenTypeFactory

pytestmark = pytest.mark.django_db

BASE = "/api/management/v2/screens/"


def test_create_with_reference_001_fields(api, fleet):
    group = ScreenGroupFactory(fleet=fleet, name="Meeting rooms")
    payload = {
        "name": "Salle de conference A",
        "description": "Ecran de l'entree principale",
        "orientation": "landscape",
        "rotation": "90",
        "timezone": "Europe/Madrid",
        "location": "Batiment B, Salle 101",
        "screen_group": group.pk,
    }
    response = api.post(BASE, payload, format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["rotation"] == 90 and body["timezone"] == "Europe/Madrid" and body["location"] == payload["location"]
    assert body["active"] is True and body["online"] is False and body["slug"].startswith("salle-de-conference-a-")
    assert body["fleet"].endswith(f"/fleets/{fleet.pk}/")  # the user's only fleet
    screen = Screen.objects.get(pk=body["id"])
    assert list(screen.groups.all()) == [group]


def test_timezone_defaults_to_the_fleets(api, fleet):
    assert api.post(BASE, {"name": "Plain"}, format="json").json()["timezone"] == "Europe/Paris"


def test_create_needs_the_fleet_when_the_user_has_several(api, user, other_fleet):

    MembershipFactory(user=user, fleet=other_fleet, role=Role.ADMIN)
    response = api.post(BASE, {"name": "Which fleet?"}, format="json")
    assert response.status_code == 400
    assert response.json() == {"fleet": [{"message": "This field is required.", "code": "required"}]}
    assert api.post(BASE, {"name": "There", "fleet": other_fleet.pk}, format="json").status_code == 201


def test_only_fleet_admins_create_and_delete(client_for, make_member, fleet, make_screen):
    editor = client_for(make_member(fleet, Role.EDITOR))
    viewer = client_for(make_member(fleet, Role.VIEWER))
    screen = make_screen(fleet, "Kept")
    assert editor.post(BASE, {"name": "No", "fleet": fleet.pk}, format="json").status_code == 403
    assert editor.delete(f"{BASE}{screen.pk}/").status_code == 403
    assert editor.patch(f"{BASE}{screen.pk}/", {"name": "Editors may rename"}, format="json").status_code == 200
    assert viewer.patch(f"{BASE}{screen.pk}/", {"name": "Viewers may not"}, format="json").status_code == 403
    assert viewer.get(f"{BASE}{screen.pk}/").status_code == 200
    assert Screen.objects.get(pk=screen.pk).name == "Editors may rename"


def test_delete(api, fleet, make_screen):
    screen = make_screen(fleet)
    assert api.delete(f"{BASE}{screen.pk}/").status_code == 204
    assert not Screen.objects.filter(pk=screen.pk).exists()


def test_plan_limit_is_a_403_and_counts_reactivations(api, fleet, make_screen):
    fleet.max_screens = 2
    fleet.save()
    make_screen(fleet, "One")
    spare = make_screen(fleet, "Spare", active=False, deactivation_reason="stock")
    assert api.post(BASE, {"name": "Two"}, format="json").status_code == 201
    response = api.post(BASE, {"name": "Three"}, format="json")
    assert response.status_code == 403
    assert response.json() == {
        "detail": "The fleet 'Paris Metro' has reached its plan's limit of 2 active screens.",
        "code": "max_screens_reached",
    }
    assert api.post(BASE, {"name": "Stored", "active": False}, format="json").status_code == 201
    assert api.patch(f"{BASE}{spare.pk}/", {"active": True}, format="json").status_code == 403
    spare.refresh_from_db()
    assert spare.active is False and Screen.objects.filter(fleet=fleet, active=True).count() == 2


# --- tenancy ----------------------------------------------------------------------------------------


def test_another_fleets_screen_is_404_and_never_listed(api, other_fleet, make_screen):
    foreign = make_screen(other_fleet, "Foreign")
    assert api.get(f"{BASE}{foreign.pk}/").status_code == 404
    assert api.patch(f"{BASE}{foreign.pk}/", {"name": "Mine now"}, format="json").status_code == 404
    assert api.delete(f"{BASE}{foreign.pk}/").status_code == 404
    assert "Foreign" not in api.get(BASE).content.decode()
    assert api.get(f"{BASE}?search=Foreign").json()["count"] == 0
    foreign.refresh_from_db()
    assert foreign.name == "Foreign"


def test_another_fleets_objects_in_a_payload_are_400(api, fleet, other_fleet, make_screen, make_place):
    screen = make_screen(fleet)
    foreign_place = make_place("Nice", exclusive_fleet=other_fleet)
    foreign_group = ScreenGroupFactory(fleet=other_fleet, name="Theirs")
    foreign_type = ScreenTypeFactory(fleet=other_fleet, name="Theirs", width=1, height=1)
    for payload in (
        {"place": foreign_place.pk},
        {"place": f"http://testserver/api/management/v2/places/{foreign_place.pk}/"},
        {"groups": [foreign_group.pk]},
        {"screen_type": foreign_type.pk},
    ):
        response = api.patch(f"{BASE}{screen.pk}/", payload, format="json")
        assert response.status_code == 400, payload
        field = next(iter(payload))
        assert response.json()[field][0]["code"] == "does_not_exist"
    assert api.post(BASE, {"name": "X", "fleet": other_fleet.pk}, format="json").status_code == 400
    screen.refresh_from_db()
    assert screen.place is None and not screen.groups.exists()


def test_a_member_of_two_fleets_cannot_mix_them(api, user, fleet, other_fleet, make_screen, make_place):

    MembershipFactory(user=user, fleet=other_fleet, role=Role.ADMIN)
    screen = make_screen(fleet)
    other_place = make_place("Nice", exclusive_fleet=other_fleet)
    other_type = ScreenTypeFactory(fleet=other_fleet, name="T", width=1, height=1)
    other_group = ScreenGroupFactory(fleet=other_fleet, name="G")
    for field, value in (("place", other_place.pk), ("screen_type", other_type.pk), ("groups", [other_group.pk])):
        response = api.patch(f"{BASE}{screen.pk}/", {field: value}, format="json")
        assert response.status_code == 400, field
        assert field in response.json()
    response = api.patch(f"{BASE}{screen.pk}/", {"fleet": other_fleet.pk}, format="json")
    assert response.status_code == 400
    assert Screen.objects.get(pk=screen.pk).fleet == fleet


# --- bad input --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "payload, field",
    [
        ({"opening_hours": {"8": [["09:00", "18:00"]]}}, "opening_hours"),
        ({"opening_hours": {"1": [["18:00", "09:00"]]}}, "opening_hours"),
        ({"opening_hours": {"1": [["25:00", "26:00"]]}}, "opening_hours"),
        ({"opening_hours": "all day"}, "opening_hours"),
        ({"opening_hours": {"1": [["09:00", "12:00"], ["11:00", "14:00"]]}}, "opening_hours"),
        ({"opening_hours": {"1": [["9:00", "12:00"]]}}, "opening_hours"),
        ({"opening_hours": {"1": ["09:00", "12:00"]}}, "opening_hours"),
        ({"download_hours": {"0": []}}, "download_hours"),
        ({"download_hours": {"2": [["10:00", "10:00"]]}}, "download_hours"),
        ({"deactivation_reason": "broken", "active": False}, "deactivation_reason"),
        ({"active": True, "deactivation_reason": "lost"}, "deactivation_reason"),
        ({"timezone": "Mars/Olympus"}, "timezone"),
        ({"rotation": 45}, "rotation"),
        ({"orientation": "diagonal"}, "orientation"),
        ({"allocated_times": [1, 2]}, "allocated_times"),
        ({"name": ""}, "name"),
    ],
)
def test_bad_input_is_a_400_in_the_error_shape_and_changes_nothing(api, fleet, make_screen, payload, field):
    screen = make_screen(fleet, "Untouched", opening_hours={"1": [["08:00", "20:00"]]})
    response = api.patch(f"{BASE}{screen.pk}/", data=json.dumps(payload), content_type="application/json")
    assert response.status_code == 400, response.content
    errors = response.json()[field]
    assert isinstance(errors, list) and errors[0]["message"] and errors[0]["code"]
    screen.refresh_from_db()
    assert (screen.name, screen.opening_hours, screen.active) == ("Untouched", {"1": [["08:00", "20:00"]]}, True)


def test_overlap_message_says_which_ranges(api, fleet, make_screen):
    screen = make_screen(fleet)
    payload = {"opening_hours": {"3": [["09:00", "12:00"], ["11:00", "14:00"]]}}
    response = api.patch(f"{BASE}{screen.pk}/", payload, format="json")
    assert response.json() == {
        "opening_hours": [{"message": 'Day "3": 09:00-12:00 overlaps 11:00-14:00.', "code": "invalid"}]
    }


def test_touching_ranges_and_end_of_day_are_fine(api, fleet, make_screen):
    screen = make_screen(fleet)
    payload = {"opening_hours": {"1": [["12:00", "24:00"], ["00:00", "12:00"]]}}
    response = api.patch(f"{BASE}{screen.pk}/", payload, format="json")
    assert response.status_code == 200
    assert response.json()["opening_hours"] == {"1": [["00:00", "12:00"], ["12:00", "24:00"]]}


@pytest.mark.parametrize(
    "query",
    [
        "online_modified_date__gt=yesterday",
        "online_modified_date__lte=2026-13-45T99:00:00Z",
        "active=maybe",
        "id=not-a-uuid",
        "group=abc",
        "deactivation_reason=broken",
    ],
)
def test_malformed_filters_are_400(api, query):
    response = api.get(f"{BASE}?{query}")
    assert response.status_code == 400
    field = query.split("=")[0]
    assert response.json()[field][0]["code"]


# --- online state -----------------------------------------------------------------------------------


def test_online_date_moves_only_when_the_state_changes(fleet, make_screen):
    screen = make_screen(fleet)
    first = timezone.now()
    assert screens_set_online(screen_ids=[screen.pk], online=True, at=first) == 1
    assert screens_set_online(screen_ids=[screen.pk], online=True, at=first + timezone.timedelta(minutes=5)) == 0
    screen.refresh_from_db()
    assert (screen.online, screen.online_modified_date) == (True, first)
    later = first + timezone.timedelta(hours=1)
    assert screens_set_online(screen_ids=[screen.pk], online=False, at=later) == 1
    screen.refresh_from_db()
    assert (screen.online, screen.online_modified_date) == (False, later)


def test_online_is_read_only_through_the_api(api, fleet, make_screen):
    screen = make_screen(fleet)
    api.patch(f"{BASE}{screen.pk}/", {"online": True, "online_modified_date": "2020-01-01T00:00:00Z"}, format="json")
    screen.refresh_from_db()
    assert screen.online is False and screen.online_modified_date is None


# --- query counts -----------------------------------------------------------------------------------


def _queries(api, query) -> int:
    with CaptureQueriesContext(connection) as captured:
        response = api.get(f"{BASE}?{query}")
    assert response.status_code == 200
    return len(captured)


@pytest.mark.parametrize("fields", ["", "&fields=name,slug", "&fields=id,name,city,groups,place", "&expand=place"])
def test_list_queries_do_not_grow_with_page_size(api, fleet, make_screen, make_place, fields):
    places = [make_place(f"City {i}", street_number=str(i)) for i in range(5)]
    groups = [ScreenGroupFactory(fleet=fleet, name=f"G{i}") for i in range(3)]
    screen_type = ScreenTypeFactory(fleet=fleet, name="T", width=1920, height=1080)
    for index in range(120):
        screen = make_screen(fleet, f"S{index:03}", place=places[index % 5], screen_type=screen_type)
        screen.groups.set(groups[: index % 4])
    small, large = _queries(api, f"limit=1{fields}"), _queries(api, f"limit=100{fields}")
    assert small == large
    assert large <= 5  # user, count, page (joined with its place), groups, players


def test_fields_trim_the_select(api, fleet, make_screen):
    make_screen(fleet, "Only")
    with CaptureQueriesContext(connection) as captured:
        api.get(f"{BASE}?fields=name,slug")
    page = [q["sql"] for q in captured.captured_queries if 'FROM "screens_screen"' in q["sql"]][-1]
    select = page.split(" FROM ")[0]
    assert '"screens_screen"."slug"' in select
    assert "opening_hours" not in select and "places_place" not in page
