"""Provisioning: players known before they are switched on, written through the API or imported from CSV in
the console, and paired by serial number when they register, if their fleet allows it."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from rest_framework.test import APIClient

from apps.accounts.models import Role
from apps.devices.models import Device, DevicePolicy, Policy, Provision, Tag
from apps.devices.provisioning.services import provision_create

HOST = "http://testserver/api/management/v2"
URL = f"{HOST}/devices/provisioning/"


def register(uuid, serial=None, client=None):
    client = client or APIClient()
    body = {"uuid": uuid, "model": "BrightSign XT", **({"serial_number": serial} if serial is not None else {})}
    response = client.post("/api/device/register", body, format="json")
    assert response.status_code in (200, 201), response.content
    if "device_token" in response.json():
        client.credentials(HTTP_AUTHORIZATION=f"Device {response.json()['device_token']}")
    client.registration = response.json()
    return client


@pytest.fixture
def allowing(fleet):
    fleet.provisioning_by_serial = True
    fleet.save()
    return fleet


def provide(fleet, screen, serial="SN-100", **values):
    return provision_create(fleet=fleet, serial_number=serial, screen=screen, **values)


# --- the API ------------------------------------------------------------------------------------------------


def test_provisions_through_the_api(api, fleet, other_fleet, make_screen):
    screen = make_screen(fleet, "Hall")
    created = api.post(URL, {"serial_number": " sn-7a ", "screen": str(screen.pk), "name": "Hall player",
                             "barcode": "B-1"}, format="json")  # fmt: skip
    assert created.status_code == 201, created.content
    body = created.json()
    assert (body["serial_number"], body["status"], body["device"], body["applied_at"]) == (
        "SN-7A",
        "pending",
        None,
        None,
    )
    assert body["screen"] == f"{HOST}/screens/{screen.pk}/" and body["fleet"] == f"{HOST}/fleets/{fleet.pk}/"
    assert body["url"] == f"{URL}{body['id']}/"

    duplicate = api.post(URL, {"serial_number": "SN-7a", "screen": str(screen.pk)}, format="json")
    assert duplicate.status_code == 400 and duplicate.json()["serial_number"][0]["code"] == "unique"
    foreign = api.post(URL, {"serial_number": "SN-8", "screen": str(make_screen(other_fleet).pk)}, format="json")
    assert foreign.status_code == 400 and "screen" in foreign.json()
    here = str(screen.pk)
    for bad in ({"serial_number": "   ", "screen": here}, {"serial_number": "x" * 101, "screen": here},
                {"serial_number": "SN-9"}, {"serial_number": ["SN"], "screen": here}):  # fmt: skip
        assert api.post(URL, bad, format="json").status_code == 400, bad
    assert Provision.objects.count() == 1

    changed = api.patch(f"{URL}{body['id']}/", {"name": "Hall, left"}, format="json")
    assert changed.status_code == 200 and changed.json()["name"] == "Hall, left"
    listed = api.get(f"{URL}?status=pending&search=sn-7").json()
    assert [item["id"] for item in listed["results"]] == [body["id"]]
    assert api.get(f"{URL}?status=applied").json()["count"] == 0
    assert api.delete(f"{URL}{body['id']}/").status_code == 204
    assert not Provision.objects.exists()


def test_provisions_are_tenant_scoped(client_for, make_member, fleet, other_fleet, make_screen):
    theirs = provide(other_fleet, make_screen(other_fleet, "Theirs"))
    mine = client_for(make_member(fleet, Role.TECHNICIAN))
    assert mine.get(f"{URL}{theirs.pk}/").status_code == 404
    assert mine.patch(f"{URL}{theirs.pk}/", {"name": "x"}, format="json").status_code == 404
    assert mine.delete(f"{URL}{theirs.pk}/").status_code == 404
    assert mine.get(URL).json()["count"] == 0
    # Another fleet's fleet in the payload is a 400, like any id the user cannot see.
    screen = make_screen(fleet, "Mine")
    response = mine.post(
        URL, {"serial_number": "SN-1", "screen": str(screen.pk), "fleet": other_fleet.pk}, format="json"
    )
    assert response.status_code == 400 and "fleet" in response.json()
    viewer = client_for(make_member(fleet, Role.VIEWER))
    assert viewer.post(URL, {"serial_number": "SN-1", "screen": str(screen.pk)}, format="json").status_code == 403
    assert Provision.objects.count() == 1


# --- registration by serial number ----------------------------------------------------------------------------


def test_a_provisioned_player_is_paired_when_it_registers(allowing, make_screen):
    screen = make_screen(allowing, "Entrance")
    provision = provide(allowing, screen, "SN-100", name="Entrance player", barcode="BC-9", sticker="ST-3")

    client = register("brightsign-1", serial=" sn-100")

    body = client.registration
    assert (body["paired"], body["pairing_code"], body["device_name"]) == (True, None, "Entrance player")
    device = Device.objects.get(uuid="brightsign-1")
    assert (device.screen_id, device.fleet_id, device.barcode, device.sticker, device.serial_number) == (
        screen.pk, allowing.pk, "BC-9", "ST-3", "sn-100"  # as reported (DRF trims the spaces)
    )  # fmt: skip
    provision.refresh_from_db()
    assert provision.device_id == device.pk and provision.status == "applied"
    beat = client.post("/api/device/heartbeat", {}, format="json")
    assert beat.status_code == 200 and beat.json()["paired"] is True
    assert client.get("/api/device/playlist").status_code == 200


def test_nothing_is_paired_when_the_fleet_does_not_allow_it(fleet, make_screen):
    provision = provide(fleet, make_screen(fleet, "Entrance"))
    assert fleet.provisioning_by_serial is False  # the default
    body = register("brightsign-1", serial="SN-100").registration
    assert body["paired"] is False and len(body["pairing_code"]) == 6
    provision.refresh_from_db()
    assert provision.status == "pending" and Device.objects.get().screen_id is None


def test_an_unknown_serial_or_none_gets_a_pairing_code(allowing, make_screen):
    provide(allowing, make_screen(allowing, "Entrance"))
    for uuid, serial in (("unknown", "SN-999"), ("without", None), ("blank", "")):
        body = register(uuid, serial=serial).registration
        assert body["paired"] is False and body["pairing_code"]
    assert Provision.objects.get().status == "pending"


def test_a_serial_provisioned_by_another_fleet_goes_to_that_fleet_only(api, fleet, other_fleet, make_screen):
    other_fleet.provisioning_by_serial = True
    other_fleet.save()
    provide(fleet, make_screen(fleet, "Ours"), "SN-1")  # our fleet does not allow it
    theirs = provide(other_fleet, make_screen(other_fleet, "Theirs"), "SN-1")
    register("player-1", serial="SN-1")
    device = Device.objects.get()
    assert (device.fleet_id, device.screen_id) == (other_fleet.pk, theirs.screen_id)
    assert api.get(f"{HOST}/devices/{device.pk}/").status_code == 404  # our user does not see it

    # Claimed by two fleets that both allow it: nobody gets the player (a serial number is not a secret).
    fleet.provisioning_by_serial = True
    fleet.save()
    provide(fleet, make_screen(fleet, "Ours too"), "SN-2")
    provide(other_fleet, make_screen(other_fleet, "Theirs too"), "SN-2")
    assert register("player-2", serial="SN-2").registration["paired"] is False
    assert Provision.objects.filter(serial_number="SN-2", applied_at__isnull=True).count() == 2


def test_a_serial_already_paired_is_not_paired_again(allowing, make_screen, paired):
    # A provision applied once is history: another player reporting the same serial number needs a code.
    provide(allowing, make_screen(allowing, "Entrance"), "SN-100")
    register("first", serial="SN-100")
    copycat = register("copycat", serial="SN-100").registration
    assert copycat["paired"] is False and copycat["pairing_code"]
    assert Device.objects.get(uuid="copycat").screen_id is None

    # A player already paired (by its code) that reports a provisioned serial number stays where it is.
    client = paired(uuid="player-by-code")
    device = Device.objects.get(uuid="player-by-code")
    later = provide(allowing, make_screen(allowing, "Elsewhere"), "SN-200")
    again = register("player-by-code", serial="SN-200", client=client).registration
    assert again["paired"] is True
    device.refresh_from_db()
    assert device.screen_id == client.screen.pk and device.serial_number == "SN-200"
    later.refresh_from_db()
    assert later.status == "pending"


def test_an_applied_provision_cannot_change(api, allowing, make_screen):
    provision = provide(allowing, make_screen(allowing, "Entrance"), "SN-100")
    register("first", serial="SN-100")
    response = api.patch(f"{URL}{provision.pk}/", {"name": "renamed"}, format="json")
    assert response.status_code == 400 and response.json()["__all__"][0]["code"] == "applied"
    body = api.get(f"{URL}{provision.pk}/").json()
    assert body["status"] == "applied" and body["device"] == f"{HOST}/devices/{Device.objects.get().pk}/"


def test_a_provisioned_player_gets_its_tags_and_policies(api, allowing, other_fleet, make_screen):
    north, lobby = Tag.objects.create(fleet=allowing, name="North"), Tag.objects.create(fleet=allowing, name="Lobby")
    quiet = Policy.objects.create(fleet=allowing, name="Quiet", items=[{"type": "VOLUME", "value": 10}])
    screen = make_screen(allowing, "Entrance")
    response = api.post(URL, {"serial_number": "SN-100", "screen": str(screen.pk), "tags": [north.pk, lobby.pk],
                              "policies": [quiet.pk]}, format="json")  # fmt: skip
    assert response.status_code == 201, response.content
    assert sorted(response.json()["tags"]) == sorted(f"{HOST}/tags/{tag.pk}/" for tag in (north, lobby))
    assert response.json()["policies"] == [f"{HOST}/policies/{quiet.pk}/"]
    foreign_tag = Tag.objects.create(fleet=other_fleet, name="Theirs")
    refused = api.post(URL, {"serial_number": "SN-101", "screen": str(screen.pk), "tags": [foreign_tag.pk]},
                       format="json")  # fmt: skip
    assert refused.status_code == 400 and "tags" in refused.json()

    player = register("brightsign-1", serial="SN-100")

    device = Device.objects.get()
    assert set(device.tags.all()) == {north, lobby}
    assert list(DevicePolicy.objects.filter(device=device).values_list("policy", "priority")) == [(quiet.pk, 0)]
    # its first heartbeat tells it to fetch its settings: its policy's and its screen's
    assert player.post("/api/device/heartbeat", {}, format="json").json()["has_new_settings"] is True
    settings = player.get("/api/device/settings").json()
    assert (settings["version"], settings["settings"]["volume"]) == (Device.objects.get().settings_version, 10)
    assert settings["sources"]["volume"] == {"policy": quiet.pk, "priority": 0}
    assert settings["settings"]["orientation"] == "LANDSCAPE"


# --- CSV import in the console ----------------------------------------------------------------------------------


def import_csv(client, text: str):
    """The console's two steps: upload (a dry run shown for confirmation), then confirm."""
    upload = SimpleUploadedFile("players.csv", text.encode(), content_type="text/csv")
    url = reverse("admin:devices_provision_import")
    first = client.post(url, {"import_file": upload, "format": "0", "resource": "0"})
    assert first.status_code == 200, first.content[:500]
    confirm = first.context.get("confirm_form")
    if confirm is None:
        return first, None
    second = client.post(reverse("admin:devices_provision_process_import"), confirm.initial)
    return first, second


