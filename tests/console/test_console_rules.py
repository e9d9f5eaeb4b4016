"""Every rule the API enforces, driven through the console's own add and change forms: the same refusal,
next to the field, and nothing saved."""

import json
from datetime import timedelta

import pytest
from django.utils import timezone

from apps.accounts.models import Membership
from apps.ads.models import Ad, Broadcast
from apps.devices.models import Device
from apps.screens.models import Screen

from .forms import form_errors, submit

pytestmark = pytest.mark.django_db

API = "http://testserver/api/management/v2"


def screen_url(screen):
    return f"{API}/screens/{screen.pk}/"


def media_url(media):
    return f"{API}/medias/{media.public_id}/"


def api_messages(response) -> list[str]:
    body = response.json()
    return [item["message"] for items in body.values() for item in items]


# --- screens ---------------------------------------------------------------------------------------------


def test_plan_limit_on_the_add_form_as_in_the_api(console, api, fleet, make_screen):
    fleet.max_screens = 1
    fleet.save()
    make_screen(fleet, "The only one")
    refused_api = api.post(f"{API}/screens/", {"name": "Second"}, format="json")
    assert refused_api.status_code == 403

    response = submit(console, "/admin/screens/screen/add/", "screen_form", {"fleet": fleet.pk, "name": "Second"})
    assert form_errors(response) == {"active": [refused_api.json()["detail"]]}
    assert Screen.objects.count() == 1


def test_plan_limit_on_reactivation_through_the_change_form(console, fleet, make_screen):
    fleet.max_screens = 1
    fleet.save()
    make_screen(fleet, "Live")
    spare = make_screen(fleet, "Spare", active=False, deactivation_reason="stock")
    path = f"/admin/screens/screen/{spare.pk}/change/"
    response = submit(console, path, "screen_form", {"active": "on", "deactivation_reason": ""})
    assert "plan's limit of 1 active screens" in form_errors(response)["active"][0]
    spare.refresh_from_db()
    assert spare.active is False


def test_allocated_times_refused_as_in_the_api(console, api, fleet, make_screen):
    fleet.share_of_voice = True
    fleet.save()
    fleet.advertiser_types.add(1, 2)
    screen = make_screen(fleet, "Hall")
    refused_api = api.patch(f"{API}/screens/{screen.pk}/", {"allocated_times": {"999": -5}}, format="json")
    assert refused_api.status_code == 400

    path = f"/admin/screens/screen/{screen.pk}/change/"
    response = submit(console, path, "screen_form", {"allocated_times": json.dumps({"999": -5})})
    assert form_errors(response)["allocated_times"] == api_messages(refused_api)
    screen.refresh_from_db()
    assert screen.allocated_times == {}

    saved = submit(console, path, "screen_form", {"allocated_times": json.dumps({"lessor": 30})})
    assert saved.status_code == 302
    screen.refresh_from_db()
    assert screen.allocated_times == {"1": 30}  # normalised as the API stores it


def test_opening_hours_refused_as_in_the_api(console, api, fleet, make_screen):
    screen = make_screen(fleet, "Hall")
    bad = {"1": [["18:00", "09:00"]]}
    refused_api = api.patch(f"{API}/screens/{screen.pk}/", {"opening_hours": bad}, format="json")
    assert refused_api.status_code == 400

    path = f"/admin/screens/screen/{screen.pk}/change/"
    response = submit(console, path, "screen_form", {"opening_hours": json.dumps(bad)})
    assert form_errors(response)["opening_hours"] == api_messages(refused_api)
    screen.refresh_from_db()
    assert screen.opening_hours == {}


def test_custom_slug_taken(console, fleet, other_fleet, make_screen):
    make_screen(other_fleet, "Elsewhere", custom_slug="lobby")
    screen = make_screen(fleet, "Hall")
    path = f"/admin/screens/screen/{screen.pk}/change/"
    response = submit(console, path, "screen_form", {"custom_slug": "lobby"})
    assert "custom_slug" in form_errors(response)
    screen.refresh_from_db()
    assert screen.custom_slug is None


# --- campaigns ---------------------------------------------------------------------------------------


def campaign_form(fleet, name="Spring", start=None, end=None, broadcasts=(), **fields):
    """The add form's fields for a campaign with inline broadcasts [(media, [screens]), ...]."""
    start = start or timezone.now().date()
    data = {
        "fleet": fleet.pk,
        "name": name,
        "campaign_startdate": str(start),
        "campaign_enddate": str(end) if end else "",
        "broadcasts-TOTAL_FORMS": str(len(broadcasts)),
        **fields,
    }
    for index, (media, screens) in enumerate(broadcasts):
        data[f"broadcasts-{index}-media"] = media.pk
        data[f"broadcasts-{index}-screen_list"] = [screen.pk for screen in screens]
        data[f"broadcasts-{index}-order"] = str(index)
    return data


