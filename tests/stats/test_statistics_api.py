"""/api/statistics/v2/: displays and aggregates, exact, tenant-safe, as JSON pages and streamed CSV."""

import csv
import io
import zoneinfo
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from apps.accounts.models import Role
from apps.broadcasts.loop import loop_for_screen
from apps.media.models import Media
from apps.screens.models import ScreenGroup
from apps.stats.models import PlayEvent

from .conftest import STATS, Player, event

pytestmark = pytest.mark.django_db

DAY = (timezone.now() - timedelta(days=2)).replace(hour=0, minute=0, second=0, microsecond=0)
DAY_RANGE = {"started_at__gte": DAY.isoformat(), "started_at__lt": (DAY + timedelta(days=1)).isoformat()}


def get(api, view, **params):
    response = api.get(f"{STATS}/{view}/", {**DAY_RANGE, **params})
    assert response.status_code == 200, response.content
    return response.json()


def all_displays(api, **params):
    rows, url, params = [], f"{STATS}/displays/", {**DAY_RANGE, **params}
    while url:
        body = api.get(url, params).json()
        rows += body["results"]
        url, params = body["next"], None
    return rows


def read_csv(response) -> list[dict]:
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert response.streaming
    return list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))


# --- a simulated day ----------------------------------------------------------------------------------


@pytest.fixture
def network(fleet, make_screen, make_media, make_campaign, make_place):
    """Three screens in three timezones, two campaigns (one only in the morning, one screen closed at
    night), and a player on each."""
    place = make_place(city="Paris", exclusive_fleet=fleet, name="Gare de Lyon")
    hall = make_screen(fleet, "Hall", timezone="Europe/Paris", place=place)
    week = {str(day): [["08:00", "20:00"]] for day in range(1, 8)}
    quay = make_screen(fleet, "Quay", timezone="America/New_York", opening_hours=week)
    shop = make_screen(fleet, "Shop", timezone="Asia/Tokyo")
    group = ScreenGroup.objects.create(fleet=fleet, name="Stations")
    group.screens.set([hall, quay])
    spot = make_media(fleet, name="Spot", display_time=300)
    promo = make_media(fleet, name="Promo", display_time=600)
    always, _ = make_campaign(fleet, spot, [hall, quay, shop], name="Always")
    morning, morning_broadcast = make_campaign(fleet, promo, [hall, shop], name="Morning")
    morning_broadcast.display_periods = {str(day): [["06:00", "12:00"]] for day in range(1, 8)}
    morning_broadcast.save()
    players = [Player(screen, name=f"{screen.name} player") for screen in (hall, quay, shop)]
    return {"players": players, "ads": {"Always": always, "Morning": morning}, "group": group, "place": place}


def play_the_day(players) -> Counter:
    """Each player plays its loop through the day and posts what it played in batches of 50. Returns the
    plays the loop predicted, by (screen, campaign, local hour)."""
    predicted = Counter()
    for player in players:
        zone = zoneinfo.ZoneInfo(player.screen.timezone)
        at, end, batch = DAY, DAY + timedelta(days=1), []
        while at < end:
            entries = loop_for_screen(player.screen, at)
            if not entries:
                at += timedelta(minutes=5)
                continue
            for entry in entries:
                if at >= end:
                    break
                media = Media.objects.get(pk=entry.media_id)
                played = {"ad": str(entry.ad_id), "broadcast": str(entry.broadcast_id)}
                batch.append(event(media, at, duration=entry.duration) | played)
                predicted[(str(player.screen.pk), str(entry.ad_id), at.astimezone(zone).hour)] += 1
                at += timedelta(seconds=entry.duration)
                if len(batch) == 50:
                    assert player.post(batch).json()["stored"] == 50
                    batch = []
        if batch:
            assert player.post(batch).json()["stored"] == len(batch)
    return predicted


