"""Invariants of the pure loop builder, checked on generated campaigns (hypothesis): broadcasts with
conditions (day types, public holidays, time ranges, fresh, stale and missing feeds) on screens in shared
and exclusive schedule mode, with their public holidays."""

import random
import uuid
import zoneinfo
from datetime import UTC, date, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from apps.broadcasts.loop import Candidate, ScreenState, build_loop, local_time, plays_on
from apps.screens.hours import is_open

SCREEN = "4b9f2f0e-0000-4000-8000-000000000001"
OTHER = "4b9f2f0e-0000-4000-8000-000000000002"
BASE_DAY = date(2026, 3, 20)

hours = st.sampled_from(
    [
        {},
        {"1": [["09:00", "18:00"]]},
        {str(d): [["06:00", "22:00"]] for d in range(1, 8)},
        {"7": [["02:00", "03:00"]]},
        {"6": [["00:00", "12:00"]], "7": [["12:00", "24:00"]]},
    ]
)


FRESH = datetime(2026, 3, 1, tzinfo=UTC)  # fetched then, fresh for 60 days: fresh over the whole window
FEEDS = {
    1: ({"t": 5, "cities": {"Paris": {"t": 12}}}, FRESH, 60 * 86400),
    2: ({"t": 5}, datetime(2026, 1, 1, tzinfo=UTC), 3600),  # stale over the whole window
}
conditions = st.lists(
    st.sampled_from(
        [
            {"type": "day_type", "operator": "eq", "value": "weekday"},
            {"type": "day_type", "operator": "eq", "value": "weekend"},
            {"type": "day_type", "operator": "eq", "value": "public_holiday"},
            {"type": "day_type", "operator": "ne", "value": "public_holiday"},
            {"type": "time_range", "operator": "between", "value": "09:00-17:00"},
            {"type": "time_range", "operator": "not_between", "value": "22:00-06:00"},
            {"type": "day_of_week", "operator": "in", "value": [1, 3, 5]},
            {"type": "day_of_week", "operator": "not_in", "value": [6, 7]},
            {"type": "feed", "feed": 1, "path": "$.t", "operator": "lt", "value": 10},
            {"type": "feed", "feed": 1, "path": "$.cities.{city}.t", "operator": "gte", "value": 10},
            {"type": "feed", "feed": 1, "path": "$.nowhere", "operator": "lt", "value": 10},
            {"type": "feed", "feed": 2, "path": "$.t", "operator": "lt", "value": 10},  # stale
            {"type": "feed", "feed": 3, "path": "$.t", "operator": "lt", "value": 10},  # missing
        ]
    ),
    max_size=2,
)
UNEVALUABLE = ("$.nowhere", 2, 3)


