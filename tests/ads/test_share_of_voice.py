"""Reference 000 "Create a share of voice campaign" and SPEC section 6."""

import json
import re
import threading
from datetime import date, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from apps.accounts.models import Membership, Role
from apps.ads.models import Ad, QuotaOverflow
from apps.ads.quota import Load, first_overflows
from apps.ads.services import share_of_voice_audit
from apps.screens.models import Screen

from .helpers import media_url, url

ADS = "/api/management/v2/ads/"


def post(api, payload):
    return api.post(ADS, data=json.dumps(payload), content_type="application/json")


@pytest.fixture
def sov(fleet, user):
    fleet.share_of_voice = True
    fleet.save()
    fleet.advertiser_types.add(1, 2)
    Membership.objects.filter(user=user, fleet=fleet).update(advertiser_type=1)
    return fleet


@pytest.fixture
def screens(sov, make_screen):
    return [make_screen(sov, f"screen_{i}", allocated_times={"1": 40, "2": 30}) for i in range(1, 4)]


@pytest.fixture
def picture(sov, make_media):
    return make_media(sov, display_time=25, name="spot25")


def today():
    return timezone.now().date()


def campaign(media, screens, start=None, end=None, **extra):
    return {
        "name": extra.pop("name", "SoV"),
        "campaign_startdate": str(start or today()),
        "campaign_enddate": str(end) if end else None,
        "author_origin": extra.pop("author_origin", "lessor"),
        "broadcasts": [{"media": media_url(media), "screens": [url(s) for s in screens]}],
        **extra,
    }


@pytest.mark.django_db
def test_a_campaign_within_quota_is_created(api, screens, picture):
    response = post(api, campaign(picture, screens[:2], author_origin="Lessor"))
    assert response.status_code == 201, response.content
    assert response.json()["author_origin"] == 1
    assert post(api, campaign(picture, screens[2:], author_origin=1)).status_code == 201


@pytest.mark.django_db
def test_quota_exceeded_payload(api, screens, picture, make_media, sov):
    assert post(api, campaign(picture, screens[:2], name="first")).status_code == 201
    second = make_media(sov, display_time=25, name="second")
    response = post(api, campaign(second, screens[:2], name="second"))
    assert response.status_code == 400
    body = response.json()
    assert set(body) == {"__all__"}
    error = body["__all__"]
    assert error["code"] == "quota_exceeded"
    assert isinstance(error["message"], list) and error["message"][0].startswith("<p>")
    assert "<li><b>" in error["message"][0]
    quota = error["details"]["quota"]
    assert set(quota) == {str(screens[0].pk), str(screens[1].pk)}
    entry = quota[str(screens[0].pk)]
    assert set(entry) == {"duration", "date", "date_fmt", "quota", "screen_name"}
    assert (entry["duration"], entry["quota"], entry["screen_name"]) == (50.0, 40.0, screens[0].slug)
    assert entry["date"].endswith("+00:00")
    assert re.fullmatch(r"\d{1,2} [a-z]+ \d{4} \d{2}:\d{2}:\d{2}", entry["date_fmt"])
    assert Ad.objects.filter(name="second").count() == 0


@pytest.mark.django_db
def test_the_overflow_date_is_the_first_day_it_happens(api, screens, picture, make_media, sov):
    later = today() + timedelta(days=10)
    assert post(api, campaign(picture, screens[:1], start=later, end=later + timedelta(days=5))).status_code == 201
    other = make_media(sov, display_time=20)
    response = post(api, campaign(other, screens[:1], end=today() + timedelta(days=30)))
    entry = response.json()["__all__"]["details"]["quota"][str(screens[0].pk)]
    from apps.ads.services import MONTHS

    assert entry["date_fmt"] == f"{later.day} {MONTHS[later.month - 1]} {later.year} 00:00:00"  # Paris midnight
    assert entry["duration"] == 45.0


@pytest.mark.django_db
def test_duration_error_when_the_content_alone_is_too_long(api, screens, make_media, sov):
    long_spot = make_media(sov, display_time=45)
    response = post(api, campaign(long_spot, screens[:1]))
    assert response.status_code == 400
    assert response.json()["__all__"]["code"] == "duration_error"