def test_a_simulated_day_adds_up(api, network):
    predicted = play_the_day(network["players"])
    assert len({key[0] for key in predicted}) == 3 and len({key[1] for key in predicted}) == 2

    groups = get(api, "aggregates", group_by="screen,campaign,hour", limit=10000)["results"]
    aggregated = Counter({(row["screen"], row["campaign"], row["hour"]): row["count"] for row in groups})
    assert aggregated == predicted

    displays = all_displays(api, limit=1000)
    from_displays = Counter()
    for row in displays:
        local = datetime.fromisoformat(row["started_at"]).astimezone(zoneinfo.ZoneInfo(row["timezone"]))
        from_displays[(row["screen"], row["campaign"], local.hour)] += 1
    assert from_displays == predicted
    assert len(displays) == len({row["id"] for row in displays}) == sum(predicted.values())

    # The same totals from every angle, and the same from rollups (whole hours) and raw rows (not whole).
    total = get(api, "aggregates")["results"]
    assert total == [{"count": len(displays), "total_duration": sum(r["duration"] for r in displays), "screens": 3}]
    shifted = {
        "started_at__gte": (DAY - timedelta(seconds=1)).isoformat(),
        "started_at__lt": DAY_RANGE["started_at__lt"],
    }
    assert api.get(f"{STATS}/aggregates/", shifted).json()["results"] == total
    by_screen = get(api, "aggregates", group_by="screen")["results"]
    assert sum(row["count"] for row in by_screen) == len(displays)
    assert {row["screen_name"] for row in by_screen} == {"Hall", "Quay", "Shop"}
    morning = get(api, "aggregates", group_by="campaign,date", campaign=str(network["ads"]["Morning"].pk))
    assert [row["campaign_name"] for row in morning["results"]] == ["Morning"] * len(morning["results"])
    # Quay is closed at night and never shows the morning campaign; Hall and Shop show it 6 hours a day.
    by_group = get(api, "aggregates", group_by="screen_group")["results"]
    stations = next(row for row in by_group if row["screen_group"] == network["group"].pk)
    assert stations["screens"] == 2 and stations["screen_group_name"] == "Stations"
    by_place = {row["place"]: row for row in get(api, "aggregates", group_by="place")["results"]}
    assert by_place[network["place"].pk]["place_name"] == "Gare de Lyon"
    weekday = get(api, "aggregates", group_by="weekday", tz="UTC")["results"]
    assert weekday == [{"weekday": DAY.isoweekday(), **total[0]}]


def test_filters_cut_displays_and_aggregates_alike(api, network):
    play_the_day(network["players"])
    hall, quay, _shop = network["players"]
    morning = network["ads"]["Morning"]
    cases = [
        {"screen": str(hall.screen.pk)},
        {"player": str(quay.device.pk)},
        {"campaign": str(morning.pk)},
        {"broadcast": str(morning.broadcasts.get().pk)},
        {"media": morning.broadcasts.get().media.public_id},
        {"place": str(network["place"].pk)},
        {"screen_group": str(network["group"].pk)},
        {"screen": f"{hall.screen.pk},{quay.screen.pk}", "campaign": str(morning.pk)},
    ]
    for params in cases:
        displays = all_displays(api, limit=1000, **params)
        assert displays, params
        total = get(api, "aggregates", **params)["results"]
        assert total[0]["count"] == len(displays), params
        assert len(read_csv(api.get(f"{STATS}/displays/", {**DAY_RANGE, **params, "format": "csv"}))) == len(displays)


# --- the ledger keeps its meaning ----------------------------------------------------------------------


def test_deleting_or_renaming_anything_changes_no_past_event(api, network):
    play_the_day(network["players"])
    before_displays = all_displays(api, limit=1000)
    before = {
        group_by: get(api, "aggregates", group_by=group_by, limit=10000)["results"]
        for group_by in ("screen,campaign,hour", "media,date", "place", "screen")
    }
    hall, quay, shop = network["players"]
    morning = network["ads"]["Morning"]
    morning_media = morning.broadcasts.get().media
    hall.screen.name = "Renamed"
    hall.screen.save()
    network["ads"]["Always"].name = "Renamed too"
    network["ads"]["Always"].save()
    morning.delete()  # the campaign and its broadcasts
    morning_media.delete()
    quay.device.delete()
    shop.screen.delete()
    assert all_displays(api, limit=1000) == before_displays
    for group_by, rows in before.items():
        assert get(api, "aggregates", group_by=group_by, limit=10000)["results"] == rows


