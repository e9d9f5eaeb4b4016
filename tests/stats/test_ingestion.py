"""Proof of play in: batches stored once per player, all or nothing, ids and names kept at the time."""

import threading
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from apps.stats.models import HourlyPlays, PlayEvent

from .conftest import STATS, Player, event

pytestmark = pytest.mark.django_db

T0 = (timezone.now() - timedelta(days=3)).replace(minute=0, second=0, microsecond=0)
RANGE = {
    "started_at__gte": (T0 - timedelta(hours=1)).isoformat(),
    "started_at__lt": (T0 + timedelta(days=1)).isoformat(),
}


@pytest.fixture
def setup(fleet, make_screen, make_media, make_campaign):
    screen = make_screen(fleet, "Lobby", timezone="Europe/Paris")
    media = make_media(fleet, name="Spring spot")
    ad, broadcast = make_campaign(fleet, media, [screen], name="Spring sale")
    return Player(screen, name="Lobby player"), media, ad, broadcast


def test_a_batch_is_stored_with_the_names_of_the_time(setup):
    player, media, ad, broadcast = setup
    batch = [event(media, T0 + timedelta(seconds=10 * i), ad=ad, broadcast=broadcast) for i in range(3)]
    assert player.post(batch).json() == {"received": 3, "stored": 3}
    stored = PlayEvent.objects.order_by("started_at").first()
    assert (stored.screen_name, stored.ad_name, stored.media_name, stored.device_name, stored.timezone) == (
        "Lobby", "Spring sale", "Spring spot", "Lobby player", "Europe/Paris"
    )  # fmt: skip
    assert (stored.screen_id, stored.ad_id, stored.media_id, stored.fleet_id) == (
        player.screen.pk, ad.pk, media.pk, player.device.fleet_id
    )  # fmt: skip


def test_a_batch_sent_twice_counts_once(setup, api):
    player, media, ad, _ = setup
    batch = [event(media, T0 + timedelta(seconds=10 * i), ad=ad) for i in range(4)]
    assert player.post(batch).json()["stored"] == 4
    assert player.post(batch).json() == {"received": 4, "stored": 0}
    assert player.post(batch + batch).json() == {"received": 8, "stored": 0}
    assert PlayEvent.objects.count() == 4
    totals = api.get(f"{STATS}/aggregates/", RANGE).json()
    assert totals["results"] == [{"count": 4, "total_duration": 40.0, "screens": 1}]


def test_a_broadcast_alone_names_its_campaign(setup):
    player, media, ad, broadcast = setup
    assert player.post([event(media, T0, broadcast=broadcast)]).json()["stored"] == 1
    assert PlayEvent.objects.get().ad_id == ad.pk


def test_event_ids_are_unique_per_player_not_across_fleets(setup, other_fleet, make_screen, make_media):
    """Finding 12: a player of another fleet sending the same event id has it stored for itself."""
    player, media, *_ = setup
    theirs = Player(make_screen(other_fleet, "Mall"))
    their_media = make_media(other_fleet)
    same_id = uuid.uuid4()
    assert player.post([event(media, T0, event_id=same_id)]).json()["stored"] == 1
    assert theirs.post([event(their_media, T0, event_id=same_id)]).json()["stored"] == 1
    second_here = Player(player.screen)  # another player of the same fleet, same id
    assert second_here.post([event(media, T0, event_id=same_id)]).json()["stored"] == 1
    assert PlayEvent.objects.filter(event_id=same_id).count() == 3
    assert set(PlayEvent.objects.values_list("fleet_id", flat=True)) == {player.device.fleet_id, other_fleet.pk}


def _bad_batches(media, ad, broadcast, foreign_media, foreign_ad, other_broadcast):
    good = event(media, T0)
    return {
        "unknown media": event(media, T0) | {"media": "picture-99999999"},
        "media id too long": event(media, T0) | {"media": "picture-99999999999999999999"},
        "not a media id": event(media, T0) | {"media": "video"},
        "media of another type": event(media, T0) | {"media": f"video-{media.pk}"},
        "another fleet's media": event(foreign_media, T0),
        "another fleet's campaign": event(media, T0, ad=foreign_ad),
        "broadcast of another campaign": event(media, T0, ad=ad, broadcast=other_broadcast),
        "future": event(media, timezone.now() + timedelta(hours=1)),
        "before the player registered": event(media, datetime(2020, 1, 1, tzinfo=UTC)),
        "_good": good,
    }