@pytest.fixture
def console(client, make_member, fleet):
    client.force_login(make_member(fleet, Role.TECHNICIAN, is_staff=True))
    return client


def test_a_good_csv_is_imported_through_the_services(console, fleet, make_screen):
    hall, gate = make_screen(fleet, "Hall"), make_screen(fleet, "Gate")
    north, south = Tag.objects.create(fleet=fleet, name="North"), Tag.objects.create(fleet=fleet, name="South")
    quiet = Policy.objects.create(fleet=fleet, name="Quiet")
    existing = provide(fleet, hall, "SN-3", name="Old name")
    text = (
        "serial_number,screen,name,barcode,sticker,tags,policies\n"
        f'sn-1,{hall.pk},Hall player,B1,S1,"{north.pk}, {south.pk}",{quiet.pk}\n'
        f"SN-2,{gate.pk},,,,,\n"
        f"SN-3,{gate.pk},New name,,,{south.pk},\n"
    )
    _, second = import_csv(console, text)
    assert second is not None and second.status_code == 302
    rows = {p.serial_number: p for p in Provision.objects.select_related("screen")}
    assert sorted(rows) == ["SN-1", "SN-2", "SN-3"]
    assert (rows["SN-1"].screen, rows["SN-1"].name, rows["SN-1"].barcode, rows["SN-1"].fleet_id) == (
        hall, "Hall player", "B1", fleet.pk
    )  # fmt: skip
    assert rows["SN-3"].pk == existing.pk and (rows["SN-3"].screen, rows["SN-3"].name) == (gate, "New name")
    assert set(rows["SN-1"].tags.all()) == {north, south} and list(rows["SN-1"].policies.all()) == [quiet]
    assert list(rows["SN-3"].tags.all()) == [south] and not rows["SN-2"].tags.exists()


