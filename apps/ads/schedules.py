"""Playlists and schedules (references 001 "Playlists"/"Plannings" and 002 "Playlists"/"Schedules").

They are one more way to write loop candidates, not a second scheduler: a schedule is compiled into a
campaign of its own (`Schedule.ad`, a playlist campaign whose broadcasts are the playlist's items, aimed
at the schedule's target, with its priority, dates and conditions; days of the week and hours become a
`day_of_week` and a `time_range` condition). The loop builder, its query phase, the device playlist, the
statistics and the exclusive schedule mode therefore treat a schedule exactly like a campaign. Editing a
playlist compiles again every schedule that uses it, in the same transaction; the broadcasts of unchanged
items keep their ids, so players do not download them again.
"""

from datetime import date, time
from typing import Required, TypedDict

from django.db import transaction

from apps.accounts.models import Fleet
from apps.media.models import Media
from apps.screens.models import Screen, ScreenGroup
from signage.arguments import UNCHANGED, Unchanged, given, refuse_unknown
from signage.bounds import FIRST_DAY
from signage.errors import field_error

from .conditions import clean_conditions
from .models import Ad, AdStatus, MultimediaType, Playlist, PlaylistItem, Schedule, TargetType
from .services import _check_campaign, _clean_item, _write_broadcasts


def _target(schedule: Schedule, screens: list, group) -> dict:
    kind = schedule.target_type
    if kind == TargetType.SCREEN and len(screens) != 1:
        raise field_error("screen", "A schedule aimed at a screen names that screen.", "required")
    if kind == TargetType.SCREEN_GROUP and group is None:
        raise field_error("screen_group", "A schedule aimed at a screen group names that group.", "required")
    if kind == TargetType.MULTIPLE_SCREENS and not screens:
        raise field_error("screens", "A schedule aimed at several screens names them.", "required")
    if kind in (TargetType.SCREEN, TargetType.MULTIPLE_SCREENS):
        if any(screen.fleet_id != schedule.fleet_id for screen in screens):
            raise field_error("screens", "A screen belongs to another fleet.")
        return {"screens": list(screens), "groups": [], "all_screens": False}
    if kind == TargetType.SCREEN_GROUP:
        if group.fleet_id != schedule.fleet_id:
            raise field_error("screen_group", "This screen group belongs to another fleet.")
        return {"screens": [], "groups": [group], "all_screens": False}
    return {"screens": [], "groups": [], "all_screens": True}


def _conditions(schedule: Schedule) -> list[dict]:
    compiled = []
    if schedule.days_of_week:
        compiled.append({"type": "day_of_week", "operator": "in", "value": sorted(schedule.days_of_week)})
    if schedule.start_time or schedule.end_time:
        start = schedule.start_time.strftime("%H:%M") if schedule.start_time else "00:00"
        end = schedule.end_time.strftime("%H:%M") if schedule.end_time else "24:00"
        if start == end:
            raise field_error("end_time", "The end time is the start time.")
        compiled.append({"type": "time_range", "operator": "between", "value": f"{start}-{end}"})
    return compiled + list(schedule.conditions or [])


def _compile(schedule: Schedule, screens: list, group) -> None:
    """Write the schedule's campaign: one broadcast per playlist item, aimed at the schedule's target."""
    target = _target(schedule, screens, group)
    ad = schedule.ad or Ad(fleet_id=schedule.fleet_id)
    ad.fleet = schedule.fleet
    ad.name = schedule.name or f"Schedule {schedule.pk}"
    # No start date: the schedule has always been on (reference 001's `startDate: null`).
    ad.campaign_startdate = schedule.start_date or FIRST_DAY
    ad.campaign_enddate = schedule.end_date
    ad.status = AdStatus.ACTIVE if schedule.active else AdStatus.SUSPENDED
    ad.priority = schedule.priority
    ad.multimedia_type = MultimediaType.PLAYLIST
    conditions = _conditions(schedule)
    items = [
        _clean_item(
            {
                "media": item.media,
                "order": item.position,
                "duration": item.duration,
                "conditions": conditions,
                **target,
            }
        )
        for item in schedule.playlist.items.select_related("media")
    ]
    _check_campaign(ad, items, None)
    replace = ad.pk is not None
    ad.save()
    _write_broadcasts(ad, items, replace=replace)
    if schedule.ad_id != ad.pk:
        schedule.ad = ad
        Schedule.objects.filter(pk=schedule.pk).update(ad=ad)


