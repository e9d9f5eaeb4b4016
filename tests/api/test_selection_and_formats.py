"""What a list answers always matches its schema (issue 14, finding 15): `fields=` empty selects
nothing out, an unknown field is a 400, an unknown `format` is a 400, and the parse_error 400 and the
413 are documented."""

import pytest
from drf_spectacular.generators import SchemaGenerator

pytestmark = pytest.mark.django_db

H = "/api/management/v2"


@pytest.mark.parametrize("path", ["screens", "ads", "fleets", "screen_groups", "medias", "places"])
def test_an_empty_field_selection_answers_whole_objects(api, fleet, make_screen, path):
    make_screen(fleet, "Lobby")
    whole = api.get(f"{H}/{path}/").json()
    selected = api.get(f"{H}/{path}/?fields=&omit=").json()
    assert selected == whole


@pytest.mark.parametrize("query", ["fields=nope", "fields=id,nope", "omit=nope", "fields=%EF%9C%8A%C2%A4"])
def test_an_unknown_field_is_a_400(api, fleet, make_screen, query):
    make_screen(fleet, "Lobby")
    response = api.get(f"{H}/screens/?{query}")
    assert response.status_code == 400
    key = query.split("=")[0]
    assert response.json()[key][0]["message"].startswith("Unknown field")


def test_a_known_selection_still_works(api, fleet, make_screen):
    make_screen(fleet, "Lobby")
    assert api.get(f"{H}/screens/?fields=id,name").json()["results"][0].keys() == {"id", "name"}
    response = api.get(f"{H}/screens/?fields=place.city&expand=place")
    assert response.status_code == 200


def test_an_unknown_format_is_a_400_not_a_404(api, fleet):
    response = api.get(f"{H}/screens/?format=xml")
    assert response.status_code == 400
    assert response.json()["format"][0]["code"] == "invalid"
    assert api.get(f"{H}/screens/?format=json").status_code == 200


def test_the_schema_documents_parse_errors_and_big_bodies():
    schema = SchemaGenerator().get_schema(request=None, public=True)
    operation = schema["paths"]["/api/management/v2/screens/{id}/"]["patch"]
    bad = operation["responses"]["400"]["content"]["application/json"]["schema"]
    assert {"$ref": "#/components/schemas/ErrorDetail"} in bad["anyOf"]
    assert "413" in operation["responses"]
    assert "414" in schema["paths"]["/api/management/v2/screens/"]["get"]["responses"]


def test_objects_that_fields_can_trim_require_no_property_in_the_schema():
    schemas = SchemaGenerator().get_schema(request=None, public=True)["components"]["schemas"]
    for name in ["Screen", "Ad", "Fleet", "Media", "Place", "ScreenGroup"]:
        assert "required" not in schemas[name], name
        assert "`fields=`" in schemas[name]["description"]
    assert schemas["PaginatedScreenList"]["required"] == ["count", "results"]
    assert "required" in schemas["ScreenRequest"]  # what a client sends is still checked