@st.composite
def candidates(draw):
    count = draw(st.integers(0, 12))
    ads = [uuid.UUID(int=draw(st.integers(1, 10**6))) for _ in range(max(1, count // 2))]
    made = []
    for index in range(count):
        ad = draw(st.sampled_from(ads))
        start = BASE_DAY + timedelta(days=draw(st.integers(-10, 10)))
        made.append(
            Candidate(
                broadcast_id=uuid.UUID(int=10**7 + index),
                ad_id=ad,
                ad_name=str(ad),
                media_id=draw(st.integers(1, 50)),
                media_type="picture",
                duration=float(draw(st.integers(1, 30))),
                file_hash="h",
                size=1,
                status=draw(st.sampled_from(["active", "active", "suspended"])),
                campaign_type=draw(st.sampled_from(["standard", "standard", "solo", "event"])),
                multimedia_type=draw(st.sampled_from(["cloned", "playlist", "stretched"])),
                main_loop=draw(st.booleans()) or draw(st.booleans()),
                start=start,
                end=draw(st.one_of(st.none(), st.just(start + timedelta(days=draw(st.integers(0, 20)))))),
                priority=draw(st.integers(0, 3)),
                ad_created=datetime(2026, 1, 1, tzinfo=UTC) + timedelta(minutes=ad.int % 1000),
                order=draw(st.integers(0, 3)),
                display_periods=draw(hours),
                loop_indexes=draw(
                    st.one_of(
                        st.just({}),
                        st.builds(lambda p: {SCREEN: p}, st.lists(st.integers(0, 9), min_size=1, max_size=3)),
                    )
                ),
                valid_until=draw(st.one_of(st.none(), st.just(datetime(2026, 3, 20, 12, tzinfo=UTC)))),
                sliding_order=draw(st.sampled_from([(), (SCREEN, OTHER), (OTHER, SCREEN)])),
                conditions=tuple(draw(conditions)),
                feeds={key: FEEDS[key] for key in (1, 2)},
            )
        )
    return made


instants = st.datetimes(min_value=datetime(2026, 3, 10), max_value=datetime(2026, 4, 5), timezones=st.just(UTC))
screens = st.builds(
    lambda active, tz, hrs, mode, holidays, city: ScreenState(
        SCREEN, active, tz, hrs, schedule_mode=mode, holidays=holidays, place={"city": city}
    ),
    st.booleans() | st.just(True),
    st.sampled_from(["Europe/Paris", "America/New_York", "UTC", "Asia/Kolkata"]),
    hours,
    st.sampled_from(["shared", "shared", "exclusive"]),
    st.frozensets(st.dates(min_value=date(2026, 3, 9), max_value=date(2026, 4, 6)), max_size=6),
    st.sampled_from(["Paris", "Lyon"]),
)


@settings(max_examples=120, deadline=None)
@given(screen=screens, at=instants, pool=candidates())
def test_only_playable_content_and_nothing_when_closed(screen, at, pool):
    loop = build_loop(screen, at, pool)
    by_id = {c.broadcast_id: c for c in pool}
    now = local_time(screen, at)
    if not screen.active or not is_open(screen.opening_hours, now.isoweekday(), now.time()):
        assert loop == []
    for entry in loop:
        candidate = by_id[entry.broadcast_id]
        assert plays_on(candidate, screen, at)
        assert candidate.status == "active" and candidate.main_loop
        assert candidate.start <= now.date() and (candidate.end is None or now.date() <= candidate.end)
        assert candidate.valid_until is None or candidate.valid_until > at
    assert [entry.position for entry in loop] == list(range(len(loop)))


@settings(max_examples=120, deadline=None)
@given(screen=screens, at=instants, pool=candidates())
def test_indexes_are_honoured_and_missing_means_last(screen, at, pool):
    loop = build_loop(screen, at, pool)
    by_id = {c.broadcast_id: c for c in pool}
    ranks = []
    for entry in loop:
        indexes = by_id[entry.broadcast_id].loop_indexes.get(SCREEN)
        ranks.append(float("inf") if not indexes else None)
    # The indexed entries come first, each as many times as it has indexes, in index order.
    indexed = [entry for entry, rank in zip(loop, ranks, strict=True) if rank is None]
    assert loop[: len(indexed)] == indexed
    expected = sorted(
        index for entry in {e.broadcast_id for e in indexed} for index in by_id[entry].loop_indexes[SCREEN]
    )
    assert len(indexed) == len(expected)


@settings(max_examples=80, deadline=None)
@given(screen=screens, at=instants, pool=candidates(), seed=st.integers(0, 1000))
def test_deterministic_whatever_the_input_order(screen, at, pool, seed):
    shuffled = list(pool)
    random.Random(seed).shuffle(shuffled)
    assert build_loop(screen, at, pool) == build_loop(screen, at, shuffled)


@settings(max_examples=80, deadline=None)
@given(screen=screens, at=instants, pool=candidates())
def test_events_take_over_and_playlists_stay_together(screen, at, pool):
    loop = build_loop(screen, at, pool)
    by_id = {c.broadcast_id: c for c in pool}
    playing = [c for c in pool if plays_on(c, screen, at)]
    if screen.active and any(c.campaign_type == "event" for c in playing) and loop:
        assert all(by_id[e.broadcast_id].campaign_type == "event" for e in loop)
    tail = [e for e in loop if not by_id[e.broadcast_id].loop_indexes.get(SCREEN)]
    playlist_ads = [e.ad_id for e in tail if by_id[e.broadcast_id].multimedia_type == "playlist"]
    for ad in set(playlist_ads):
        spots = [i for i, e in enumerate(tail) if e.ad_id == ad and by_id[e.broadcast_id].multimedia_type == "playlist"]
        assert spots == list(range(spots[0], spots[0] + len(spots)))


@settings(max_examples=80, deadline=None)
@given(at=st.datetimes(min_value=datetime(2026, 3, 28, 20), max_value=datetime(2026, 3, 29, 6), timezones=st.just(UTC)))
def test_dst_day_uses_the_wall_clock(at):
    # Europe/Paris springs forward at 01:00 UTC on 2026-03-29: local 02:00-03:00 does not exist that day.
    paris = ScreenState(SCREEN, True, "Europe/Paris", {"7": [["02:00", "03:00"]], "6": [["00:00", "23:00"]]})
    always = Candidate(
        uuid.uuid4(),
        uuid.uuid4(),
        "a",
        1,
        "picture",
        5.0,
        "h",
        1,
        "active",
        "standard",
        "cloned",
        True,
        date(2026, 3, 1),
        None,
        0,
        datetime(2026, 1, 1, tzinfo=UTC),
        0,
        {},
        {},
    )
    wall = at.astimezone(zoneinfo.ZoneInfo("Europe/Paris"))
    expected = is_open(paris.opening_hours, wall.isoweekday(), wall.time())
    assert bool(build_loop(paris, at, [always])) == expected
    if wall.date() == date(2026, 3, 29):
        assert not build_loop(paris, at, [always])  # 02:00-03:00 never happens on that Sunday


@settings(max_examples=150, deadline=None)
@given(screen=screens, at=instants, pool=candidates())
def test_conditions_hold_for_everything_that_plays(screen, at, pool):
    now = local_time(screen, at)
    weekend = now.isoweekday() >= 6
    holiday = now.date() in screen.holidays
    minutes = now.hour * 60 + now.minute
    for entry in build_loop(screen, at, pool):
        for condition in next(c for c in pool if c.broadcast_id == entry.broadcast_id).conditions:
            value = condition["value"]
            assert condition.get("path") not in UNEVALUABLE and condition.get("feed") not in UNEVALUABLE
            if condition["type"] == "day_type" and condition["operator"] == "eq":
                assert {"weekday": not weekend, "weekend": weekend, "public_holiday": holiday}[value]
            if condition["type"] == "day_type" and condition["operator"] == "ne":
                assert not holiday
            if condition["type"] == "day_of_week":
                assert (now.isoweekday() in value) == (condition["operator"] == "in")
            if condition["type"] == "time_range" and condition["operator"] == "between":
                assert 9 * 60 <= minutes < 17 * 60
            if condition["type"] == "time_range" and condition["operator"] == "not_between":
                assert 6 * 60 <= minutes < 22 * 60
            if condition.get("path") == "$.cities.{city}.t":
                assert screen.place["city"] == "Paris"  # only Paris is at 12, and 12 >= 10


@settings(max_examples=150, deadline=None)
@given(screen=screens, at=instants, pool=candidates())
def test_exclusive_plays_only_the_highest_priority(screen, at, pool):
    loop = build_loop(screen, at, pool)
    by_id = {c.broadcast_id: c for c in pool}
    playing = [c for c in pool if plays_on(c, screen, at)]
    if any(c.campaign_type == "event" for c in playing):
        playing = [c for c in playing if c.campaign_type == "event"]
    if screen.schedule_mode == "exclusive" and loop:
        top = max(c.priority for c in playing)
        assert {by_id[e.broadcast_id].priority for e in loop} == {top}
        assert {e.broadcast_id for e in loop} == {c.broadcast_id for c in playing if c.priority == top}
    if screen.schedule_mode == "shared" and loop:
        assert {e.broadcast_id for e in loop} == {c.broadcast_id for c in playing}
