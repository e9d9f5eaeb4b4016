"""Ids and numbers written in digits are ASCII digits only: `str.isdigit()` is also true of '²', which `int()`
refuses (a 500 before), and of '٣', which `int()` reads as 3 (a different id than the client wrote)."""

import pytest

from apps.ads.conditions import feed_key
from apps.alerts.rules import _minutes
from signage.bounds import MAX_INT, is_ascii_digits, parse_id
from tests.devices.factories import DeviceFactory

HOST = "http://testserver/api/management/v2"
NOT_ASCII = ["²", "٣", "\uff11\uff12", "1²"]


@pytest.mark.parametrize("text", NOT_ASCII)
def test_only_ascii_digits_are_digits(text):
    assert text.isdigit() and not is_ascii_digits(text)
    assert parse_id(text) is None


def test_parse_id_bounds():
    assert parse_id("12") == 12
    assert parse_id(" 7 ") == 7
    assert parse_id("0") is None
    assert parse_id(str(MAX_INT)) == MAX_INT
    assert parse_id(str(MAX_INT + 1)) is None
    assert parse_id("9" * 400) is None


@pytest.mark.parametrize("text", NOT_ASCII)
def test_feed_keys_and_alert_hours_refuse_other_digits(text):
    assert feed_key(text) is None
    assert _minutes(f"0{text[-1]}:00") is None


@pytest.mark.parametrize("text", NOT_ASCII)
@pytest.mark.parametrize("query", ["devices/?tags={}", "devices/?policies={}", "devices/?screen={}"])
def test_id_filters_answer_400_to_other_digits(api, fleet, text, query):
    response = api.get(f"{HOST}/{query.format(text)}")
    assert response.status_code == 400, response.content


@pytest.mark.parametrize("text", NOT_ASCII)
def test_a_lock_pin_of_other_digits_is_refused(api, fleet, make_screen, text):
    device = DeviceFactory(screen=make_screen(fleet, "Hall"))
    response = api.post(f"{HOST}/devices/{device.pk}/lock/", {"pin": text * 4}, format="json")
    assert response.status_code == 400, response.content
    device.refresh_from_db()
    assert not device.is_locked