def test_a_csv_with_bad_rows_imports_nothing_and_names_them(console, fleet, other_fleet, make_screen, allowing):
    hall, foreign = make_screen(fleet, "Hall"), make_screen(other_fleet, "Not ours")
    applied = provide(fleet, hall, "SN-APPLIED")
    register("taken", serial="SN-APPLIED")
    theirs_tag = Tag.objects.create(fleet=other_fleet, name="Theirs")
    text = (
        "serial_number,screen,name,tags\n"
        f"SN-1,{hall.pk},Good\n"  # row 1: good, but must not be written either
        f"SN-2,{foreign.pk},Another fleet's screen\n"
        "SN-3,not-a-uuid,Bad id\n"
        f",{hall.pk},No serial\n"
        f"sn-1,{hall.pk},Twice in the file\n"
        f"SN-APPLIED,{hall.pk},Already applied\n"
        f"SN-7,{hall.pk},{'x' * 300}\n"
        f"SN-8,{hall.pk},Another fleet's tag,{theirs_tag.pk}\n"
        f"SN-9,{hall.pk},Not an id,north\n"
    )
    first, second = import_csv(console, text)
    assert second is None  # no confirmation offered
    result = first.context["result"]
    invalid = {row.number: row.error.message_dict for row in result.invalid_rows}
    assert sorted(invalid) == [2, 3, 4, 5, 6, 7, 8, 9]
    assert "in your fleets" in invalid[2]["screen"][0] and "in your fleets" in invalid[3]["screen"][0]
    assert "required" in invalid[4]["serial_number"][0]
    assert "row 1" in invalid[5]["serial_number"][0]
    assert "applied" in str(invalid[6])
    assert "name" in invalid[7]
    assert "in the screen's fleet" in invalid[8]["tags"][0] and "whole numbers" in invalid[9]["tags"][0]
    assert list(Provision.objects.values_list("serial_number", flat=True)) == ["SN-APPLIED"]
    applied.refresh_from_db()
    assert applied.name == ""


