"""The sliding quota check costs the same whatever the screen counts and the dates (issue 14, finding 14):
no walk over the least common multiple of the screen counts, in days."""

import json
from datetime import date, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from hypothesis import given, settings
from hypothesis import strategies as st

from apps.accounts.models import Membership
from apps.ads import quota
from apps.ads.models import Ad
from apps.ads.quota import MAX_SLIDING_PER_SCREEN, Load, Work, first_overflows

from .helpers import media_url, url

PRIMES = [2, 3, 5, 7, 11, 13, 17, 19, 23]
ADS = "/api/management/v2/ads/"


def naive_first_overflows(screen_ids, loads, quotas, span_start, span_end):
    """The definition, day by day (only for short spans)."""
    found = {}
    for screen_id in screen_ids:
        day = span_start
        while day <= span_end:
            total = sum(load.seconds_on(screen_id, day) for load in loads if load.runs_on(day))
            if total > quotas[screen_id] + quota.EPSILON:
                found[screen_id] = (day, total)
                break
            day += timedelta(days=1)
    return found


@st.composite
def load_sets(draw):
    d0 = date(2026, 1, 1)
    screens = ["a", "b", "c", "d", "e"]
    loads = []
    for index in range(draw(st.integers(1, 7))):
        start = d0 + timedelta(days=draw(st.integers(0, 40)))
        end = start + timedelta(days=draw(st.integers(1, 80)))
        seconds = float(draw(st.sampled_from([5, 10, 15, 20])))
        if draw(st.booleans()):
            order = tuple(draw(st.permutations(screens))[: draw(st.integers(2, 5))])
            loads.append(Load(str(index), start, end, dict.fromkeys(order, seconds), sliding_order=order))
        else:
            chosen = draw(st.lists(st.sampled_from(screens), min_size=1, max_size=5, unique=True))
            loads.append(Load(str(index), start, end, dict.fromkeys(chosen, seconds)))
    quotas = {screen: float(draw(st.sampled_from([10, 20, 25, 30, 40]))) for screen in screens}
    return screens, loads, quotas, d0, d0 + timedelta(days=draw(st.integers(0, 130)))


@settings(max_examples=300, deadline=None)
@given(load_sets())
def test_the_engine_finds_the_first_overflow_the_day_by_day_walk_finds(case):
    screens, loads, quotas, span_start, span_end = case
    expected = naive_first_overflows(screens, loads, quotas, span_start, span_end)
    result = first_overflows(screen_ids=screens, loads=loads, quotas=quotas, span_start=span_start, span_end=span_end)
    assert {screen: (item.day, item.duration) for screen, item in result.items()} == expected


def worst_case_loads(seconds=25.0, end=date(9000, 12, 31)):
    """Sliding campaigns on 2, 3, 5, ..., 23 screens (the first p of 23), all on screen 0, to year 9000.
    Screen 0 comes last in each order: the campaign on p screens plays there on the days d0 - 1 (mod p)."""
    d0 = date(2026, 1, 1)
    screens = list(range(23))
    return [
        Load(f"p{p}", d0, end, dict.fromkeys(screens[:p], seconds), sliding_order=tuple(reversed(screens[:p])))
        for p in PRIMES
    ]


@pytest.mark.parametrize("room", [8, 5, 2])  # campaigns that must meet on one screen for an overflow
def test_primes_up_to_23_to_year_9000_cost_a_bounded_number_of_steps(room):
    loads = worst_case_loads()
    work = Work()
    result = first_overflows(
        screen_ids=list(range(23)),
        loads=loads,
        quotas=dict.fromkeys(range(23), 25.0 * room + 1),
        span_start=date(2026, 1, 1),
        span_end=date(9000, 12, 31),
        work=work,
    )
    # Never more than every set of the 9 campaigns once per screen, and one day evaluated per overflow;
    # the day-by-day walk would have taken 2*3*5*...*23 = 223,092,870 days on screen 0.
    assert work.sets <= 23 * 2 ** len(PRIMES)
    assert work.days == len(result)
    # 9 campaigns meet nowhere before year 9000 (their cycle is 610,000 years long); 6 on 2..13 meet every
    # 30,030 days; 3 on 2, 3, 5 within the first 30 days.
    assert (0 in result) == (room < 8)
    if room == 5:
        assert result[0].day == date(2026, 1, 1) + timedelta(days=2 * 3 * 5 * 7 * 11 * 13 - 1)
    if room == 2:
        assert result[0].day == date(2026, 1, 1) + timedelta(days=2 * 3 * 5 - 1)


def test_the_ordinary_case_and_the_worst_case_cost_the_same_steps():
    ordinary, worst = Work(), Work()
    short = worst_case_loads(end=date(2026, 3, 1))
    for loads, work in [(short, ordinary), (worst_case_loads(), worst)]:
        first_overflows(
            screen_ids=list(range(23)),
            loads=loads,
            quotas=dict.fromkeys(range(23), 1000.0),
            span_start=date(2026, 1, 1),
            span_end=loads[0].end,
            work=work,
        )
    assert worst == ordinary


def test_more_sliding_campaigns_on_a_screen_than_the_limit_are_refused():
    d0 = date(2026, 1, 1)
    loads = [
        Load(str(i), d0, d0 + timedelta(days=30), {"s": 1.0, "t": 1.0}, sliding_order=("s", "t"))
        for i in range(MAX_SLIDING_PER_SCREEN + 1)
    ]
    with pytest.raises(quota.TooManySliding):
        first_overflows(screen_ids=["s"], loads=loads, quotas={"s": 100.0}, span_start=d0, span_end=None)


@pytest.fixture
def sov_screens(fleet, user, make_screen):
    fleet.share_of_voice = True
    fleet.max_screens = 100
    fleet.save()
    fleet.advertiser_types.add(1)
    Membership.objects.filter(user=user, fleet=fleet).update(advertiser_type=1)
    return [make_screen(fleet, f"s{i:02d}", allocated_times={"1": 1000}) for i in range(23)]


def _create_sliding(api, media, screens, end) -> tuple[int, int]:
    payload = {
        "name": f"Sliding on {len(screens)}",
        "campaign_startdate": str(timezone.now().date()),
        "campaign_enddate": str(end),
        "author_origin": 1,
        "sliding": True,
        "broadcasts": [{"media": media_url(media), "screens": [url(screen) for screen in screens]}],
    }
    with CaptureQueriesContext(connection) as queries:
        response = api.post(ADS, data=json.dumps(payload), content_type="application/json")
    assert response.status_code == 201, response.content
    return len(queries)


@pytest.mark.django_db
def test_creating_the_worst_case_through_the_api_costs_the_queries_of_the_ordinary_case(
    api, fleet, sov_screens, make_media
):
    media = make_media(fleet, display_time=25)
    soon = timezone.now().date() + timedelta(days=30)
    ordinary = [_create_sliding(api, media, sov_screens[:p], soon) for p in PRIMES]
    Ad.objects.all().delete()
    worst = [_create_sliding(api, media, sov_screens[:p], date(9000, 12, 31)) for p in PRIMES]
    assert worst == ordinary