@transaction.atomic
def schedule_save(
    *,
    fleet: Fleet,
    schedule: Schedule | None = None,
    screens: list[Screen] | None = None,
    name: str | Unchanged = UNCHANGED,
    playlist: Playlist | Unchanged = UNCHANGED,
    target_type: str | Unchanged = UNCHANGED,
    screen_group: ScreenGroup | Unchanged | None = UNCHANGED,
    days_of_week: list[int] | Unchanged = UNCHANGED,
    start_time: time | Unchanged | None = UNCHANGED,
    end_time: time | Unchanged | None = UNCHANGED,
    start_date: date | Unchanged | None = UNCHANGED,
    end_date: date | Unchanged | None = UNCHANGED,
    priority: int | Unchanged = UNCHANGED,
    active: bool | Unchanged = UNCHANGED,
    color: str | Unchanged = UNCHANGED,
    conditions: list[dict] | Unchanged = UNCHANGED,
) -> Schedule:
    """Create or change a schedule (only the fields given; left out on creation: the model's default; a new
    schedule needs its playlist and target_type) and compile it into its campaign. `screens` replaces the
    target's screens when given."""
    values = given(
        name=name,
        playlist=playlist,
        target_type=target_type,
        screen_group=screen_group,
        days_of_week=days_of_week,
        start_time=start_time,
        end_time=end_time,
        start_date=start_date,
        end_date=end_date,
        priority=priority,
        active=active,
        color=color,
        conditions=conditions,
    )
    schedule = schedule or Schedule(fleet=fleet)
    for field, value in values.items():
        setattr(schedule, field, value)
    if schedule.start_date and schedule.end_date and schedule.end_date < schedule.start_date:
        raise field_error("end_date", "The end date is before the start date.")
    if schedule.playlist.fleet_id != fleet.pk:
        raise field_error("playlist", "This playlist belongs to another fleet.")
    try:
        schedule.conditions = clean_conditions(schedule.conditions)
    except Exception as error:  # a ValidationError with the condition's message
        raise field_error("conditions", error.messages[0]) from None
    schedule.save()
    if screens is not None:
        schedule.screens.set(screens)
    current = screens if screens is not None else list(schedule.screens.all())
    if schedule.target_type in (TargetType.SCREEN_GROUP, TargetType.ALL_SCREENS) and current:
        schedule.screens.clear()
        current = []
    _compile(schedule, current, schedule.screen_group)
    return schedule


@transaction.atomic
def schedule_delete(*, schedule: Schedule) -> None:
    ad = schedule.ad
    schedule.delete()
    if ad is not None:
        ad.delete()


class PlaylistEntry(TypedDict, total=False):
    """One item of playlist_save's `items`; any other key is a TypeError."""

    media: Required[Media]
    duration: float | None  # seconds; None or left out: the media's own


@transaction.atomic
def playlist_save(
    *,
    fleet: Fleet,
    playlist: Playlist | None = None,
    items: list[PlaylistEntry] | None = None,
    name: str | Unchanged = UNCHANGED,
    description: str | Unchanged = UNCHANGED,
    transition: str | Unchanged = UNCHANGED,
) -> Playlist:
    """Create or change a playlist (only the fields given; left out on creation: the model's default);
    `items` replaces its items. Every schedule that uses it is compiled again, so players get the change
    from their next playlist fetch."""
    for item in items or []:
        refuse_unknown("playlist_save", PlaylistEntry, item, within="items")
    playlist = playlist or Playlist(fleet=fleet)
    for field, value in given(name=name, description=description, transition=transition).items():
        setattr(playlist, field, value)
    playlist.save()
    if items is not None:
        if any(item["media"].fleet_id != fleet.pk for item in items):
            raise field_error("items", "A media belongs to another fleet.")
        playlist.items.all().delete()
        PlaylistItem.objects.bulk_create(
            PlaylistItem(playlist=playlist, position=position, media=item["media"], duration=item.get("duration"))
            for position, item in enumerate(items)
        )
        for schedule in playlist.schedules.select_related("fleet", "ad", "screen_group", "playlist"):
            _compile(schedule, list(schedule.screens.all()), schedule.screen_group)
    return playlist


@transaction.atomic
def playlist_delete(*, playlist: Playlist) -> None:
    if playlist.schedules.exists():
        raise field_error("playlist", "Schedules use this playlist: delete them or give them another first.")
    playlist.delete()