def test_a_confirmed_import_that_fails_then_writes_nothing(console, fleet, make_screen):
    hall, gate = make_screen(fleet, "Hall"), make_screen(fleet, "Gate")
    text = f"serial_number,screen\nSN-1,{hall.pk}\nSN-2,{gate.pk}\n"
    upload = SimpleUploadedFile("players.csv", text.encode(), content_type="text/csv")
    first = console.post(
        reverse("admin:devices_provision_import"), {"import_file": upload, "format": "0", "resource": "0"}
    )
    gate.delete()  # between the preview and the confirmation, a row becomes invalid
    second = console.post(reverse("admin:devices_provision_process_import"), first.context["confirm_form"].initial)
    assert second.status_code == 302 and second.url == reverse("admin:devices_provision_import")
    assert not Provision.objects.exists()


def test_the_console_import_needs_the_right_to_provision(client, make_member, fleet):
    client.force_login(make_member(fleet, Role.VIEWER, is_staff=True))
    assert client.get(reverse("admin:devices_provision_import")).status_code == 403


def test_the_console_form_writes_through_the_service(console, fleet, make_screen):
    screen, tag = make_screen(fleet, "Hall"), Tag.objects.create(fleet=fleet, name="North")
    form = {"fleet": fleet.pk, "serial_number": " sn-5 ", "name": "", "screen": str(screen.pk), "barcode": "",
            "sticker": "", "tags": [tag.pk], "policies": []}  # fmt: skip
    response = console.post(reverse("admin:devices_provision_add"), form)
    assert response.status_code == 302, response.content[:1000]
    provision = Provision.objects.get()
    assert provision.serial_number == "SN-5" and list(provision.tags.all()) == [tag]
    again = console.post(reverse("admin:devices_provision_add"), {**form, "tags": []})
    assert again.status_code == 200 and "already provisions this serial number" in again.content.decode()
    assert Provision.objects.count() == 1