# --- tenancy ------------------------------------------------------------------------------------------


def test_another_fleets_events_are_invisible_everywhere(api, network, other_fleet, make_screen, make_media,
                                                         make_member, client_for):  # fmt: skip
    play_the_day(network["players"][:1])
    theirs = Player(make_screen(other_fleet, "Mall", timezone="Europe/Paris"))
    their_media = make_media(other_fleet)
    assert theirs.post([event(their_media, DAY + timedelta(hours=h)) for h in range(5)]).json()["stored"] == 5
    mine = all_displays(api, limit=1000)
    assert mine and all(row["screen"] == str(network["players"][0].screen.pk) for row in mine)
    probes = [
        {"screen": str(theirs.screen.pk)},
        {"player": str(theirs.device.pk)},
        {"media": their_media.public_id},
        {"fleet": str(other_fleet.pk)},
    ]
    for params in probes:
        assert all_displays(api, **params) == []
        assert get(api, "aggregates", **params)["results"] == [{"count": 0, "total_duration": 0.0, "screens": 0}]
        assert read_csv(api.get(f"{STATS}/displays/", {**DAY_RANGE, **params, "format": "csv"})) == []
        assert read_csv(api.get(f"{STATS}/aggregates/", {**DAY_RANGE, **params, "group_by": "screen",
                                                         "format": "csv"})) == []  # fmt: skip
    everything = read_csv(api.get(f"{STATS}/aggregates/", {**DAY_RANGE, "group_by": "screen", "format": "csv"}))
    assert [row["screen"] for row in everything] == [str(network["players"][0].screen.pk)]
    # A viewer of the other fleet sees theirs only.
    viewer = client_for(make_member(other_fleet, Role.VIEWER))
    assert get(viewer, "aggregates")["results"][0]["count"] == 5


def test_no_credentials_is_401(anon):
    assert anon.get(f"{STATS}/displays/", DAY_RANGE).status_code == 401
    assert anon.get(f"{STATS}/aggregates/", DAY_RANGE).status_code == 401


# --- pages, ranges, CSV ---------------------------------------------------------------------------------


@pytest.fixture
def hall_events(fleet, make_screen, make_media):
    player = Player(make_screen(fleet, "Hall", timezone="Europe/Paris"))
    media = make_media(fleet)
    batch = [event(media, DAY + timedelta(minutes=10 * i)) for i in range(30)]
    assert player.post(batch).json()["stored"] == 30
    return player, media


@pytest.mark.parametrize("ordering", ["started_at", "-started_at"])
def test_cursor_pages_are_stable_while_events_arrive(api, hall_events, ordering):
    player, media = hall_events
    first = get(api, "displays", limit=7, ordering=ordering)
    # Events arrive between pages: some before the page boundary, some after.
    late = [event(media, DAY + timedelta(minutes=10 * i + 5)) for i in range(30)]
    assert player.post(late).json()["stored"] == 30
    seen = [row["id"] for row in first["results"]]
    url = first["next"]
    while url:
        body = api.get(url).json()
        seen += [row["id"] for row in body["results"]]
        url = body["next"]
    assert len(seen) == len(set(seen))  # nothing twice
    rows = {row.pk: row.started_at for row in PlayEvent.objects.all()}
    times = [rows[pk] for pk in seen]
    assert times == sorted(times, reverse=ordering.startswith("-"))
    boundary = times[6]
    expected_after = [t for t in rows.values() if (t > boundary if ordering == "started_at" else t < boundary)]
    assert len(seen) == 7 + len(expected_after)


def test_query_counts_do_not_grow_with_page_size(api, hall_events):
    counts = []
    for limit in (2, 25):
        with CaptureQueriesContext(connection) as displays:
            assert len(get(api, "displays", limit=limit)["results"]) == limit
        with CaptureQueriesContext(connection) as aggregates:
            assert len(get(api, "aggregates", group_by="hour", limit=limit)["results"]) in (limit, 5)
        counts.append((len(displays), len(aggregates)))
    assert counts[0] == counts[1]


