import json
import uuid

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from apps.accounts.models import Role
from apps.ads.models import Ad, Broadcast

from .helpers import HOST, media_url, url

pytestmark = pytest.mark.django_db

ADS, BROADCASTS = "/api/management/v2/ads/", "/api/management/v2/broadcasts/"


@pytest.fixture
def screen(fleet, make_screen):
    return make_screen(fleet, "mine")


@pytest.fixture
def media(fleet, make_media):
    return make_media(fleet)


def base(media, screens, **extra):
    return {
        "name": "C",
        "campaign_startdate": "2026-01-01",
        "broadcasts": [{"media": media_url(media), "screens": [url(s) for s in screens]}],
        **extra,
    }


@pytest.mark.parametrize(
    "change, field",
    [
        (
            lambda p, o: p["broadcasts"][0]["screens"].append(f"{HOST}/api/management/v2/screens/{uuid.uuid4()}/"),
            "broadcasts",
        ),
        (lambda p, o: p["broadcasts"][0]["screens"].append(url(o["screen"])), "broadcasts"),
        (lambda p, o: p["broadcasts"][0].update(media=media_url(o["media"])), "broadcasts"),
        (lambda p, o: p["broadcasts"][0].update(media="video-999999"), "broadcasts"),
        (lambda p, o: p["broadcasts"][0].pop("media"), "broadcasts"),
        (lambda p, o: p["broadcasts"][0].update(screens="not a list"), "broadcasts"),
        (lambda p, o: p.update(campaign_enddate="2025-12-31"), "campaign_enddate"),
        (lambda p, o: p.update(multimedia_type="shuffled"), "multimedia_type"),
        (lambda p, o: p.update(campaign_type="flash"), "campaign_type"),
        (lambda p, o: p.update(status="paused"), "status"),
        (lambda p, o: p.update(campaign_startdate="tomorrow"), "campaign_startdate"),
        (lambda p, o: p["broadcasts"][0].update(screens_loop_indexes={url(o["screen"]): [1]}), "broadcasts"),
        (lambda p, o: p["broadcasts"][0].update(screens_loop_indexes={"garbage": [1]}), "broadcasts"),
        (lambda p, o: p["broadcasts"][0].update(display_periods={"9": []}), "broadcasts"),
        (
            lambda p, o: p.update(adupdater={"category": "screenshot", "refresh_time": 3600, "parameters": {}}),
            "adupdater",
        ),
        (lambda p, o: p.update(sliding=True), "sliding"),
    ],
)
def test_bad_payloads_are_400_and_write_nothing(
    api, screen, media, other_fleet, make_screen, make_media, change, field
):
    others = {"screen": make_screen(other_fleet, "theirs"), "media": make_media(other_fleet)}
    payload = base(media, [screen])
    change(payload, others)
    response = api.post(ADS, data=json.dumps(payload), content_type="application/json")
    assert response.status_code == 400, response.content
    assert field in response.json()
    assert not Ad.objects.exists() and not Broadcast.objects.exists()


def test_html_campaign_needs_its_single_broadcast(api, screen):
    adupdater = {
        "category": "screenshot",
        "refresh_time": 3600,
        "parameters": {"url": "https://example.com", "geometry": [1024, 768], "duration": 20},
    }
    response = api.post(ADS, {"name": "H", "campaign_startdate": "2026-01-01", "adupdater": adupdater}, format="json")
    assert response.status_code == 400
    assert response.json()["broadcasts"][0]["message"] == "An HTML campaign has exactly one broadcast, without media."


def test_a_member_of_two_fleets_cannot_mix_them(api, user, fleet, other_fleet, screen, make_screen, make_media):
    from apps.accounts.models import Membership

    Membership.objects.create(user=user, fleet=other_fleet, role=Role.ADMIN)
    theirs = make_screen(other_fleet, "theirs")
    response = api.post(
        ADS,
        data=json.dumps({**base(make_media(other_fleet), [theirs]), "fleet": fleet.pk}),
        content_type="application/json",
    )
    assert response.status_code == 400
    assert response.json()["broadcasts"][0]["message"] == "A media belongs to another fleet."


