import pytest
from django.contrib.auth.models import Permission
from django.db import connection
from django.test.utils import CaptureQueriesContext

from apps.accounts.models import Fleet, Membership, Role

pytestmark = pytest.mark.django_db

FLEETS = "/api/management/v2/fleets/"


def test_lists_only_the_principals_fleets(api, fleet, other_fleet):
    response = api.get(FLEETS)
    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 1
    assert [item["name"] for item in body["results"]] == ["Paris Metro"]
    assert other_fleet.name not in response.content.decode()


def test_another_fleets_detail_is_404(api, other_fleet):
    assert api.get(f"{FLEETS}{other_fleet.pk}/").status_code == 404


def test_fleet_representation(api, fleet):
    fleet.advertiser_types.add(1, 2)
    fleet.share_of_voice = True
    fleet.save()
    item = api.get(f"{FLEETS}{fleet.pk}/").json()
    assert item["url"] == f"http://testserver{FLEETS}{fleet.pk}/"
    assert item["id"] == fleet.pk
    assert item["role"] == "admin"
    assert item["max_screens_allowed"] == 50
    assert item["active_screens_count"] == 0
    assert item["external_storage"] is False
    assert item["advertiser_types"] == [{"id": 1, "name": "lessor"}, {"id": 2, "name": "advertiser"}]


def test_superuser_sees_every_fleet(client_for, fleet, other_fleet, django_user_model):
    root = django_user_model.objects.create_superuser("root", password="x")
    names = [item["name"] for item in client_for(root).get(FLEETS).json()["results"]]
    assert names == ["Lyon Malls", "Paris Metro"]


def test_staff_are_scoped_unless_they_hold_the_operator_permission(client_for, fleet, other_fleet, make_member):
    staff = make_member(fleet, Role.VIEWER, is_staff=True)
    assert client_for(staff).get(FLEETS).json()["count"] == 1
    staff.user_permissions.add(Permission.objects.get(codename="view_every_fleet"))
    assert client_for(staff).get(FLEETS).json()["count"] == 2


def test_search_and_ordering(api, make_member, user):
    for name in ["Alpha Stations", "Beta Shops"]:
        Membership.objects.create(user=user, fleet=Fleet.objects.create(name=name), role=Role.VIEWER)
    assert [f["name"] for f in api.get(FLEETS, {"search": "beta"}).json()["results"]] == ["Beta Shops"]
    names = [f["name"] for f in api.get(FLEETS, {"ordering": "-name"}).json()["results"]]
    assert names == ["Paris Metro", "Beta Shops", "Alpha Stations"]


def test_pagination_limits(api, user):
    Membership.objects.bulk_create(
        Membership(user=user, fleet=fleet, role=Role.VIEWER)
        for fleet in Fleet.objects.bulk_create(Fleet(name=f"Fleet {i:03}") for i in range(120))
    )
    body = api.get(FLEETS).json()
    assert body["count"] == 121
    assert len(body["results"]) == 100
    assert body["previous"] is None
    assert "limit=100&offset=100" in body["next"]
    body = api.get(FLEETS, {"limit": 5, "offset": 118}).json()
    assert len(body["results"]) == 3
    assert body["next"] is None
    assert len(api.get(FLEETS, {"limit": 5000}).json()["results"]) == 121  # capped at 1000, not refused


def test_fields_omit_and_the_sql_they_select(api, fleet):
    with CaptureQueriesContext(connection) as queries:
        body = api.get(FLEETS, {"fields": "id,name"}).json()
    assert body["results"] == [{"id": fleet.pk, "name": "Paris Metro"}]
    fleet_select = [q["sql"] for q in queries.captured_queries if 'FROM "accounts_fleet"' in q["sql"]][-1]
    assert '"accounts_fleet"."name"' in fleet_select
    assert '"accounts_fleet"."timezone"' not in fleet_select
    assert "accounts_membership" not in fleet_select.split("WHERE")[0]  # no role subquery selected
    assert not any("advertisertype" in q["sql"] for q in queries.captured_queries)

    item = api.get(FLEETS, {"omit": "advertiser_types,created,modified,url"}).json()["results"][0]
    assert "advertiser_types" not in item and "url" not in item and item["timezone"] == "Europe/Paris"


def _count_queries(api, params) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert api.get(FLEETS, params).status_code == 200
    return len(queries)


@pytest.mark.parametrize("fields", [None, "id,name,role,advertiser_types"])
def test_query_count_does_not_grow_with_page_size(api, user, fields):
    fleets = Fleet.objects.bulk_create(Fleet(name=f"Fleet {i:03}") for i in range(120))
    Membership.objects.bulk_create(Membership(user=user, fleet=fleet, role=Role.EDITOR) for fleet in fleets)
    for fleet in fleets:
        fleet.advertiser_types.add(1, 2)
    params = {"fields": fields} if fields else {}
    small = _count_queries(api, {**params, "limit": 1})
    large = _count_queries(api, {**params, "limit": 100})
    assert small == large
    # user, count, page, advertiser types prefetch
    assert large <= 4