def test_csv_streams_every_row_with_a_header(api, hall_events):
    by_format = read_csv(api.get(f"{STATS}/displays/", {**DAY_RANGE, "format": "csv"}))
    by_accept = read_csv(api.get(f"{STATS}/displays/", DAY_RANGE, HTTP_ACCEPT="text/csv"))
    assert by_format == by_accept and len(by_format) == 30
    assert list(by_format[0]) == ["id", "event_id", "started_at", "duration", "screen", "screen_name", "player",
                                  "player_name", "place", "place_name", "campaign", "campaign_name", "broadcast",
                                  "media", "media_name", "timezone", "received_at"]  # fmt: skip
    assert by_format[0]["media"] == hall_events[1].public_id
    hours = read_csv(api.get(f"{STATS}/aggregates/", {**DAY_RANGE, "group_by": "date,hour", "format": "csv"}))
    assert list(hours[0]) == ["date", "hour", "count", "total_duration", "screens"]
    assert sum(int(row["count"]) for row in hours) == 30


@pytest.mark.parametrize(
    "params",
    [
        {},
        {"started_at__gte": DAY_RANGE["started_at__gte"]},
        {"started_at__lt": DAY_RANGE["started_at__lt"]},
        {**DAY_RANGE, "started_at__lt": DAY_RANGE["started_at__gte"]},
        {**DAY_RANGE, "started_at__gte": (DAY - timedelta(days=200)).isoformat()},
        {**DAY_RANGE, "started_at__gte": "soon"},
        {**DAY_RANGE, "screen": "not-a-uuid"},
        {**DAY_RANGE, "player": "1,x"},
        {**DAY_RANGE, "media": "picture"},
        {**DAY_RANGE, "tz": "Mars/Olympus"},
        {**DAY_RANGE, "cursor": "bm90IGEgY3Vyc29y"},
        {**DAY_RANGE, "limit": "0"},
        {**DAY_RANGE, "group_by": "screen,colour"},
        {**DAY_RANGE, "group_by": "screen,screen"},
    ],
)
def test_bad_queries_are_clear_400s(api, params):
    view = "aggregates" if "group_by" in params else "displays"
    response = api.get(f"{STATS}/{view}/", params)
    assert response.status_code == 400, response.content
    _field, errors = next(iter(response.json().items()))
    assert errors[0]["message"] and errors[0]["code"]


def test_csv_errors_are_json(api):
    response = api.get(f"{STATS}/displays/", {"format": "csv"}, HTTP_ACCEPT="text/csv")
    assert response.status_code == 400 and response.json()["started_at__gte"][0]["code"] == "required"


def test_an_acknowledged_event_is_counted_on_the_next_request(api, hall_events):
    player, media = hall_events
    at = DAY + timedelta(hours=20, minutes=1)
    assert player.post([event(media, at, duration=7.5)]).json()["stored"] == 1
    row = get(api, "aggregates", group_by="hour", tz="UTC")["results"][-1]
    assert row == {"hour": 20, "count": 1, "total_duration": 7.5, "screens": 1}
    assert get(api, "displays", limit=1)["results"][0]["started_at"].startswith(at.strftime("%Y-%m-%dT%H:%M"))


def test_dates_and_hours_follow_the_screens_timezone(api, fleet, make_screen, make_media):
    paris = Player(make_screen(fleet, "Paris", timezone="Europe/Paris"))
    tokyo = Player(make_screen(fleet, "Tokyo", timezone="Asia/Tokyo"))
    media = make_media(fleet)
    at = DAY + timedelta(hours=22)  # 22:00 UTC: the next day in Tokyo, 23:00 or midnight in Paris
    for player in (paris, tokyo):
        assert player.post([event(media, at)]).json()["stored"] == 1
    rows = {row["screen_name"]: row for row in get(api, "aggregates", group_by="screen,date,hour")["results"]}
    for name, zone in (("Paris", "Europe/Paris"), ("Tokyo", "Asia/Tokyo")):
        local = at.astimezone(zoneinfo.ZoneInfo(zone))
        assert (rows[name]["date"], rows[name]["hour"]) == (local.date().isoformat(), local.hour)
    in_utc = get(api, "aggregates", group_by="date,hour", tz="UTC")["results"]
    assert in_utc == [{"date": at.date().isoformat(), "hour": 22, "count": 2, "total_duration": 20.0, "screens": 2}]