@pytest.mark.parametrize(
    "kind",
    [
        "unknown media",
        "media id too long",
        "media of another type",
        "another fleet's media",
        "another fleet's campaign",
        "broadcast of another campaign",
        "future",
        "before the player registered",
    ],
)
def test_a_bad_event_refuses_the_whole_batch_and_names_it(
    kind, setup, other_fleet, make_media, make_campaign, make_screen
):
    """Finding 13 among others: every bad reference is a 400 naming the event; nothing is stored."""
    player, media, ad, broadcast = setup
    foreign_media = make_media(other_fleet)
    foreign_ad, _ = make_campaign(other_fleet, foreign_media, [make_screen(other_fleet)])
    _, other_broadcast = make_campaign(player.device.fleet, media, [player.screen], name="Other")
    batches = _bad_batches(media, ad, broadcast, foreign_media, foreign_ad, other_broadcast)
    bad = batches[kind]
    response = player.post([event(media, T0), bad, event(media, T0 + timedelta(seconds=5))])
    assert response.status_code == 400, response.content
    messages = [item["message"] for item in response.json()["events"]]
    assert len(messages) == 1 and messages[0].startswith(f"Event {bad['id']}:")
    assert PlayEvent.objects.count() == 0 and HourlyPlays.objects.count() == 0


@pytest.mark.parametrize(
    "change",
    [
        {"duration": -1},
        {"duration": 86401},
        {"duration": "1e309"},
        {"started_at": "yesterday"},
        {"id": "not-a-uuid"},
        {"ad": "x"},
    ],
)
def test_malformed_events_are_400_and_store_nothing(setup, change):
    player, media, *_ = setup
    response = player.post([event(media, T0), event(media, T0) | change])
    assert response.status_code == 400
    assert PlayEvent.objects.count() == 0


def test_a_batch_is_at_most_5000_events(setup):
    player, media, *_ = setup
    assert player.post([event(media, T0 + timedelta(seconds=i)) for i in range(5001)]).status_code == 400
    assert PlayEvent.objects.count() == 0


def test_an_unpaired_player_cannot_post(setup, make_media):
    from rest_framework.test import APIClient

    from apps.devices.services import device_register

    _device, token = device_register(uuid="lonely", info={}, device=None)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Device {token}")
    _, media, *_ = setup
    assert client.post("/api/device/stats", {"events": [event(media, T0)]}, format="json").status_code == 403


def test_ingestion_costs_the_same_queries_for_1_and_500_events(setup):
    """One INSERT statement per batch on PostgreSQL (SQLite splits statements past 999 variables, so it
    is compared at 1 and 50 events)."""
    player, media, ad, broadcast = setup
    counts = []
    for size in (1, 500 if connection.vendor == "postgresql" else 50):
        batch = [event(media, T0 + timedelta(seconds=i), ad=ad, broadcast=broadcast) for i in range(size)]
        with CaptureQueriesContext(connection) as queries:
            assert player.post(batch).json()["stored"] == size
        counts.append(len(queries))
    assert counts[0] == counts[1]
    if connection.vendor == "postgresql":  # the player, the names (media, campaigns, broadcasts, place), the INSERT
        sql = [query["sql"] for query in queries.captured_queries if "SAVEPOINT" not in query["sql"]]
        assert len(sql) == 3, sql


