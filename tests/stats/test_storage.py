"""Storage for volume: monthly partitions made ahead and dropped past the retention, rollups kept."""

from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from apps.devices.models import Device
from apps.stats import partitions
from apps.stats.models import HourlyPlays, PlayEvent
from apps.stats.services import rollup_rebuild, stats_storage_maintain
from apps.stats.tasks import maintain_stats_storage

from .conftest import STATS, Player, event

pytestmark = pytest.mark.django_db


def hour(moment):
    return moment.replace(minute=0, second=0, microsecond=0)


@pytest.fixture
def old_and_new(fleet, make_screen, make_media):
    player = Player(make_screen(fleet, "Hall", timezone="Europe/Paris"))
    Device.objects.filter(pk=player.device.pk).update(created=timezone.now() - timedelta(days=600))
    player.device.refresh_from_db()
    media = make_media(fleet)
    old = hour(timezone.now() - timedelta(days=450))
    new = hour(timezone.now() - timedelta(days=3))
    partitions.partitions_ensure(start=old.date(), months_ahead=0)
    batch = [event(media, old + timedelta(minutes=i)) for i in range(4)]
    batch += [event(media, new + timedelta(minutes=i)) for i in range(3)]
    assert player.post(batch).json()["stored"] == 7
    return old, new


def counted(api, start):
    params = {"started_at__gte": start.isoformat(), "started_at__lt": (start + timedelta(hours=1)).isoformat()}
    return api.get(f"{STATS}/aggregates/", params).json()["results"][0]["count"]


def test_retention_drops_old_raw_events_and_keeps_the_rest(api, old_and_new, settings):
    old, new = old_and_new
    settings.SIGNAGE_STATS_RETENTION_DAYS = 400
    result = maintain_stats_storage.delay().get()
    assert PlayEvent.objects.filter(started_at__lt=old + timedelta(days=1)).count() == 0
    assert PlayEvent.objects.filter(started_at__gte=new).count() == 3
    assert counted(api, new) == 3
    if connection.vendor == "postgresql":
        assert partitions.partition_name(partitions.month_start(old.date())) in result["dropped"]
        assert counted(api, old) == 4  # the rollup outlives the raw partition
        assert sum(HourlyPlays.objects.values_list("plays", flat=True)) == 7
    assert maintain_stats_storage.delay().get()["dropped"] == []  # twice is harmless


def test_no_retention_keeps_everything(old_and_new, settings):
    settings.SIGNAGE_STATS_RETENTION_DAYS = 0
    stats_storage_maintain()
    assert PlayEvent.objects.count() == 7


def test_partitions_are_made_ahead_and_events_land_in_their_month(old_and_new, settings):
    settings.SIGNAGE_STATS_RETENTION_DAYS = 0
    if connection.vendor != "postgresql":
        assert partitions.partitions_ensure(start=timezone.now().date(), months_ahead=3) == []
        return
    today = timezone.now().date()
    stats_storage_maintain(today=today)
    names = set(partitions.existing_partitions())
    month = partitions.month_start(today)
    for _ in range(4):
        assert partitions.partition_name(month) in names
        month = partitions.next_month(month)
    with connection.cursor() as cursor:
        cursor.execute("SELECT tableoid::regclass::text, count(*) FROM stats_playevent GROUP BY 1 ORDER BY 1")
        placed = dict(cursor.fetchall())
    old, new = old_and_new
    assert placed == {
        partitions.partition_name(partitions.month_start(old.date())): 4,
        partitions.partition_name(partitions.month_start(new.date())): 3,
    }


def test_a_rebuilt_rollup_equals_the_ingested_one(old_and_new):
    if connection.vendor != "postgresql":
        rollup_rebuild()  # nothing to rebuild without rollups
        assert HourlyPlays.objects.count() == 0
        return
    key = ("hour", "screen_id", "ad_id", "media_id", "plays", "total_duration")
    before = sorted(HourlyPlays.objects.values_list(*key))
    rollup_rebuild()
    assert sorted(HourlyPlays.objects.values_list(*key)) == before and len(before) == 2
