"""The screens list's fast path (signage/api/fastlist.py): the same bytes as DRF's serializer for the same
rows, with `fields=`, `omit=`, `expand=`, filters and ordering, and the same number of queries."""

from datetime import UTC, datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from apps.devices.models import Device
from apps.screens.api.views import ScreenViewSet
from apps.screens.models import ScreenGroup, ScreenType

pytestmark = pytest.mark.django_db

HOST = "http://testserver/api/management/v2"
QUERIES = [
    "",
    "fields=id,name,players,groups,place,city,last_seen_at",
    "omit=groups,players,full_address",
    "fields=url,fleet,screen_type,opening_hours,allocated_times,rotation,deactivation_reason,google_place_id",
    "expand=place,groups",  # DRF's path for both: compared all the same
    "fields=players.id",  # dotted: DRF's path
    "ordering=-name&online=false",
    "search=Hall",
    "limit=2&offset=1",
]


@pytest.fixture
def screens(fleet, other_fleet, make_screen, make_place):
    paris, lyon = make_place(), make_place(city="Lyon", google_place_id="ChIJ-lyon")
    kind = ScreenType.objects.create(fleet=fleet, name="Portrait 4K", width=2160, height=3840)
    one = make_screen(fleet, "Hall A", place=paris, screen_type=kind, rotation=90, description="Entrée « nord »")
    two = make_screen(fleet, "Hall B", place=lyon, active=False, deactivation_reason="maintenance", location="")
    three = make_screen(fleet, "Kiosk", opening_hours={"1": [["09:00", "18:00"]]}, custom_slug="kiosk-1")
    three.last_seen_at = three.online_modified_date = datetime(2026, 3, 29, 1, 30, 15, 123456, tzinfo=UTC)
    three.save()
    make_screen(other_fleet, "Elsewhere")
    for name in ("Zeta", "Alpha"):
        group = ScreenGroup.objects.create(fleet=fleet, name=name)
        group.screens.add(one, three)
    for index, (screen, barcode) in enumerate([(one, "B-2"), (one, "B-1"), (three, "")]):
        Device.objects.create(
            uuid=f"fast-{index}", fleet=fleet, screen=screen, name=f"P{index}", barcode=barcode, token_hash=f"{index}"
        )
    return [one, two, three]


def both(api, monkeypatch, query):
    """The list through the fast path and through DRF, with each one's SQL statements."""
    answers = []
    for fast in (True, False):
        monkeypatch.setattr(ScreenViewSet, "fast_list", fast)
        with CaptureQueriesContext(connection) as queries:
            response = api.get(f"{HOST}/screens/?{query}")
        answers.append((response, [q["sql"] for q in queries.captured_queries]))
    return answers


@pytest.mark.parametrize("query", QUERIES)
def test_the_fast_list_is_drfs_json_byte_for_byte_with_as_many_queries(api, screens, monkeypatch, query):
    (fast, fast_sql), (drf, drf_sql) = both(api, monkeypatch, query)
    assert fast.status_code == drf.status_code == 200
    assert fast.content == drf.content
    assert len(fast_sql) == len(drf_sql), (fast_sql, drf_sql)
    assert fast.json()["results"], "the comparison saw rows"


def test_the_fast_path_really_serves_the_plain_list(api, screens, monkeypatch):
    """Not DRF in disguise: the page is read with values() (no model instance), the relations too."""
    from apps.screens.api.serializers import ScreenSerializer

    def refuse(*args, **kwargs):
        raise AssertionError("DRF's serializer rendered a row")

    monkeypatch.setattr(ScreenSerializer, "to_representation", refuse)
    body = api.get(f"{HOST}/screens/").json()
    hall = body["results"][0]
    assert hall["name"] == "Hall A" and hall["city"] == "Paris" and hall["rotation"] == 90
    assert [player["barcode"] for player in hall["players"]] == ["B-2", "B-1"]  # the players' own order (name)
    groups = {group.name: f"{HOST}/screen_groups/{group.pk}/" for group in ScreenGroup.objects.all()}
    assert hall["groups"] == [groups["Alpha"], groups["Zeta"]]
    assert body["results"][2]["last_seen_at"] == "2026-03-29T01:30:15.123456Z"  # through DRF's own DateTimeField


def test_bad_selections_are_the_same_400(api, screens, monkeypatch):
    (fast, _), (drf, _) = both(api, monkeypatch, "fields=id,nonsense")
    assert fast.status_code == drf.status_code == 400 and fast.content == drf.content


@pytest.mark.parametrize("size", [3, 12])
def test_the_fast_list_queries_do_not_grow_with_the_page(api, fleet, screens, make_screen, monkeypatch, size):
    while fleet.screens.count() < size:
        make_screen(fleet, f"More {fleet.screens.count():03}")
    (fast, fast_sql), (drf, drf_sql) = both(api, monkeypatch, "")
    assert fast.content == drf.content and fast.json()["count"] == size
    assert len(fast_sql) == len(drf_sql) == BASE_QUERIES


BASE_QUERIES = 5  # the user, the count, the page, its players, its groups


def test_dates_and_times_follow_the_current_timezone_like_drf(api, screens, monkeypatch, settings):
    settings.TIME_ZONE = "America/New_York"
    (fast, _), (drf, _) = both(api, monkeypatch, "fields=name,last_seen_at,created")
    assert fast.content == drf.content
    assert fast.json()["results"][2]["last_seen_at"] == "2026-03-28T21:30:15.123456-04:00"
