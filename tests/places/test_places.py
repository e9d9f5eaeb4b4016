"""Reference 000 "Manage place": public and exclusive places, every example request."""

import json

import pytest

from apps.accounts.models import Role
from apps.places.geocoding import Geocoded
from apps.places.models import Place

pytestmark = pytest.mark.django_db

BASE = "/api/management/v2/places/"
ADDRESS = {"street_number": "20", "address": "Rue de la République", "postalcode": "69002", "city": "Lyon"}


def post(api, payload):
    return api.post(BASE, data=json.dumps(payload), content_type="application/json")


def send(api, method, place, payload):
    return getattr(api, method)(f"{BASE}{place.pk}/", data=json.dumps(payload), content_type="application/json")


def test_create_a_public_place_with_the_four_required_fields(api):
    response = post(api, ADDRESS)
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["name"] == "20 Rue de la République, 69002 Lyon"  # no geocoder: the address
    assert body["full_address"] == "20 Rue de la République, 69002 Lyon"
    assert body["exclusive_fleet"] is None and body["location"] is None
    assert Place.objects.get(pk=body["id"]).is_public


def test_custom_name(api):
    assert post(api, {**ADDRESS, "name": "My Favorite Place"}).json()["name"] == "My Favorite Place"


@pytest.mark.parametrize("missing", ["street_number", "address", "postalcode", "city"])
def test_the_four_fields_are_required(api, missing):
    response = post(api, {key: value for key, value in ADDRESS.items() if key != missing})
    assert response.status_code == 400
    assert response.json() == {missing: [{"message": "This field is required.", "code": "required"}]}
    assert not Place.objects.exists()


def test_create_an_exclusive_place_and_reuse_it(api, fleet):
    payload = {**ADDRESS, "name": "My Favorite Place", "exclusive_fleet": fleet.pk, "private_fleet_key": "my-key"}
    first = post(api, payload)
    assert first.status_code == 201
    assert first.json()["exclusive_fleet"] == fleet.pk  # in the form the reference gives it: the fleet's id
    assert first.json()["private_fleet_key"] == "my-key"
    again = post(api, {**payload, "address": "rue de la république", "name": "Another name"})
    assert again.status_code == 200
    assert again.json()["id"] == first.json()["id"]
    assert Place.objects.count() == 1


def test_only_members_create_exclusive_places(api, other_fleet, client_for, make_member, fleet):
    response = post(api, {**ADDRESS, "exclusive_fleet": other_fleet.pk})
    assert response.status_code == 400
    assert response.json()["exclusive_fleet"][0]["code"] == "does_not_exist"
    viewer = client_for(make_member(fleet, Role.VIEWER))
    assert post(viewer, {**ADDRESS, "exclusive_fleet": fleet.pk}).status_code == 403
    assert post(viewer, ADDRESS).status_code == 403
    assert not Place.objects.exists()


def test_list_shows_public_and_own_exclusive_places(api, fleet, other_fleet, make_place):
    make_place("Paris")
    make_place("Lyon", exclusive_fleet=fleet)
    make_place("Nice", exclusive_fleet=other_fleet)
    cities = sorted(place["city"] for place in api.get(BASE).json()["results"])
    assert cities == ["Lyon", "Paris"]


def test_reference_filters(api, fleet, make_place):
    make_place("Toulouse", exclusive_fleet=fleet, private_fleet_key="k1", name="Capitole")
    make_place("Toulouse", name="Gare Matabiau", street_number="9")
    make_place("Paris", exclusive_fleet=fleet, name="Louvre")

    def cities(query):
        return sorted(place["name"] for place in api.get(f"{BASE}?{query}").json()["results"])

    assert cities(f"city=Toulouse&exclusive_fleet={fleet.pk}") == ["Capitole"]
    assert cities("city=Toulouse") == ["Capitole", "Gare Matabiau"]
    assert cities("name=gare") == ["Gare Matabiau"]  # partial, case-insensitive
    assert cities("private_fleet_key=k1") == ["Capitole"]
    assert cities("full_address=1%20Rue%20de%20Rivoli%2C%2075001%20Paris") == ["Louvre"]


def test_update_a_private_place(api, fleet, make_place):
    place = make_place("Paris", exclusive_fleet=fleet)
    payload = {
        "exclusive_fleet": fleet.pk,
        "city": "Lyon",
        "address": "Rue de la République",
        "postalcode": "69002",
        "street_number": "20",
    }
    response = send(api, "patch", place, payload)
    assert response.status_code == 200, response.content
    assert response.json()["full_address"] == "20 Rue de la République, 69002 Lyon"
    response = send(api, "patch", place, {"exclusive_fleet": fleet.pk, "name": "New Name", "private_fleet_key": "new"})
    assert (response.json()["name"], response.json()["private_fleet_key"]) == ("New Name", "new")


