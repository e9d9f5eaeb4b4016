"""Tags and policies in the console: the player's page lists them, and an assignment made there reaches the
player (its settings version moves); a policy of another fleet cannot be attached."""

import secrets

import pytest

from apps.devices.models import Device, DevicePolicy, token_hash
from apps.devices.policies import services

pytestmark = pytest.mark.django_db


def test_player_page_shows_and_assigns_tags_and_policies(console, fleet, other_fleet, make_screen):
    device = Device.objects.create(uuid="box-1", token_hash=token_hash(secrets.token_hex(8)), fleet=fleet,
                                   screen=make_screen(fleet, "Lobby"))  # fmt: skip
    tag = services.tag_create(fleet=fleet, name="Lobby screens")
    services.tag_assign(tag=tag, devices=[device])
    quiet = services.policy_create(fleet=fleet, name="Quiet hours", items=[{"type": "VOLUME", "value": 5}])
    page = console.get(f"/admin/devices/device/{device.pk}/change/")
    assert page.status_code == 200
    assert "Lobby screens" in page.content.decode() and "Quiet hours" in page.content.decode()

    form = {"name": device.name, "screen": str(device.screen_id), "barcode": "", "sticker": "",
            "device_tags-TOTAL_FORMS": "1", "device_tags-INITIAL_FORMS": "1", "device_tags-MIN_NUM_FORMS": "0",
            "device_tags-MAX_NUM_FORMS": "1000", "device_tags-0-id": str(device.device_tags.get().pk),
            "device_tags-0-device": str(device.pk), "device_tags-0-tag": str(tag.pk),
            "device_policies-TOTAL_FORMS": "1", "device_policies-INITIAL_FORMS": "0",
            "device_policies-MIN_NUM_FORMS": "0", "device_policies-MAX_NUM_FORMS": "1000",
            "device_policies-0-device": str(device.pk), "device_policies-0-policy": str(quiet.pk),
            "device_policies-0-priority": "3",
            "commands-TOTAL_FORMS": "0", "commands-INITIAL_FORMS": "0", "commands-MIN_NUM_FORMS": "0",
            "commands-MAX_NUM_FORMS": "1000"}  # fmt: skip
    response = console.post(f"/admin/devices/device/{device.pk}/change/", form)
    assert response.status_code == 302, response.content.decode()[:3000]
    assert DevicePolicy.objects.get(device=device).priority == 3
    device.refresh_from_db()
    assert device.settings_version  # recomputed: the player hears of it at its next heartbeat

    foreign = services.policy_create(fleet=other_fleet, name="Foreign")
    form.update({"device_policies-INITIAL_FORMS": "1", "device_policies-0-id": str(DevicePolicy.objects.get().pk),
                 "device_policies-0-policy": str(foreign.pk)})  # fmt: skip
    response = console.post(f"/admin/devices/device/{device.pk}/change/", form)
    assert response.status_code == 200  # the form again, with the refusal
    assert DevicePolicy.objects.get().policy == quiet