@pytest.mark.django_db
def test_sliding_with_one_screen_is_screens_not_enough(api, screens, picture):
    response = post(api, campaign(picture, screens[:1], end=today() + timedelta(days=3), sliding=True))
    assert response.status_code == 400
    body = response.json()
    assert set(body) == {"screens"}
    assert body["screens"]["code"] == "screens_not_enough"
    assert body["screens"]["details"] == {"screens": "sliding campaigns must have at least 2 screens"}
    assert body["screens"]["message"].startswith("<p>")


@pytest.mark.django_db
def test_sliding_needs_two_days(api, screens, picture):
    response = post(api, campaign(picture, screens[:2], end=today(), sliding=True))
    assert response.status_code == 400
    assert response.json()["campaign_enddate"][0]["message"] == "A sliding campaign must last at least 2 days."


@pytest.mark.django_db
def test_sliding_campaigns_share_the_quota_a_day_at_a_time(api, screens, picture, make_media, sov):
    # 25 s each: two fixed campaigns on the same screen do not fit in 40 s, two sliding ones in
    # opposite orders never meet on the same screen the same day.
    end = today() + timedelta(days=9)
    first = campaign(picture, [screens[0], screens[1]], end=end, sliding=True, name="A")
    assert post(api, first).status_code == 201
    other = make_media(sov, display_time=25)
    second = campaign(other, [screens[1], screens[0]], end=end, sliding=True, name="B")
    assert post(api, second).status_code == 201
    third = make_media(sov, display_time=25)
    response = post(api, campaign(third, [screens[0]], end=end, name="C"))
    assert response.status_code == 400  # a fixed one meets one of them every day


@pytest.mark.django_db
def test_single_content_and_advertiser_type_rules(api, screens, picture, make_media, sov, client_for, make_member):
    payload = campaign(picture, screens[:1])
    payload["broadcasts"].append({"media": media_url(make_media(sov)), "screens": [url(screens[0])]})
    response = post(api, payload)
    assert response.status_code == 400
    assert response.json()["broadcasts"][0]["message"] == "Share of voice campaigns can not have multiple contents."

    response = post(api, campaign(picture, screens[:1], author_origin="advertiser"))
    assert response.status_code == 400  # james books as a lessor
    assert "author_origin" in response.json()
    response = post(api, campaign(picture, screens[:1], author_origin="agency"))
    assert response.status_code == 400  # not offered by the fleet
    response = post(api, campaign(picture, screens[:1], author_origin="nobody"))
    assert response.json()["author_origin"][0]["message"] == "Unknown advertiser type 'nobody'."

    sov.share_of_voice = False
    sov.save()
    response = post(api, campaign(picture, screens[:1]))
    assert response.json() == {"author_origin": [{"message": "You don't have any share of voice", "code": "invalid"}]}
    assert not Ad.objects.exists()


@pytest.mark.django_db
def test_give_to_a_user_with_the_same_share(api, screens, picture, sov, make_member, django_user_model):
    ad = post(api, campaign(picture, screens[:1])).json()
    colleague = make_member(sov, Role.EDITOR, username="colleague")
    response = api.post(f"{ad['url']}give/", {"author": "colleague"}, format="json")
    assert response.status_code == 400  # no advertiser type yet
    Membership.objects.filter(user=colleague).update(advertiser_type=1)
    response = api.post(f"{ad['url']}give/", {"author": str(colleague.pk)}, format="json")
    assert response.status_code == 200
    assert response.json()["author"] == colleague.pk
    plain = post(api, {"name": "plain", "campaign_startdate": str(today())}).json()
    assert api.post(f"{plain['url']}give/", {"author": "colleague"}, format="json").status_code == 400


@pytest.mark.django_db
def test_audit_records_overflows_after_an_allocation_shrinks(api, screens, picture):
    assert post(api, campaign(picture, screens[:2])).status_code == 201
    assert share_of_voice_audit() == 0
    Screen.objects.filter(pk=screens[0].pk).update(allocated_times={"1": 20})
    assert share_of_voice_audit() == 1
    overflow = QuotaOverflow.objects.get()
    assert (overflow.screen_id, overflow.duration, overflow.quota, overflow.date) == (
        screens[0].pk,
        25.0,
        20.0,
        today(),
    )
    Screen.objects.filter(pk=screens[0].pk).update(allocated_times={"1": 60})
    assert share_of_voice_audit() == 0 and not QuotaOverflow.objects.exists()