def api_campaign(fleet, name="Spring", start=None, end=None, broadcasts=(), **fields):
    start = start or timezone.now().date()
    return {
        "name": name,
        "fleet": f"{API}/fleets/{fleet.pk}/",
        "campaign_startdate": str(start),
        "campaign_enddate": str(end) if end else None,
        "broadcasts": [
            {"media": media_url(m), "screens": [screen_url(s) for s in screens]} for m, screens in broadcasts
        ],
        **fields,
    }


def test_campaign_end_before_start(console, api, fleet, make_screen, make_media):
    picture, screen = make_media(fleet), make_screen(fleet, "Hall")
    today = timezone.now().date()
    values = {"start": today, "end": today - timedelta(days=1), "broadcasts": [(picture, [screen])]}
    refused_api = api.post(f"{API}/ads/", api_campaign(fleet, **values), format="json")
    assert refused_api.status_code == 400

    response = submit(console, "/admin/ads/ad/add/", "ad_form", campaign_form(fleet, **values))
    assert form_errors(response)["campaign_enddate"] == api_messages(refused_api)
    assert not Ad.objects.exists() and not Broadcast.objects.exists()


def test_sliding_without_share_of_voice(console, api, fleet, make_screen, make_media):
    picture, screen = make_media(fleet), make_screen(fleet, "Hall")
    values = {"broadcasts": [(picture, [screen])]}
    refused_api = api.post(f"{API}/ads/", api_campaign(fleet, **values, sliding=True), format="json")
    assert refused_api.status_code == 400

    response = submit(console, "/admin/ads/ad/add/", "ad_form", campaign_form(fleet, **values, sliding="on"))
    assert form_errors(response)["sliding"] == api_messages(refused_api)
    assert not Ad.objects.exists()


def test_playlist_campaign_needs_the_same_screens_on_every_broadcast(console, api, fleet, make_screen, make_media):
    one, two = make_media(fleet, name="one"), make_media(fleet, name="two")
    hall, door = make_screen(fleet, "Hall"), make_screen(fleet, "Door")
    values = {"broadcasts": [(one, [hall]), (two, [door])], "multimedia_type": "playlist"}
    refused_api = api.post(f"{API}/ads/", api_campaign(fleet, **values), format="json")
    assert refused_api.status_code == 400

    response = submit(console, "/admin/ads/ad/add/", "ad_form", campaign_form(fleet, **values))
    assert form_errors(response)["__all__"] == [f"Broadcasts: {text}" for text in api_messages(refused_api)]
    assert not Ad.objects.exists() and not Broadcast.objects.exists()

    # the same campaign with the same screens is saved, broadcasts and all
    values["broadcasts"] = [(one, [hall, door]), (two, [hall, door])]
    saved = submit(console, "/admin/ads/ad/add/", "ad_form", campaign_form(fleet, **values))
    assert saved.status_code == 302, form_errors(saved)
    ad = Ad.objects.get()
    assert ad.author == console.user
    assert [sorted(b.screens.values_list("name", flat=True)) for b in ad.broadcasts.all()] == [["Door", "Hall"]] * 2


def test_playlist_rule_on_the_change_form(console, fleet, make_screen, make_media):
    one, two = make_media(fleet, name="one"), make_media(fleet, name="two")
    hall, door = make_screen(fleet, "Hall"), make_screen(fleet, "Door")
    values = {"broadcasts": [(one, [hall]), (two, [hall])], "multimedia_type": "playlist"}
    assert submit(console, "/admin/ads/ad/add/", "ad_form", campaign_form(fleet, **values)).status_code == 302
    ad = Ad.objects.get()
    kept = list(ad.broadcasts.values_list("pk", flat=True))
    second = ad.broadcasts.get(media=two)
    index = list(ad.broadcasts.all()).index(second)

    path = f"/admin/ads/ad/{ad.pk}/change/"
    response = submit(console, path, "ad_form", {f"broadcasts-{index}-screen_list": [door.pk]})
    assert "must have the same screens" in form_errors(response)["__all__"][0]
    assert sorted(ad.broadcasts.values_list("pk", flat=True)) == sorted(kept)
    assert list(second.screens.all()) == [hall]

    renamed = submit(console, path, "ad_form", {"name": "Renamed"})
    assert renamed.status_code == 302
    assert Ad.objects.get().name == "Renamed"
    assert sorted(ad.broadcasts.values_list("pk", flat=True)) == sorted(kept)  # unchanged broadcasts keep ids


