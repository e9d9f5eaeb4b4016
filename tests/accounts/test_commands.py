import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command

from apps.accounts.models import Fleet, Membership

pytestmark = pytest.mark.django_db


def test_bootstrap_fleet_creates_fleet_and_admin_and_is_idempotent(client):
    for _ in range(2):
        call_command("bootstrap_fleet", "Station Screens", "--user", "ops", "--password", "pw-123456")
    fleet = Fleet.objects.get(name="Station Screens")
    membership = Membership.objects.get(fleet=fleet)
    assert (membership.user.username, membership.role, membership.advertiser_type) == ("ops", "admin", None)
    assert fleet.share_of_voice is False and fleet.external_storage is None
    assert membership.user.is_staff is False
    response = client.post("/api/get_jwt_token/", {"username": "ops", "password": "pw-123456"})
    assert response.status_code == 200


def test_bootstrap_fleet_options(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    call_command(
        "bootstrap_fleet",
        "SoV",
        "--user",
        "lessor",
        "--password",
        "pw",
        "--share-of-voice",
        "--external-storage",
        "--staff",
    )
    fleet = Fleet.objects.get(name="SoV")
    membership = Membership.objects.select_related("user", "advertiser_type").get(fleet=fleet)
    assert fleet.share_of_voice is True
    assert sorted(fleet.advertiser_types.values_list("name", flat=True)) == ["advertiser", "lessor"]
    assert membership.advertiser_type.name == "lessor"
    assert membership.user.is_staff is True and membership.user.is_superuser is False
    assert fleet.external_storage["OPTIONS"]["location"] == str(tmp_path / "external" / str(fleet.pk))
    # Running again without the flags keeps what was given.
    call_command("bootstrap_fleet", "SoV", "--user", "lessor", "--password", "pw")
    fleet.refresh_from_db()
    assert fleet.share_of_voice is True and fleet.external_storage is not None
    assert Membership.objects.get(fleet=fleet).advertiser_type_id == 1


def test_seed_demo_is_repeatable_and_prints_the_login(capsys):
    call_command("seed_demo")
    call_command("seed_demo")
    out = capsys.readouterr().out
    assert "login demo / demo" in out
    assert Fleet.objects.filter(name="Demo Fleet").count() == 1
    assert get_user_model().objects.get(username="demo").check_password("demo")


def test_admin_changelists_render_for_scoped_staff(client, make_member, fleet, other_fleet):
    from django.contrib.auth.models import Permission

    staff = make_member(fleet, is_staff=True)
    accounts_permissions = Permission.objects.filter(content_type__app_label="accounts")
    staff.user_permissions.add(*accounts_permissions.exclude(codename="view_every_fleet"))
    client.force_login(staff)
    response = client.get("/admin/accounts/fleet/")
    assert response.status_code == 200
    assert b"Paris Metro" in response.content and b"Lyon Malls" not in response.content
    assert client.get(f"/admin/accounts/fleet/{other_fleet.pk}/change/").status_code == 404  # not theirs: absent
    assert client.get("/admin/accounts/membership/").status_code == 200


def test_seed_demo_fills_places_and_screens():
    from apps.places.models import Place
    from apps.screens.models import Screen

    call_command("seed_demo")
    call_command("seed_demo")
    fleet = Fleet.objects.get(name="Demo Fleet")
    assert Screen.objects.filter(fleet=fleet).count() == 33
    assert Place.objects.filter(exclusive_fleet__isnull=True).count() == 4
    assert Screen.objects.filter(fleet=fleet, active=True, groups__name="Totems").exists()


def test_screen_admin_changelist_is_scoped_and_has_no_n_plus_one(
    client, make_member, fleet, other_fleet, make_screen, make_place
):
    from django.contrib.auth.models import Permission
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    staff = make_member(fleet, is_staff=True)
    staff.user_permissions.add(*Permission.objects.filter(content_type__app_label__in=["screens", "places"]))
    client.force_login(staff)
    make_screen(other_fleet, "Not yours")

    def changelist_queries():
        with CaptureQueriesContext(connection) as captured:
            response = client.get("/admin/screens/screen/")
        assert response.status_code == 200
        assert b"Not yours" not in response.content
        assert b"Lyon Malls" not in response.content  # not even in the filters
        return len(captured)

    make_screen(fleet, "First", place=make_place("Paris"))
    few = changelist_queries()
    for index in range(30):
        make_screen(fleet, f"More {index}", place=make_place(f"City {index}", street_number=str(index)))
    assert changelist_queries() == few
    assert client.get("/admin/places/place/").status_code == 200
    assert client.get("/admin/screens/screengroup/").status_code == 200


def test_seed_demo_fills_the_media_library():
    from apps.media.models import Media

    call_command("seed_demo")
    call_command("seed_demo")
    kinds = sorted(Media.objects.filter(fleet__name="Demo Fleet").values_list("type", flat=True))
    assert kinds == ["pdf", "picture", "picture", "picture", "video"]
    video = Media.objects.get(type="video")
    assert video.duration == pytest.approx(3.0, abs=0.2) and video.thumbnail


def test_media_admin_changelist(client, make_member, fleet):
    from django.contrib.auth.models import Permission

    call_command("seed_demo")
    staff = make_member(Fleet.objects.get(name="Demo Fleet"), is_staff=True)
    staff.user_permissions.add(*Permission.objects.filter(content_type__app_label="media"))
    client.force_login(staff)
    response = client.get("/admin/media/media/")
    assert response.status_code == 200
    assert b"Showreel.mp4" in response.content and b"<img src=" in response.content


def test_seed_demo_creates_campaigns_of_each_kind(client, fleet, make_member):
    from django.contrib.auth.models import Permission

    from apps.ads.models import Ad

    call_command("seed_demo")
    call_command("seed_demo")
    ads = Ad.objects.filter(fleet__name="Demo Fleet")
    assert ads.count() == 8
    assert set(ads.values_list("campaign_type", flat=True)) == {"standard", "solo", "event"}
    assert set(ads.values_list("multimedia_type", flat=True)) >= {"cloned", "playlist", "stretched"}
    assert (
        ads.filter(author_origin__isnull=False, sliding=True).exists() and ads.filter(adupdater__isnull=False).exists()
    )
    staff = make_member(Fleet.objects.get(name="Demo Fleet"), is_staff=True)
    staff.user_permissions.add(*Permission.objects.filter(content_type__app_label="ads"))
    client.force_login(staff)
    assert client.get("/admin/ads/ad/?current=yes").status_code == 200
    ad = ads.get(name="Menu playlist")
    assert client.get(f"/admin/ads/ad/{ad.pk}/change/").status_code == 200
    assert client.get("/admin/ads/quotaoverflow/").status_code == 200


def test_seed_demo_pairs_players_and_admin_shows_loop_and_devices(client, make_member):
    from django.contrib.auth.models import Permission

    from apps.devices.models import Device
    from apps.screens.models import Screen

    call_command("seed_demo")
    call_command("seed_demo")
    assert Device.objects.filter(fleet__name="Demo Fleet", screen__isnull=False).count() == 6
    staff = make_member(Fleet.objects.get(name="Demo Fleet"), is_staff=True)
    staff.user_permissions.add(*Permission.objects.filter(content_type__app_label__in=["devices", "screens"]))
    client.force_login(staff)
    assert client.get("/admin/devices/device/").status_code == 200
    screen = Screen.objects.get(name="Lyon 01")
    page = client.get(f"/admin/screens/screen/{screen.pk}/change/")
    assert page.status_code == 200 and b"Playing now" in page.content
    device = Device.objects.filter(screen__isnull=False).first()
    response = client.post(
        "/admin/devices/device/",
        {"action": "send_command", "_selected_action": [device.pk], "type": "reboot", "apply": "1"},
    )
    assert response.status_code == 302 and device.commands.filter(type="reboot").exists()
