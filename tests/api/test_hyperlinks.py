"""Hyperlinks in lists: one reverse() per view name and request, not one per row (issue 17)."""

import pytest
from rest_framework import relations

pytestmark = pytest.mark.django_db

HOST = "http://testserver/api/management/v2"


def test_a_page_reverses_each_view_name_once_and_links_like_drf(api, fleet, make_screen, make_place, monkeypatch):
    place = make_place()
    original, calls = relations.reverse, []

    def counted(*args, **kwargs):
        calls.append(args[0])
        return original(*args, **kwargs)

    monkeypatch.setattr(relations, "reverse", counted)
    counts = []
    for size in (2, 20):
        while fleet.screens.count() < size:
            make_screen(fleet, f"S{fleet.screens.count():03}", place=place)
        calls.clear()
        response = api.get(f"{HOST}/screens/?limit=100")
        assert response.status_code == 200 and response.json()["count"] == size
        counts.append(len(calls))
    assert counts[0] == counts[1] == len(set(calls))  # each view name once, whatever the page size
    for item in response.json()["results"]:
        assert item["url"] == f"{HOST}/screens/{item['id']}/"
        assert item["fleet"] == f"{HOST}/fleets/{fleet.pk}/"
        assert item["place"] == f"{HOST}/places/{place.pk}/"
