"""The campaign's calendar has one home (apps/ads/models.py): "current" in Python and in SQL agree, and the
quota engine's residue classes are the days of the loop's sliding turn."""

import zoneinfo
from datetime import date, timedelta

import pytest
from django.utils import timezone

from apps.ads.models import Ad, current_q, running_q, runs_between, sliding_turn, sliding_turn_days

START = date(2026, 3, 10)
ENDS = [None, START, START + timedelta(days=1), START + timedelta(days=5)]
DAYS = [START + timedelta(days=offset) for offset in range(-2, 8)]


@pytest.mark.django_db
def test_current_in_sql_is_current_in_python(fleet):
    ads = [
        Ad.objects.create(fleet=fleet, name=f"ends {end}", campaign_startdate=START, campaign_enddate=end)
        for end in ENDS
    ]
    for day_from in DAYS:
        for day_to in (None, day_from + timedelta(days=2)):
            in_sql = set(Ad.objects.filter(running_q(day_from, day_to)).values_list("pk", flat=True))
            in_python = {
                ad.pk for ad in ads if runs_between(ad.campaign_startdate, ad.campaign_enddate, day_from, day_to)
            }
            assert in_sql == in_python, (day_from, day_to)
    assert {ad.pk for ad in ads if ad.is_current(START + timedelta(days=1))} == {ads[0].pk, ads[2].pk, ads[3].pk}


@pytest.mark.django_db
def test_current_today_is_each_fleets_own_today(fleet, other_fleet):
    other_fleet.timezone = "Pacific/Kiritimati"  # UTC+14: its today is often the others' tomorrow
    other_fleet.save()

    for each in (fleet, other_fleet):
        today = timezone.now().astimezone(zoneinfo.ZoneInfo(each.timezone)).date()
        Ad.objects.create(fleet=each, name="today only", campaign_startdate=today, campaign_enddate=today)
    pairs = [(fleet.pk, fleet.timezone), (other_fleet.pk, other_fleet.timezone)]
    assert Ad.objects.filter(current_q(pairs)).count() == 2


def test_the_sliding_turns_residue_classes_are_the_days_of_each_turn():
    for screens in (2, 3, 7):
        for day in DAYS:
            turn = sliding_turn(START, day, screens)
            assert day.toordinal() % screens == sliding_turn_days(START, turn, screens)
        assert [sliding_turn(START, START + timedelta(days=d), screens) for d in range(screens)] == list(range(screens))
