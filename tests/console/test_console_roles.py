"""Roles in the console: each role of a fleet member who is staff gets, on each console model, what the
permission table gives that role in the API; another fleet's objects are absent."""

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.test import Client

from apps.accounts import permissions
from apps.accounts.models import Membership, Role

from .objects import objects_of

pytestmark = pytest.mark.django_db

CONSOLE_MODELS = [
    "accounts.fleet",
    "accounts.membership",
    "places.place",
    "screens.screen",
    "screens.screengroup",
    "screens.screentype",
    "media.media",
    "ads.ad",
    "ads.broadcast",
    "ads.quotaoverflow",
    "devices.device",
    "devices.provision",
    "devices.tag",
    "devices.policy",
]
NO_ADD_FORM = {"devices.device", "ads.quotaoverflow"}  # players register themselves; overflows are found


def admin_path(resource, obj=None, view=""):
    app_label, model_name = resource.split(".")
    base = f"/admin/{app_label}/{model_name}/"
    return base if obj is None else f"{base}{obj.pk}/{view}/"


@pytest.fixture
def world(fleet, other_fleet, make_member, make_screen, make_media, make_place):
    make_member(other_fleet, Role.ADMIN)
    make_member(fleet, Role.ADMIN)
    return objects_of(fleet, make_screen, make_media, make_place), objects_of(
        other_fleet, make_screen, make_media, make_place
    )


@pytest.mark.parametrize("role", Role.values)
@pytest.mark.parametrize("resource", CONSOLE_MODELS)
def test_console_answers_what_the_role_allows(role, resource, world, console_for, fleet):
    mine, theirs = world
    browser = console_for(fleet, role)
    may = {action: permissions.allows(role, resource, action) for action in permissions.MODEL_ACTIONS}
    obj = mine[resource]

    assert browser.get(admin_path(resource)).status_code == (200 if may["view"] else 403)
    add = browser.get(admin_path(resource) + "add/")
    assert add.status_code == (200 if may["add"] and resource not in NO_ADD_FORM else 403)
    change = browser.get(admin_path(resource, obj, "change"))
    assert change.status_code == (200 if may["view"] or may["change"] else 403)
    if change.status_code == 200:
        assert change.context["has_change_permission"] is may["change"]
    assert browser.get(admin_path(resource, obj, "delete")).status_code == (200 if may["delete"] else 403)
    for view in ("change", "delete", "history"):
        assert browser.get(admin_path(resource, theirs[resource], view)).status_code == 404


def test_a_changelist_shows_only_the_members_fleets(world, console_for, fleet):
    browser = console_for(fleet, Role.VIEWER)
    page = browser.get("/admin/screens/screen/").content.decode()
    assert "Screen of Paris Metro" in page and "Screen of Lyon Malls" not in page


def test_roles_follow_the_membership_without_groups(world, console_for, fleet):
    browser = console_for(fleet, Role.VIEWER)
    screen = world[0]["screens.screen"]
    assert browser.get(admin_path("screens.screen", screen, "change")).context["has_change_permission"] is False
    Membership.objects.filter(user=browser.user).update(role=Role.EDITOR)
    assert browser.get(admin_path("screens.screen", screen, "change")).context["has_change_permission"] is True
    assert browser.user.groups.count() == 0 and browser.user.user_permissions.count() == 0


def test_a_role_in_one_fleet_does_not_reach_another(world, console_for, fleet, other_fleet):
    browser = console_for(fleet, Role.VIEWER)
    Membership.objects.create(user=browser.user, fleet=other_fleet, role=Role.ADMIN)
    mine, theirs = world
    assert (
        browser.get(admin_path("screens.screen", mine["screens.screen"], "change")).context["has_change_permission"]
        is False
    )
    assert (
        browser.get(admin_path("screens.screen", theirs["screens.screen"], "change")).context["has_change_permission"]
        is True
    )
    assert browser.get(admin_path("screens.screen", mine["screens.screen"], "delete")).status_code == 403


def test_operator_staff_see_every_fleet(world, fleet):
    from django.contrib.auth.models import Permission

    staff = get_user_model().objects.create_user("ops", password="pass-word-1", is_staff=True)
    staff.user_permissions.add(Permission.objects.get(codename="view_every_fleet"))
    browser = Client()
    browser.force_login(staff)
    page = browser.get("/admin/screens/screen/").content.decode()
    assert "Screen of Paris Metro" in page and "Screen of Lyon Malls" in page
    theirs = world[1]["ads.ad"]
    assert browser.get(admin_path("ads.ad", theirs, "change")).context["has_change_permission"] is True


def test_the_demo_login_sees_its_fleet():
    from apps.devices.models import Device

    call_command("seed_demo")
    device = Device.objects.filter(fleet__name="Demo Fleet", screen__isnull=False).first()
    browser = Client()
    login = browser.post("/admin/login/?next=/admin/", {"username": "demo", "password": "demo"})
    assert login.status_code == 302 and login["Location"] == "/admin/"
    index = browser.get("/admin/")
    assert index.status_code == 200
    assert b"have permission to view or edit anything" not in index.content
    for path, text in [
        ("/admin/screens/screen/", "Lyon 01"),
        ("/admin/media/media/", "Showreel.mp4"),
        ("/admin/ads/ad/", "Menu playlist"),
        ("/admin/devices/device/", device.uuid),
    ]:
        page = browser.get(path)
        assert page.status_code == 200 and text in page.content.decode(), path
