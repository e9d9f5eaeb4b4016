"""Numbers and days the database or the quota engine cannot hold are 400s; a PATCH validates a nested
object as a creation does (issue 14, findings 6, 7, 8, 10)."""

import json
from datetime import date

import pytest
from django.utils import timezone

from apps.accounts.models import Membership
from apps.ads.models import Ad, Broadcast
from apps.ads.quota import Load, first_overflows

from .helpers import media_url, url

H = "/api/management/v2"
ADUPDATER = {
    "category": "screenshot",
    "refresh_time": 3600,
    "parameters": {"url": "https://example.com", "geometry": [1024, 768], "duration": 20},
}

pytestmark = pytest.mark.django_db


def send(api, method, path, payload):
    return getattr(api, method)(path, data=json.dumps(payload), content_type="application/json")


@pytest.fixture
def screen(fleet, make_screen):
    return make_screen(fleet, "Lobby")


@pytest.fixture
def media(fleet, make_media):
    return make_media(fleet)


@pytest.fixture
def ad(api, screen, media):
    payload = {"name": "A", "broadcasts": [{"media": media_url(media), "screens": [url(screen)]}]}
    response = send(api, "post", f"{H}/ads/", payload)
    assert response.status_code == 201, response.content
    return Ad.objects.get()


@pytest.fixture
def sov(fleet, user):
    fleet.share_of_voice = True
    fleet.save()
    fleet.advertiser_types.add(1)
    Membership.objects.filter(user=user, fleet=fleet).update(advertiser_type=1)
    return fleet


def test_a_broadcast_order_beyond_the_column_is_a_400(api, ad, screen, media):
    broadcast = Broadcast.objects.get()
    response = send(api, "patch", f"{H}/broadcasts/{broadcast.pk}/", {"order": 2**31})
    assert response.status_code == 400
    assert response.json()["order"][0]["code"] == "max_value"
    created = send(
        api,
        "post",
        f"{H}/broadcasts/",
        {"ad": str(ad.pk), "media": media_url(media), "screens": [url(screen)], "order": 2**31},
    )
    assert created.status_code == 400
    nested = send(
        api,
        "post",
        f"{H}/ads/",
        {"name": "B", "broadcasts": [{"media": media_url(media), "screens": [url(screen)], "order": 2**31}]},
    )
    assert nested.status_code == 400
    assert nested.json()["broadcasts"]["0"]["order"][0]["code"] == "max_value"
    assert Ad.objects.count() == 1 and Broadcast.objects.get().order == broadcast.order
    assert send(api, "patch", f"{H}/broadcasts/{broadcast.pk}/", {"order": 2**31 - 1}).status_code == 200


def test_the_schema_states_the_bounds_of_whole_numbers():
    from drf_spectacular.generators import SchemaGenerator

    schemas = SchemaGenerator().get_schema(request=None, public=True)["components"]["schemas"]
    unbounded = []
    for name, schema in schemas.items():
        if not name.endswith("Request"):
            continue
        stack = [(name, schema)]
        while stack:
            where, node = stack.pop()
            if isinstance(node, dict):
                if node.get("type") == "integer" and not node.get("readOnly") and "maximum" not in node:
                    unbounded.append(where)
                stack += [(f"{where}.{key}", value) for key, value in node.items()]
            elif isinstance(node, list):
                stack += [(where, value) for value in node]
    assert not unbounded
    assert schemas["PatchedBroadcastRequest"]["properties"]["order"]["maximum"] == 2**31 - 1


@pytest.mark.parametrize("day", ["9999-12-31", "0001-01-01", "1969-12-31"])
def test_a_campaign_day_out_of_range_is_a_400(api, screen, media, day):
    payload = {
        "name": "Far",
        "campaign_startdate": "2026-01-01",
        "campaign_enddate": day,
        "broadcasts": [{"media": media_url(media), "screens": [url(screen)]}],
    }
    response = send(api, "post", f"{H}/ads/", payload)
    assert response.status_code == 400
    assert "campaign_enddate" in response.json()
    response = send(api, "post", f"{H}/ads/", {**payload, "campaign_startdate": day, "campaign_enddate": None})
    assert response.status_code == 400
    assert "campaign_startdate" in response.json()
    assert not Ad.objects.exists()


def test_a_share_of_voice_campaign_ending_on_the_last_day_allowed_is_checked(api, sov, make_screen, media):
    screen = make_screen(sov, "Hall", allocated_times={"1": 5})
    payload = {
        "name": "Long",
        "campaign_startdate": str(timezone.now().date()),
        "campaign_enddate": "9998-12-31",
        "author_origin": 1,
        "broadcasts": [{"media": media_url(media), "screens": [url(screen)]}],
    }
    response = send(api, "post", f"{H}/ads/", payload)
    assert response.status_code == 400  # 10 s of content, 5 s allocated: the quota engine answered
    assert response.json()["__all__"]["code"] == "duration_error"


def test_the_engine_takes_the_last_day_python_knows():
    loads = [Load("a", date(2026, 1, 1), date.max, {"s": 10.0})]
    result = first_overflows(
        screen_ids=["s"], loads=loads, quotas={"s": 5.0}, span_start=date(2026, 1, 1), span_end=date.max
    )
    assert result["s"].day == date(2026, 1, 1)


def test_patching_a_nested_object_validates_it_as_a_creation(api, fleet):
    created = send(api, "post", f"{H}/ads/", {"name": "H", "adupdater": ADUPDATER, "broadcasts": [{"screens": []}]})
    assert created.status_code == 201, created.content
    ad_url = f"{H}/ads/{created.json()['id']}/"
    for broken in [{}, {"category": "screenshot"}, {**ADUPDATER, "parameters": {}}]:
        response = send(api, "patch", ad_url, {"adupdater": broken})
        assert response.status_code == 400, broken
        assert "adupdater" in response.json()
    assert Ad.objects.get().adupdater == ADUPDATER
    assert api.get(ad_url).status_code == 200
    assert api.get(f"{H}/ads/").status_code == 200


def test_patching_broadcasts_validates_each_as_a_creation(api, ad):
    response = send(api, "patch", f"{H}/ads/{ad.pk}/", {"broadcasts": [{}]})
    assert response.status_code == 400
    assert response.json()["broadcasts"]["0"]["screens"][0]["code"] == "required"
    assert Broadcast.objects.count() == 1


def test_allocated_times_are_bounded(api, sov, make_screen):
    screen = make_screen(sov, "Hall")
    for value in [10**400, 86_401, -1, 1.5]:
        body = json.dumps({"allocated_times": {"1": value}})
        response = api.patch(f"{H}/screens/{screen.pk}/", data=body, content_type="application/json")
        assert response.status_code == 400, value
    screen.refresh_from_db()
    assert screen.allocated_times == {}
    response = send(api, "patch", f"{H}/screens/{screen.pk}/", {"allocated_times": {"1": 86_400}})
    assert response.status_code == 200
