"""The device-by-token query of the protocol (raw SQL, built once) loads what the ORM would."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from apps.devices.authentication import PROTOCOL_FIELDS, device_by_token_hash
from apps.devices.models import Device

pytestmark = pytest.mark.django_db


def test_the_device_its_screen_and_fleet_in_one_query(paired):
    client = paired()
    expected = Device.objects.select_related("screen", "fleet").get()
    with CaptureQueriesContext(connection) as captured:
        device = device_by_token_hash(expected.token_hash)
        for name in PROTOCOL_FIELDS:
            *path, last = name.split("__")
            value, reference = device, expected
            for part in path:
                value, reference = getattr(value, part), getattr(reference, part)
            attname = value._meta.get_field(last).attname  # a relation by its id: no query
            assert value.__dict__[attname] == getattr(reference, attname), name
    assert len(captured) == 1
    assert device.barcode == expected.barcode  # any other column loads on use, like .only()
    assert device.paired and device.screen.pk == client.screen.pk
    assert device_by_token_hash("0" * 64) is None


def test_an_unpaired_device_has_no_screen_without_a_query(player):
    player()
    device = device_by_token_hash(Device.objects.get().token_hash)
    with CaptureQueriesContext(connection) as captured:
        assert (device.screen, device.fleet, device.paired) == (None, None, False)
    assert len(captured) == 0
