"""Classes of hostile input are refused once, at the parser, with a 4xx and nothing changed (issue 14,
findings 3, 4, 5 and 11)."""

import json

import pytest

from apps.ads.models import Ad

pytestmark = pytest.mark.django_db

H = "/api/management/v2"


def raw(client, method, path, body: str | bytes, content_type="application/json"):
    return getattr(client, method)(path, data=body, content_type=content_type)


def nested(depth: int) -> str:
    return "[" * depth + "]" * depth


@pytest.mark.parametrize("depth", [1000, 100_000])
def test_json_nested_deep_is_a_400_even_unauthenticated(anon, depth):
    response = raw(anon, "post", "/api/get_jwt_token/", f'{{"username": {nested(depth)}}}')
    assert response.status_code == 400
    assert response.json() == {"detail": "JSON nested deeper than 32 levels.", "code": "parse_error"}


def test_json_nested_just_too_deep_for_the_limit_is_refused_before_any_write(api, fleet, make_screen):
    screen = make_screen(fleet, "Lobby")
    value = {"a": 1}
    for _ in range(40):
        value = {"a": value}
    response = raw(api, "patch", f"{H}/screens/{screen.pk}/", json.dumps({"name": "Renamed", "x": value}))
    assert response.status_code == 400
    assert response.json()["code"] == "parse_error"
    screen.refresh_from_db()
    assert screen.name == "Lobby"


@pytest.mark.parametrize("field", ["deactivation_reason", "timezone", "orientation", "rotation", "name"])
def test_a_lone_surrogate_in_any_screen_field_is_a_400(api, fleet, make_screen, field):
    screen = make_screen(fleet, "Lobby")
    body = json.dumps({field: "x\ud800"})  # ensure_ascii: the body holds the escape `\ud800`
    assert "\\ud800" in body
    response = raw(api, "patch", f"{H}/screens/{screen.pk}/", body)
    assert response.status_code == 400
    assert response.json() == {
        "detail": "Text may not contain NUL characters or unpaired surrogates.",
        "code": "parse_error",
    }
    screen.refresh_from_db()
    assert screen.name == "Lobby"


def test_a_lone_surrogate_in_a_key_is_a_400(api, fleet, make_screen):
    screen = make_screen(fleet, "Lobby")
    response = raw(api, "patch", f"{H}/screens/{screen.pk}/", json.dumps({"allocated_times": {"\udc00": 5}}))
    assert response.status_code == 400
    assert response.json()["code"] == "parse_error"


def test_a_paired_surrogate_is_ordinary_text(api, fleet, make_screen):
    screen = make_screen(fleet, "Lobby")
    body = json.dumps({"name": "Lobby \U0001f600"})  # sent as the pair \ud83d\ude00
    assert "\\ud83d\\ude00" in body
    response = raw(api, "patch", f"{H}/screens/{screen.pk}/", body)
    assert response.status_code == 200
    screen.refresh_from_db()
    assert screen.name == "Lobby \U0001f600"


def test_a_nul_byte_in_a_campaign_never_reaches_the_database(api, fleet):
    body = json.dumps({"name": "Spring", "campaign_startdate": "2026-01-01", "author_origin": "a\x00b"})
    response = raw(api, "post", f"{H}/ads/", body)
    assert response.status_code == 400
    assert response.json()["code"] == "parse_error"
    assert not Ad.objects.exists()


def test_a_nul_byte_in_a_form_body_is_a_400(anon):
    response = raw(
        anon,
        "post",
        "/api/get_jwt_token/",
        "username=a%00b&password=x",
        content_type="application/x-www-form-urlencoded",
    )
    assert response.status_code == 400
    assert response.json()["code"] == "parse_error"


def test_a_nul_byte_in_a_query_string_is_a_400(api, fleet, make_screen):
    make_screen(fleet, "Lobby")
    for query in ["search=a%00b", "name=a%00", "fields=id%00"]:
        response = api.get(f"{H}/screens/?{query}")
        assert response.status_code == 400, query
        assert response.json()["code"] == "parse_error"


def test_numbers_beyond_a_float_are_a_400(api, fleet, make_screen):
    screen = make_screen(fleet, "Lobby")
    response = raw(api, "patch", f"{H}/screens/{screen.pk}/", '{"allocated_times": {"1": 1e309}}')
    assert response.status_code == 400
    assert response.json()["code"] == "parse_error"
    screen.refresh_from_db()
    assert screen.allocated_times == {}


def test_a_big_screen_patch_is_a_413_and_changes_nothing(api, fleet, make_screen, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 10_000
    screen = make_screen(fleet, "Lobby")
    body = json.dumps({"name": "Renamed", "deactivation_reason": "x" * 20_000})
    response = raw(api, "patch", f"{H}/screens/{screen.pk}/", body)
    assert response.status_code == 413
    assert response.json() == {"detail": "The request body is larger than 10000 bytes.", "code": "request_too_large"}
    screen.refresh_from_db()
    assert screen.name == "Lobby"


@pytest.mark.parametrize(
    "path, field",
    [
        ("ads", "status"),
        ("ads", "campaign_type"),
        ("ads", "multimedia_type"),
        ("ads", "author_origin"),
        ("screen_types", "orientation"),
        ("screen_groups", "name"),
        ("places", "city"),
    ],
)
def test_a_lone_surrogate_is_a_400_on_every_endpoint_the_campaign_found(api, fleet, path, field):
    before = api.get(f"{H}/{path}/").json()["count"]
    body = json.dumps({"name": "X", field: "\udfff"})
    response = raw(api, "post", f"{H}/{path}/", body)
    assert response.status_code == 400
    assert response.json()["code"] == "parse_error"
    assert api.get(f"{H}/{path}/").json()["count"] == before