# --- tenancy of provisions: ids of another fleet ------------------------------------------------------------


def _foreign(kind, fleet, make_screen):
    if kind == "screen":
        return make_screen(fleet, "Theirs")
    if kind == "tags":
        return Tag.objects.create(fleet=fleet, name="Theirs")
    return Policy.objects.create(fleet=fleet, name="Theirs")


def _payload(kind, obj, screen):
    body = {"serial_number": "SN-1", "screen": str(screen.pk)}
    body[kind] = str(obj.pk) if kind == "screen" else [obj.pk]
    return body


@pytest.mark.parametrize("kind", ["screen", "tags", "policies"])
def test_another_fleets_screen_tag_or_policy_in_a_provision_is_a_400(api, fleet, other_fleet, make_screen, kind):
    """A user of one fleet names an object of another: the same 400 as an unknown id, on create and change."""
    screen = make_screen(fleet, "Hall")
    foreign = _foreign(kind, other_fleet, make_screen)
    created = api.post(URL, _payload(kind, foreign, screen), format="json")
    assert created.status_code == 400 and kind in created.json(), created.content
    assert not Provision.objects.exists()
    mine = provide(fleet, screen, "SN-2")
    value = str(foreign.pk) if kind == "screen" else [foreign.pk]
    changed = api.patch(f"{URL}{mine.pk}/", {kind: value}, format="json")
    assert changed.status_code == 400 and kind in changed.json(), changed.content
    mine.refresh_from_db()
    assert mine.screen_id == screen.pk and not mine.tags.exists() and not mine.policies.exists()


@pytest.mark.parametrize("kind", ["screen", "tags", "policies"])
def test_a_member_of_two_fleets_cannot_mix_them_in_one_provision(client_for, make_member, fleet, other_fleet,
                                                                 make_screen, kind):  # fmt: skip
    """Both objects are visible to this user: the service refuses the mix (a 400 on the field)."""
    from tests.accounts.factories import MembershipFactory

    both = make_member(fleet, Role.ADMIN)
    MembershipFactory(fleet=other_fleet, role=Role.ADMIN, user=both)
    client = client_for(both)
    screen = make_screen(fleet, "Hall")
    foreign = _foreign(kind, other_fleet, make_screen)
    response = client.post(URL, {**_payload(kind, foreign, screen), "fleet": fleet.pk}, format="json")
    assert response.status_code == 400 and kind in response.json(), response.content
    assert not Provision.objects.exists()


def test_the_provision_filters_do_not_take_another_fleets_screen(api, fleet, other_fleet, make_screen):
    provide(fleet, make_screen(fleet, "Hall"))
    theirs = make_screen(other_fleet, "Theirs")
    assert api.get(f"{URL}?screen={theirs.pk}").status_code == 400
    assert api.get(f"{URL}?fleet={other_fleet.pk}").status_code == 400