def test_roles(client_for, make_member, fleet, screen, media, api):
    viewer = client_for(make_member(fleet, Role.VIEWER))
    editor = client_for(make_member(fleet, Role.EDITOR))
    assert viewer.post(ADS, base(media, [screen]), format="json").status_code == 403
    created = editor.post(ADS, base(media, [screen]), format="json")
    assert created.status_code == 201
    ad = created.json()
    assert viewer.patch(ad["url"], {"name": "x"}, format="json").status_code == 403
    assert (
        viewer.post(
            BROADCASTS, {"ad": ad["url"], "media": media_url(media), "screens": [url(screen)]}, format="json"
        ).status_code
        == 403
    )
    broadcast = ad["broadcasts"][0]["url"]
    assert viewer.patch(broadcast, {"order": 3}, format="json").status_code == 403
    assert viewer.delete(broadcast).status_code == 403
    assert viewer.get(ad["url"]).status_code == 200
    assert editor.delete(ad["url"]).status_code == 204


def test_tenancy(api, other_fleet, make_member, client_for, screen, media):
    ad = api.post(ADS, base(media, [screen]), format="json").json()
    outsider = client_for(make_member(other_fleet))
    assert outsider.get(ad["url"]).status_code == 404
    assert outsider.patch(ad["url"], {"name": "mine"}, format="json").status_code == 404
    assert outsider.delete(ad["url"]).status_code == 404
    assert outsider.get(ad["broadcasts"][0]["url"]).status_code == 404
    assert outsider.get(ADS).json()["count"] == 0 and outsider.get(BROADCASTS).json()["count"] == 0
    response = outsider.post(
        BROADCASTS, {"ad": ad["url"], "media": media_url(media), "screens": [url(screen)]}, format="json"
    )
    assert response.status_code == 400 and response.json()["ad"][0]["code"] == "does_not_exist"


def test_a_broadcast_patch_is_checked_with_its_campaign(api, fleet, make_screen, media, make_media):
    s1, s2 = make_screen(fleet, "one"), make_screen(fleet, "two")
    ad = api.post(
        ADS,
        {
            "name": "P",
            "campaign_startdate": "2026-01-01",
            "multimedia_type": "playlist",
            "broadcasts": [
                {"media": media_url(media), "screens": [url(s1), url(s2)]},
                {"media": media_url(make_media(fleet)), "screens": [url(s1), url(s2)]},
            ],
        },
        format="json",
    ).json()
    response = api.patch(ad["broadcasts"][0]["url"], {"screens": [url(s1)]}, format="json")
    assert response.status_code == 400  # a playlist needs the same screens on every broadcast
    assert Broadcast.objects.get(pk=ad["broadcasts"][0]["id"]).screens.count() == 2


def test_a_media_shown_by_a_campaign_cannot_be_deleted(api, screen, media):
    api.post(ADS, base(media, [screen]), format="json")
    response = api.delete(f"/api/management/v2/medias/{media.public_id}/")
    assert response.status_code == 400
    assert response.json()["__all__"][0]["code"] == "protected"


def _count(api, params):
    with CaptureQueriesContext(connection) as captured:
        assert api.get(ADS, params).status_code == 200
    return len(captured)


@pytest.mark.parametrize("fields", [None, "id,name,screens", "id,broadcasts"])
def test_list_queries_do_not_grow(api, fleet, make_screen, make_media, fields):
    screens = [make_screen(fleet, f"s{i}") for i in range(4)]
    spots = [make_media(fleet, name=f"m{i}") for i in range(3)]
    for index in range(15):
        api.post(
            ADS,
            {
                "name": f"ad{index}",
                "campaign_startdate": "2026-01-01",
                "multimedia_type": "playlist",
                "broadcasts": [
                    {"media": media_url(m), "screens": [url(s) for s in screens]} for m in spots[: 1 + index % 3]
                ],
            },
            format="json",
        )
    params = {"fields": fields} if fields else {}
    assert _count(api, {**params, "limit": 1}) == _count(api, {**params, "limit": 15}) <= 6
    with CaptureQueriesContext(connection) as captured:
        api.get(BROADCASTS, {"limit": 1})
    small = len(captured)
    with CaptureQueriesContext(connection) as captured:
        api.get(BROADCASTS, {"limit": 30})
    assert len(captured) == small
