import pytest

from apps.accounts.models import Role
from apps.devices.models import Device

pytestmark = pytest.mark.django_db


@pytest.fixture
def technician(client, make_member, fleet):
    user = make_member(fleet, Role.TECHNICIAN, username="tech")
    client.force_login(user)
    return client


def test_the_form_needs_a_login(client):
    response = client.get("/pair/")
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/?next=/pair/")


def test_pairing_through_the_form(technician, player, fleet, other_fleet, make_screen):
    mine = make_screen(fleet, "Hall A")
    make_screen(fleet, "Hall B")
    theirs = make_screen(other_fleet, "Not yours")
    page = technician.get("/pair/?q=hall a")
    assert page.status_code == 200
    assert b"Hall A" in page.content and b"Hall B" not in page.content and b"Not yours" not in page.content
    assert b'name="csrfmiddlewaretoken"' in page.content and b'name="viewport"' in page.content
    code = player().registration["pairing_code"]
    refused = technician.post("/pair/", {"pairing_code": code, "screen": theirs.pk})
    assert refused.status_code == 400 and Device.objects.get().screen is None
    done = technician.post("/pair/", {"pairing_code": code.lower(), "screen": mine.pk, "barcode": "BC-7"})
    assert done.status_code == 200 and b"Hall A" in done.content
    device = Device.objects.get()
    assert (device.screen, device.barcode, device.fleet) == (mine, "BC-7", fleet)


def test_wrong_codes_then_429(technician, fleet, make_screen):
    screen = make_screen(fleet)
    statuses = [
        technician.post("/pair/", {"pairing_code": f"WRONG{i}", "screen": screen.pk}).status_code for i in range(6)
    ]
    assert statuses == [400] * 5 + [429]
    assert b"Too many wrong codes" in technician.post("/pair/", {"pairing_code": "WRONG9", "screen": screen.pk}).content


def test_a_wrong_code_says_so(technician, fleet, make_screen):
    response = technician.post("/pair/", {"pairing_code": "WRONG1", "screen": make_screen(fleet).pk})
    assert response.status_code == 400 and b"Unknown or expired pairing code." in response.content


def test_csrf_is_enforced(fleet, make_member, make_screen):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    client.force_login(make_member(fleet, Role.TECHNICIAN))
    assert client.post("/pair/", {"pairing_code": "ABCDEF", "screen": make_screen(fleet).pk}).status_code == 403