@pytest.mark.django_db(transaction=True)
def test_ten_parallel_posts_of_one_event_store_one_row(setup):
    """Finding 12: concurrent posts of one event id (10 threads, each its own connection)."""
    if connection.vendor != "postgresql":
        pytest.skip("concurrent writers need PostgreSQL (CI runs this on PostgreSQL)")
    player, media, ad, _ = setup
    same = [event(media, T0, ad=ad, event_id=uuid.uuid4()), event(media, T0 + timedelta(seconds=9), ad=ad)]
    barrier = threading.Barrier(10)
    results = []

    def post():
        try:
            barrier.wait()
            results.append(player.post(same).json()["stored"])
        finally:
            connection.close()

    for _trial in range(3):
        results.clear()
        threads = [threading.Thread(target=post) for _ in range(10)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
        assert sorted(results) == [0] * 9 + [2]
        assert PlayEvent.objects.filter(event_id__in=[e["id"] for e in same]).count() == 2
        assert sum(HourlyPlays.objects.values_list("plays", flat=True)) == 2
        same = [event(media, T0 + timedelta(minutes=_trial + 1), ad=ad) for _ in range(2)]
        PlayEvent.objects.all().delete()
        HourlyPlays.objects.all().delete()


@pytest.mark.parametrize(
    "change",
    [
        {},
        {"id": "8C2B6F7E-0B1A-4C55-9D3E-6A1F2B3C4D5E"},
        {"started_at": "2026-01-02T03:04:05"},
        {"started_at": "2026-01-02T03:04:05.250+02:00"},
        {"started_at": "2026-01-02 03:04:05+02:00"},
        {"started_at": "2026-01-02T03:04:05+20:00"},
        {"duration": "12.5"},
        {"duration": True},
        {"media": " picture-7 "},
        {"ad": None, "broadcast": None},
        {"extra": "ignored"},
    ],
)
def test_the_lean_batch_parser_reads_events_as_the_serializer_does(change):
    """parse_batch checks the plain way players write events itself and sends anything else through
    StatsSerializer: either way the events are the serializer's, with uuids as text."""
    from apps.stats.protocol import StatsSerializer, parse_batch

    plain = {
        "id": str(uuid.uuid4()),
        "media": "picture-7",
        "ad": str(uuid.uuid4()),
        "broadcast": str(uuid.uuid4()),
        "started_at": "2026-01-02T03:04:05.123456Z",
        "duration": 10,
    }
    data = {"events": [plain, plain | change]}
    incoming = StatsSerializer(data=data)
    assert incoming.is_valid(), incoming.errors
    expected = [
        {**item, **{key: str(item[key]) if item.get(key) else None for key in ("id", "ad", "broadcast")}}
        for item in incoming.validated_data["events"]
    ]
    parsed = parse_batch(data)
    assert [{key: value for key, value in item.items() if key != "started_text"} for item in parsed] == expected
    # the date's text, stored as it is written, is the same instant
    assert [datetime.fromisoformat(item["started_text"]) for item in parsed] == [e["started_at"] for e in expected]


@pytest.mark.parametrize(
    "change",
    [{"id": 12.5}, {"media": ""}, {"media": "x" * 41}, {"ad": ""}, {"started_at": 1}, {"duration": "nan"}],
)
def test_the_lean_batch_parser_refuses_what_the_serializer_refuses(change):
    from rest_framework.exceptions import ValidationError as DRFValidationError

    from apps.stats.protocol import StatsSerializer, parse_batch

    plain = {"id": str(uuid.uuid4()), "media": "picture-7", "started_at": "2026-01-02T03:04:05Z", "duration": 1}
    data = {"events": [plain, plain | change]}
    incoming = StatsSerializer(data=data)
    assert not incoming.is_valid()
    with pytest.raises(DRFValidationError) as refused:
        parse_batch(data)
    assert refused.value.detail == incoming.errors


def test_events_written_every_accepted_way_are_stored_at_their_instant(setup):
    """The lean parser's dates (stored from their text) and the serializer's (stored from datetimes) agree."""
    player, media, ad, _ = setup
    forms = [
        T0.isoformat(),  # +00:00
        T0.strftime("%Y-%m-%dT%H:%M:%S.123456Z"),
        T0.astimezone(timezone.get_fixed_timezone(-150)).isoformat(),  # -02:30
        T0.replace(tzinfo=None).isoformat(),  # naive: the serializer reads it in UTC
        T0.astimezone(timezone.get_fixed_timezone(20 * 60)).isoformat(),  # +20:00, beyond PostgreSQL's offsets
    ]
    batch = [event(media, T0, ad=ad) | {"started_at": text} for text in forms]
    # one event a batch: the first three are read by the lean parser, the last two by the serializer
    assert [player.post([item]).json()["stored"] for item in batch] == [1] * 5
    stored = sorted(PlayEvent.objects.values_list("started_at", flat=True))
    assert stored == sorted([T0, T0 + timedelta(microseconds=123456), T0, T0, T0])
    assert player.post(batch).json() == {"received": 5, "stored": 0}
    assert player.post([batch[0] | {"id": batch[0]["id"].upper()}]).json()["stored"] == 0  # the same uuid