def test_quota_exceeded(console, api, user, fleet, make_screen, make_media):
    fleet.share_of_voice = True
    fleet.save()
    fleet.advertiser_types.add(1, 2)
    Membership.objects.filter(fleet=fleet).update(advertiser_type=1)
    screens = [make_screen(fleet, f"screen_{i}", allocated_times={"1": 40}) for i in range(2)]
    first, second = make_media(fleet, display_time=25, name="first"), make_media(fleet, display_time=25, name="second")
    ok = api.post(f"{API}/ads/", api_campaign(fleet, "first", broadcasts=[(first, screens)], author_origin=1))
    assert ok.status_code == 201, ok.content
    refused_api = api.post(
        f"{API}/ads/", api_campaign(fleet, "second", broadcasts=[(second, screens)], author_origin=1), format="json"
    )
    assert refused_api.json()["__all__"]["code"] == "quota_exceeded"

    values = {"broadcasts": [(second, screens)], "author_origin": 1}
    response = submit(console, "/admin/ads/ad/add/", "ad_form", campaign_form(fleet, "second", **values))
    [message] = form_errors(response)["__all__"]
    assert message.startswith("The campaign would exceed the screen time quota on 2 screens:")
    assert f"{screens[0].slug}: 50 s needed for 40 s allocated" in message
    assert "<" not in message  # words, not HTML
    assert list(Ad.objects.values_list("name", flat=True)) == ["first"]


# --- players -----------------------------------------------------------------------------------------


@pytest.fixture
def operator(client, django_user_model):
    staff = django_user_model.objects.create_superuser("operator", password="pass-word-1")
    client.force_login(staff)
    return client


def test_pairing_in_the_console_goes_through_the_pairing_service(operator, player, fleet, make_screen):
    screen = make_screen(fleet, "Lobby")
    code = player("box-1").registration["pairing_code"]
    device = Device.objects.get(uuid="box-1")
    path = f"/admin/devices/device/{device.pk}/change/"

    response = submit(operator, path, "device_form", {"screen": screen.pk})
    assert "type the code it shows" in form_errors(response)["code"][0]
    response = submit(operator, path, "device_form", {"screen": screen.pk, "code": "ZZZZZZ"})
    assert form_errors(response)["code"] == ["Unknown or expired pairing code."]  # the API's words
    device.refresh_from_db()
    assert device.screen is None and device.fleet is None and device.pairing_code == code

    assert submit(operator, path, "device_form", {"screen": screen.pk, "code": code.lower()}).status_code == 302
    device.refresh_from_db()
    assert (device.screen, device.fleet, device.pairing_code) == (screen, fleet, None)


def test_a_paired_device_cannot_move_to_another_fleets_screen(operator, player, fleet, other_fleet, make_screen):
    screen, foreign = make_screen(fleet, "Lobby"), make_screen(other_fleet, "Foreign")
    code = player("box-2").registration["pairing_code"]
    device = Device.objects.get(uuid="box-2")
    path = f"/admin/devices/device/{device.pk}/change/"
    assert submit(operator, path, "device_form", {"screen": screen.pk, "code": code}).status_code == 302
    response = submit(operator, path, "device_form", {"screen": foreign.pk})
    assert form_errors(response)["screen"] == ["This screen belongs to another fleet."]
    device.refresh_from_db()
    assert device.screen == screen


# --- live content (reference 002's content types) ------------------------------------------------------------


def test_a_youtube_video_through_the_add_form_and_a_bad_id_refused_as_in_the_api(console, api, fleet):
    from apps.media.models import Media

    bad = {"type": "youtube", "youtube_id": "not-an-id", "display_time": 30}
    refused_api = api.post(f"{API}/medias/", bad, format="json")
    assert refused_api.status_code == 400
    values = {"fleet": fleet.pk, "name": "Clip", "kind": "youtube", "youtube_id": "not-an-id", "display_time": "30"}
    response = submit(console, "/admin/media/media/add/", "media_form", values)
    assert form_errors(response) == {"youtube_id": api_messages(refused_api)}
    values = {**values, "display_time": ""}
    assert "display_time" in form_errors(submit(console, "/admin/media/media/add/", "media_form", values))
    assert not Media.objects.exists()
    response = submit(
        console, "/admin/media/media/add/", "media_form", {**values, "youtube_id": "aqz-KE-bpKQ", "display_time": "30"}
    )
    assert response.status_code == 302, form_errors(response)
    media = Media.objects.get()
    assert (media.type, media.youtube_id, media.display_time) == ("youtube", "aqz-KE-bpKQ", 30)