@pytest.mark.django_db
def test_a_year_on_200_screens_takes_the_same_queries_as_a_month(api, sov, make_media, user):
    screens = Screen.objects.bulk_create(
        Screen(fleet=sov, name=f"S{i:03}", slug=f"s-{i:03}", allocated_times={"1": 100}, timezone="Europe/Paris")
        for i in range(200)
    )
    spots = [make_media(sov, display_time=10, name=f"spot{i}") for i in range(4)]
    # Competing campaigns that start and end at various dates over the year, on every screen.
    for index in range(3):
        start = today() + timedelta(days=40 * index)
        Ad.objects.create(
            fleet=sov,
            name=f"existing{index}",
            campaign_startdate=start,
            campaign_enddate=start + timedelta(days=90),
            author_origin_id=1,
        )
    from apps.ads.models import Broadcast, BroadcastScreen

    for ad, spot in zip(Ad.objects.order_by("name"), spots[:3], strict=True):
        broadcast = Broadcast.objects.create(ad=ad, media=spot)
        BroadcastScreen.objects.bulk_create(
            BroadcastScreen(broadcast=broadcast, screen=s, position=i) for i, s in enumerate(screens)
        )

    def create(days, name):
        payload = campaign(spots[3], screens, end=today() + timedelta(days=days), name=name)
        with CaptureQueriesContext(connection) as captured:
            response = post(api, payload)
        assert response.status_code == 201, response.content[:500]
        return len(captured)

    assert create(30, "month") == create(364, "year")


@pytest.mark.django_db(transaction=True)
def test_two_campaigns_created_at_once_cannot_both_take_the_last_seconds(sov, user, make_member, make_media):
    if connection.vendor != "postgresql":
        pytest.skip("row locks need PostgreSQL (CI runs this on PostgreSQL)")
    from rest_framework.test import APIClient
    from rest_framework_simplejwt.tokens import AccessToken

    screen_a = Screen.objects.create(fleet=sov, name="A", allocated_times={"1": 40})
    screen_b = Screen.objects.create(fleet=sov, name="B", allocated_times={"1": 40})
    spots = [make_media(sov, display_time=25, name=f"spot{i}") for i in range(2)]
    token = str(AccessToken.for_user(user))
    barrier = threading.Barrier(2)
    statuses = []

    def create(spot, order):
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"JWT {token}")
        barrier.wait()
        response = post(client, campaign(spot, order, name=spot.name))
        statuses.append(response.status_code)
        connection.close()

    # Opposite screen orders: locking in id order is what keeps this from deadlocking.
    threads = [
        threading.Thread(target=create, args=(spots[0], [screen_a, screen_b])),
        threading.Thread(target=create, args=(spots[1], [screen_b, screen_a])),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sorted(statuses) == [201, 400]
    assert Ad.objects.count() == 1


# --- the engine alone ---------------------------------------------------------------------------------


def test_engine_cuts_only_at_changes():
    d0 = date(2026, 1, 1)
    loads = [
        Load("a", d0, d0 + timedelta(days=99), {"s": 20.0}),
        Load("b", d0 + timedelta(days=50), None, {"s": 15.0}),
        Load("c", d0 + timedelta(days=120), d0 + timedelta(days=130), {"s": 10.0}),
    ]
    result = first_overflows(screen_ids=["s"], loads=loads, quotas={"s": 30.0}, span_start=d0, span_end=None)
    assert result["s"].day == d0 + timedelta(days=50) and result["s"].duration == 35.0
    assert first_overflows(screen_ids=["s"], loads=loads, quotas={"s": 35.0}, span_start=d0, span_end=None) == {}


def test_engine_rotates_sliding_loads():
    d0 = date(2026, 1, 1)
    sliding = Load("s", d0, d0 + timedelta(days=9), {"x": 30.0, "y": 30.0}, sliding_order=("x", "y"))
    fixed = Load("f", d0 + timedelta(days=3), d0 + timedelta(days=9), {"y": 20.0})
    result = first_overflows(
        screen_ids=["x", "y"],
        loads=[sliding, fixed],
        quotas={"x": 40.0, "y": 40.0},
        span_start=d0,
        span_end=d0 + timedelta(days=9),
    )
    # on y, the sliding campaign plays on odd days: the first odd day from day 3 is day 3
    assert list(result) == ["y"] and result["y"].day == d0 + timedelta(days=3) and result["y"].duration == 50.0