def test_the_range_is_checked_not_trusted(api, hall_events):
    late = (DAY + timedelta(hours=1)).astimezone(UTC)
    body = api.get(
        f"{STATS}/displays/",
        {"started_at__gte": late.isoformat(), "started_at__lt": (late + timedelta(hours=1)).isoformat()},
    ).json()
    assert len(body["results"]) == 6
    assert all(late <= datetime.fromisoformat(row["started_at"]) < late + timedelta(hours=1) for row in body["results"])


@pytest.mark.parametrize("cut_hours", [(0, 72), (1, 70), (7, 55), (23, 49), (13, 14)])
def test_every_way_to_read_the_aggregates_agrees(api, fleet, make_screen, make_media, cut_hours):
    """Whole days of the screens' timezones (daily rollup), the hours of cut days (hourly rollup) and raw
    rows (a range cut inside an hour) give the same groups as counting the events themselves."""
    media = make_media(fleet)
    players = [Player(make_screen(fleet, zone, timezone=zone)) for zone in ("Europe/Paris", "Asia/Tokyo", "UTC")]
    start = DAY - timedelta(days=1)
    for index, player in enumerate(players):
        batch = [event(media, start + timedelta(minutes=37 * i + index)) for i in range(110)]
        assert player.post(batch).json()["stored"] == 110
    since, until = start + timedelta(hours=cut_hours[0]), start + timedelta(hours=cut_hours[1])
    expected = Counter()
    for row in PlayEvent.objects.filter(started_at__gte=since, started_at__lt=until):
        local = row.started_at.astimezone(zoneinfo.ZoneInfo(row.timezone))
        expected[(row.screen_name, local.date().isoformat(), local.isoweekday())] += 1
    for shift in (timedelta(0), timedelta(microseconds=1)):  # the second cuts inside an hour: raw rows
        params = {"started_at__gte": (since - shift).isoformat(), "started_at__lt": until.isoformat()}
        rows = api.get(f"{STATS}/aggregates/", {**params, "group_by": "screen,date,weekday"}).json()["results"]
        assert Counter({(r["screen_name"], r["date"], r["weekday"]): r["count"] for r in rows}) == expected
        for player in players:  # a tz equal to the screen's own reads the hourly rollup: same answer
            one = {**params, "group_by": "date", "screen": str(player.screen.pk), "tz": player.screen.timezone}
            rows = api.get(f"{STATS}/aggregates/", one).json()["results"]
            mine = {k[1]: n for k, n in expected.items() if k[0] == player.screen.name}
            assert {r["date"]: r["count"] for r in rows} == mine


@pytest.mark.parametrize("group_by", ["screen,date", "hour", "media,weekday", "campaign,place"])
def test_the_page_postgresql_writes_is_the_aggregates(api, hall_events, group_by):
    """On PostgreSQL a JSON page of aggregates is written by the database; it holds what aggregates()
    gives, in the same order, and the `next` link when more groups follow (SQLite: aggregates() itself)."""
    from apps.stats.selectors import StatsQuery, aggregates

    player, _media = hall_events
    query = StatsQuery(fleet_ids=[player.device.fleet_id], since=DAY, until=DAY + timedelta(days=1))
    expected = aggregates(query, group_by.split(","), limit=1000, offset=0)
    assert get(api, "aggregates", group_by=group_by)["results"] == expected
    first = get(api, "aggregates", group_by=group_by, limit=1)
    assert first["results"] == expected[:1]
    assert (first["next"] is not None) == (len(expected) > 1)
