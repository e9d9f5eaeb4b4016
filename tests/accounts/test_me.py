import pytest

from apps.accounts.models import Role
from signage.api import ratelimit

pytestmark = pytest.mark.django_db

ME = "/api/management/v2/me/"


def test_me_describes_principal_fleets_limits_and_features(api, user, fleet, other_fleet, make_member):
    fleet.share_of_voice = True
    fleet.save()
    body = api.get(ME).json()
    principal = body["principal"]
    assert principal["type"] == "user"
    assert principal["username"] == "james"
    assert principal["application"] is None
    assert principal["scopes"] == ["read", "write", "groups"]
    assert principal["expires_at"] is not None

    assert [(f["name"], f["role"], f["max_screens_allowed"], f["active_screens_count"]) for f in body["fleets"]] == [
        ("Paris Metro", "admin", 50, 0)
    ]
    assert body["features"] == {"share_of_voice": True, "external_storage": False}

    limits = {(row["endpoint"], tuple(row["methods"])): row for row in body["rate_limits"]}
    assert limits[("/medias/", ("POST",))]["hourly"]["limit"] == 300
    assert limits[("/medias/", ("GET", "PATCH", "DELETE"))]["daily"]["limit"] == 200
    assert limits[("/screens/", ("GET",))]["hourly"]["limit"] == 100000
    assert limits[("/screens/", ("POST", "PATCH", "DELETE"))]["hourly"]["limit"] == 100000
    assert limits[("/ads/", ("GET", "POST", "PATCH", "DELETE"))]["daily"]["limit"] == 20000
    assert limits[("/fleets/", ("GET", "POST", "PATCH", "DELETE"))]["hourly"]["limit"] == 100000


def test_me_counts_usage_but_is_not_counted(api, user):
    for _ in range(3):
        api.get("/api/management/v2/fleets/")
    first = api.get(ME).json()
    second = api.get(ME).json()
    fleets_row = next(row for row in second["rate_limits"] if row["endpoint"] == "/fleets/")
    assert fleets_row["hourly"]["used"] == 3
    assert fleets_row["hourly"]["remaining"] == 99997
    assert first["rate_limits"] == second["rate_limits"]
    assert ratelimit.peek(f"user:{user.pk}", [("me", "GET")])[("me", "GET")][0].used == 0


def test_me_of_a_viewer_lists_only_their_fleets(client_for, other_fleet, make_member, fleet):
    viewer = make_member(other_fleet, Role.VIEWER)
    body = client_for(viewer).get(ME).json()
    assert [(f["name"], f["role"]) for f in body["fleets"]] == [("Lyon Malls", "viewer")]


def test_me_needs_credentials(anon):
    response = anon.get(ME)
    assert response.status_code == 401
    assert "X-RateLimit-Limit" in response


@pytest.mark.parametrize("query", ["?fields=id", "?fields=name", "?omit=share_of_voice", "?expand=advertiser_types"])
def test_field_selection_parameters_do_not_touch_me(api, query):
    response = api.get(ME + query)
    assert response.status_code == 200
    assert response.json()["fleets"][0]["share_of_voice"] is False
    assert set(response.json()) == {"principal", "fleets", "rate_limits", "features"}
