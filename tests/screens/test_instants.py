"""Instants in query strings are normalised to UTC and bounded before the database sees them (issue 14,
findings 1 and 9)."""

from datetime import UTC, datetime

import pytest

from apps.screens.models import Screen

pytestmark = pytest.mark.django_db

H = "/api/management/v2"


def test_a_datetime_filter_with_a_16_hour_offset_is_the_same_instant_in_utc(api, fleet, make_screen):
    before = make_screen(fleet, "Before")
    after = make_screen(fleet, "After")
    # 2026-01-01T00:00:00+16:00 is 2025-12-31T08:00:00Z
    Screen.objects.filter(pk=before.pk).update(online_modified_date=datetime(2025, 12, 31, 7, 59, tzinfo=UTC))
    Screen.objects.filter(pk=after.pk).update(online_modified_date=datetime(2025, 12, 31, 8, 1, tzinfo=UTC))
    for offset in ["%2B16:00", "%2B23:59", "-18:30"]:
        response = api.get(f"{H}/screens/?online_modified_date__gt=2026-01-01T00:00:00{offset}")
        assert response.status_code == 200, offset
    response = api.get(f"{H}/screens/?online_modified_date__gt=2026-01-01T00:00:00%2B16:00")
    assert [item["name"] for item in response.json()["results"]] == ["After"]


@pytest.mark.parametrize(
    "value",
    ["0001-01-01T00:00:00%2B16:00", "9999-12-31T23:59:59-16:00", "0001-01-01T00:00:00Z"],
)
def test_a_datetime_filter_out_of_range_is_a_400(api, fleet, value):
    response = api.get(f"{H}/screens/?online_modified_date__gt={value}")
    assert response.status_code == 400
    assert "online_modified_date__gt" in response.json()


@pytest.mark.parametrize("at", ["0001-01-01T00:00:00Z", "9999-12-31T23:59:59Z", "2026-13-01T00:00:00Z", "noon"])
def test_a_loop_instant_out_of_range_or_malformed_is_a_400(api, fleet, make_screen, at):
    screen = make_screen(fleet, "Lobby", timezone="Pacific/Kiritimati")
    response = api.get(f"{H}/screens/{screen.pk}/loop/", {"at": at})
    assert response.status_code == 400
    assert response.json()["at"][0]["code"] == "invalid"


def test_a_loop_instant_at_the_edges_of_the_range_answers(api, fleet, make_screen):
    screen = make_screen(fleet, "Lobby", timezone="Pacific/Kiritimati")
    for at in ["1970-01-01T00:00:00Z", "9998-12-31T23:59:59Z", "2026-01-01T00:00:00+16:00"]:
        response = api.get(f"{H}/screens/{screen.pk}/loop/", {"at": at})
        assert response.status_code == 200, at