def test_the_console_keeps_provisions_in_their_fleet(client, make_member, fleet, other_fleet, make_screen):
    theirs = provide(other_fleet, make_screen(other_fleet, "Theirs"), "SN-THEIRS")
    client.force_login(make_member(fleet, Role.TECHNICIAN, is_staff=True))
    assert client.get(reverse("admin:devices_provision_change", args=[theirs.pk])).status_code == 404
    listed = client.get(reverse("admin:devices_provision_changelist"))
    assert listed.status_code == 200 and "SN-THEIRS" not in listed.content.decode()
    screen, foreign_tag = make_screen(fleet, "Hall"), Tag.objects.create(fleet=other_fleet, name="Theirs")
    foreign_screen = make_screen(other_fleet, "Elsewhere")
    form = {"fleet": fleet.pk, "serial_number": "SN-5", "name": "", "screen": str(screen.pk), "barcode": "",
            "sticker": "", "tags": [], "policies": []}  # fmt: skip
    for bad in ({"screen": str(foreign_screen.pk)}, {"tags": [foreign_tag.pk]}, {"fleet": other_fleet.pk}):
        response = client.post(reverse("admin:devices_provision_add"), {**form, **bad})
        assert response.status_code == 200 and response.context["adminform"].form.errors, bad
    assert list(Provision.objects.values_list("serial_number", flat=True)) == ["SN-THEIRS"]
    # The form's screen picker (autocomplete) offers the user's fleet's screens only.
    picked = client.get("/admin/autocomplete/", {"app_label": "devices", "model_name": "provision",
                                                 "field_name": "screen", "term": ""})  # fmt: skip
    assert picked.status_code == 200
    offered = {item["id"] for item in picked.json()["results"]}
    assert str(screen.pk) in offered and str(foreign_screen.pk) not in offered


def test_a_csv_naming_another_fleets_policy_imports_nothing(console, fleet, other_fleet, make_screen):
    hall = make_screen(fleet, "Hall")
    ours, theirs = Policy.objects.create(fleet=fleet, name="Quiet"), Policy.objects.create(fleet=other_fleet, name="X")
    text = f"serial_number,screen,policies\nSN-1,{hall.pk},{ours.pk}\nSN-2,{hall.pk},{ours.pk} {theirs.pk}\n"
    first, second = import_csv(console, text)
    assert second is None
    invalid = {row.number: row.error.message_dict for row in first.context["result"].invalid_rows}
    assert list(invalid) == [2] and "in the screen's fleet" in invalid[2]["policies"][0]
    assert not Provision.objects.exists()


# --- query counts ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("count", [2, 12])
def test_the_provision_list_costs_the_same_queries_at_any_size(api, fleet, make_screen, count,
                                                               django_assert_num_queries):  # fmt: skip
    tag, policy = Tag.objects.create(fleet=fleet, name="North"), Policy.objects.create(fleet=fleet, name="Quiet")
    for index in range(count):
        provide(fleet, make_screen(fleet, f"Screen {index}"), f"SN-{index}", tags=[tag], policies=[policy])
    api.get(URL)  # warm the per-process caches
    with django_assert_num_queries(QUERIES_PROVISION_LIST):
        response = api.get(URL)
    assert response.json()["count"] == count and all(item["tags"] for item in response.json()["results"])


# user, membership scope, count, page, tags and policies prefetched (pinned at 2 and 12 provisions).
QUERIES_PROVISION_LIST = 5


@pytest.mark.parametrize("rows", [2, 8])
def test_a_csv_import_costs_a_fixed_number_of_queries_per_row(console, fleet, make_screen, rows,
                                                              django_assert_num_queries):  # fmt: skip
    """Each row is written through the services (its own INSERT and tag and policy sets); nothing else grows
    with the file: the preview and the confirmation cost QUERIES_IMPORT_BASE + QUERIES_IMPORT_ROW per row."""
    tags = [Tag.objects.create(fleet=fleet, name=f"Tag {index}") for index in range(2)]
    policy = Policy.objects.create(fleet=fleet, name="Quiet")
    lines = [f'SN-{index},{make_screen(fleet, f"Screen {index}").pk},Name {index},"{tags[0].pk},{tags[1].pk}",'
             f"{policy.pk}" for index in range(rows)]  # fmt: skip
    text = "serial_number,screen,name,tags,policies\n" + "\n".join(lines) + "\n"
    import_csv(console, "serial_number,screen\n")  # warm the per-process caches
    with django_assert_num_queries(QUERIES_IMPORT_BASE + QUERIES_IMPORT_ROW * rows):
        _, second = import_csv(console, text)
    assert second is not None and second.status_code == 302
    assert Provision.objects.count() == rows and all(p.tags.count() == 2 for p in Provision.objects.all())


# Both requests (preview, then confirmation): session, user, permissions, and per file one read each of its
# screens, provisions, tags and policies. Per row and request: the duplicate check, the INSERT, the tags' and
# policies' sets (a read and an INSERT each) and the services' savepoints.
QUERIES_IMPORT_BASE, QUERIES_IMPORT_ROW = 35, 24