def test_update_needs_the_matching_exclusive_fleet(api, fleet, make_place, user, other_fleet):
    from apps.accounts.models import Membership

    Membership.objects.create(user=user, fleet=other_fleet, role=Role.ADMIN)
    place = make_place("Paris", exclusive_fleet=fleet)
    response = send(api, "patch", place, {"name": "No fleet given"})
    assert response.status_code == 400
    assert response.json() == {"exclusive_fleet": [{"message": "This field is required.", "code": "required"}]}
    response = send(api, "patch", place, {"name": "Wrong fleet", "exclusive_fleet": other_fleet.pk})
    assert response.status_code == 400
    assert response.json()["exclusive_fleet"][0]["message"] == "This is not the fleet this place is exclusive to."
    place.refresh_from_db()
    assert place.name != "Wrong fleet"


def test_an_update_that_duplicates_another_place_returns_it(api, fleet, make_place):
    existing = make_place("Lyon", exclusive_fleet=fleet, **{k: v for k, v in ADDRESS.items() if k != "city"})
    place = make_place("Paris", exclusive_fleet=fleet)
    response = send(api, "patch", place, {"exclusive_fleet": fleet.pk, **ADDRESS})
    assert response.status_code == 400
    body = response.json()
    assert body["__all__"] == [
        {"message": "Another place of this fleet already has this address.", "code": "duplicate"}
    ]
    assert body["place"]["id"] == existing.pk
    place.refresh_from_db()
    assert place.city == "Paris"


def test_public_places_are_immutable(api, fleet, make_place):
    place = make_place("Paris")
    for method in ("patch", "delete"):
        response = send(api, method, place, {"exclusive_fleet": fleet.pk, "name": "Mine"})
        assert response.status_code == 403
        assert response.json()["detail"].startswith("Public places are shared by every fleet")
    assert Place.objects.filter(pk=place.pk, name=place.name).exists()


def test_delete_a_private_place(api, fleet, make_place, make_screen):
    place = make_place("Paris", exclusive_fleet=fleet)
    screen = make_screen(fleet, place=place)
    response = send(api, "delete", place, {"exclusive_fleet": fleet.pk})
    assert response.status_code == 400
    assert response.json() == {
        "__all__": [{"message": "This place cannot be deleted while screens are attached to it.", "code": "protected"}]
    }
    screen.delete()
    assert send(api, "delete", place, {}).status_code == 400  # exclusive_fleet is required
    assert send(api, "delete", place, {"exclusive_fleet": fleet.pk}).status_code == 204
    assert not Place.objects.filter(pk=place.pk).exists()


def test_another_fleets_exclusive_place_is_404(api, other_fleet, make_place):
    place = make_place("Nice", exclusive_fleet=other_fleet)
    assert api.get(f"{BASE}{place.pk}/").status_code == 404
    assert send(api, "patch", place, {"exclusive_fleet": other_fleet.pk, "name": "x"}).status_code == 404
    assert send(api, "delete", place, {"exclusive_fleet": other_fleet.pk}).status_code == 404


class FakeGeocoder:
    def geocode(self, address):
        return Geocoded(name=f"Place in {address.city}", latitude=45.76, longitude=4.83, google_place_id="gp-1")


def test_a_configured_geocoder_fills_what_was_not_given(api, settings):
    settings.SIGNAGE_GEOCODER = "tests.places.test_places.FakeGeocoder"
    body = post(api, ADDRESS).json()
    assert body["name"] == "Place in Lyon"
    assert body["location"] == {"latitude": 45.76, "longitude": 4.83}
    assert body["google_place_id"] == "gp-1"
    given = post(api, {**ADDRESS, "street_number": "21", "name": "Mine", "location": {"latitude": 1, "longitude": 2}})
    assert (given.json()["name"], given.json()["location"]) == ("Mine", {"latitude": 1.0, "longitude": 2.0})


@pytest.mark.parametrize("location", [{"latitude": 91, "longitude": 0}, {"lat": 1}, "here", [1, 2]])
def test_bad_locations_are_400(api, location):
    response = post(api, {**ADDRESS, "location": location})
    assert response.status_code == 400
    assert "location" in response.json()
