"""The loop: what a screen plays at an instant (SPEC section 7).

`build_loop` is pure: a screen, an instant and the candidate broadcasts in, the ordered entries out, so
its rules are tested without a database. `candidates_for_screens` is the one query phase (a bounded
number of queries for any number of screens and campaigns): it resolves group and whole-fleet targets at
the screens' current membership and gathers the feed values the conditions read; `screen_state` gathers
the screen's public holidays (the `holidays` library, no query).

Rules, in the screen's timezone:
1. nothing for an inactive screen, nothing outside its opening hours;
2. a broadcast plays if its campaign is active, current today and in the main loop, its display periods
   match now, its conditions hold (apps/ads/conditions.py), its media is still valid, and (sliding
   campaigns) today is this screen's day;
3. while an event campaign plays on the screen, only event campaigns play (highest priority first);
   on a screen in `exclusive` schedule mode, only the highest priority plays (all of that priority);
4. broadcasts with loop indexes for this screen take those positions (an index missing is +infinity);
   the others follow, a playlist campaign's media together in broadcast order; ties go to the higher
   priority, then the older campaign, then the broadcast order.
"""

import zoneinfo
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from django.db.models import Q

from apps.ads import conditions as rules
from apps.ads.models import (
    AdStatus,
    Broadcast,
    BroadcastScreen,
    CampaignType,
    DataFeed,
    MultimediaType,
    running_q,
    runs_between,
    sliding_turn,
)
from apps.media.models import LIVE
from apps.screens.hours import is_open
from apps.screens.models import ScheduleMode, Screen
from signage.scopes import unscoped

INFINITY = float("inf")


@dataclass(frozen=True)
class ScreenState:
    id: object
    active: bool
    timezone: str
    opening_hours: dict = field(default_factory=dict, hash=False)
    schedule_mode: str = ScheduleMode.SHARED
    holidays: frozenset = frozenset()  # the public holidays of the screen's country and region
    place: dict = field(default_factory=dict, hash=False)  # city, postalcode, region, country


@dataclass(frozen=True)
class Candidate:
    broadcast_id: object
    ad_id: object
    ad_name: str
    media_id: int | None
    media_type: str | None
    duration: float
    file_hash: str
    size: int
    status: str
    campaign_type: str
    multimedia_type: str
    main_loop: bool
    start: date
    end: date | None
    priority: int
    ad_created: datetime
    order: int
    display_periods: dict = field(hash=False)
    loop_indexes: dict = field(hash=False)  # screen id (str) -> positions
    valid_until: datetime | None = None
    sliding_order: tuple = ()  # screen ids, one a day, for sliding campaigns
    emergency: bool = False
    conditions: tuple = ()
    feeds: dict = field(default_factory=dict, hash=False)  # feed id -> (data, fetched_at, max_age seconds)
    source: str = ""  # live content: the web page's or the stream's URL, the YouTube video's id


@dataclass(frozen=True)
class Entry:
    position: int
    broadcast_id: object
    ad_id: object
    ad_name: str
    media_id: int
    media_type: str
    duration: float
    file_hash: str
    size: int
    source: str = ""


def local_time(screen: ScreenState, at: datetime) -> datetime:
    return at.astimezone(zoneinfo.ZoneInfo(screen.timezone or "UTC"))


def plays_on(candidate: Candidate, screen: ScreenState, at: datetime) -> bool:
    """Whether the broadcast is in the screen's loop at `at` (rule 2)."""
    now = local_time(screen, at)
    today = now.date()
    if candidate.status != AdStatus.ACTIVE or not candidate.main_loop or candidate.media_id is None:
        return False
    if not runs_between(candidate.start, candidate.end, today):
        return False
    if candidate.valid_until is not None and candidate.valid_until <= at:
        return False
    if candidate.sliding_order:
        turn = sliding_turn(candidate.start, today, len(candidate.sliding_order))
        if str(candidate.sliding_order[turn]) != str(screen.id):
            return False
    if not is_open(candidate.display_periods, now.isoweekday(), now.time()):
        return False
    return rules.holds(
        candidate.conditions, now=now, holidays_of_screen=screen.holidays, place=screen.place, feeds=candidate.feeds
    )


def build_loop(screen: ScreenState, at: datetime, candidates: list[Candidate]) -> list[Entry]:
    """The ordered loop of `screen` at `at` (an aware datetime)."""
    if not screen.active:
        return []
    now = local_time(screen, at)
    if screen.opening_hours and not is_open(screen.opening_hours, now.isoweekday(), now.time()):
        return []
    playing = [candidate for candidate in candidates if plays_on(candidate, screen, at)]
    events = [candidate for candidate in playing if candidate.campaign_type == CampaignType.EVENT]
    if events:
        playing = events
    if screen.schedule_mode == ScheduleMode.EXCLUSIVE and playing:
        top = max(candidate.priority for candidate in playing)
        playing = [candidate for candidate in playing if candidate.priority == top]
    key = str(screen.id)

    def rank(candidate: Candidate):
        return (
            -candidate.priority,
            candidate.ad_created,
            str(candidate.ad_id),
            candidate.order,
            str(candidate.broadcast_id),
        )

    placed: list[tuple] = []  # (loop index, group rank, member rank, candidate)
    for candidate in playing:
        indexes = candidate.loop_indexes.get(key)
        if indexes:
            placed += [(index, rank(candidate), (), candidate) for index in indexes]
            continue
        if candidate.multimedia_type == MultimediaType.PLAYLIST:
            # A playlist's media stay together, in broadcast order, where the campaign ranks.
            group = (-candidate.priority, candidate.ad_created, str(candidate.ad_id))
            placed.append((INFINITY, group, (candidate.order, str(candidate.broadcast_id)), candidate))
        else:
            placed.append((INFINITY, rank(candidate), (), candidate))
    placed.sort(key=lambda item: (item[0], item[1], item[2]))
    return [
        Entry(
            position=position,
            broadcast_id=candidate.broadcast_id,
            ad_id=candidate.ad_id,
            ad_name=candidate.ad_name,
            media_id=candidate.media_id,
            media_type=candidate.media_type,
            duration=candidate.duration,
            file_hash=candidate.file_hash,
            size=candidate.size,
            source=candidate.source,
        )
        for position, (_, _, _, candidate) in enumerate(placed)
    ]


# --- the query phase ----------------------------------------------------------------------------------


def _candidate(broadcast: Broadcast, sliding_order: list, feeds: dict) -> Candidate:
    ad, media = broadcast.ad, broadcast.media
    conditions = tuple(broadcast.conditions or ())
    return Candidate(
        broadcast_id=broadcast.pk,
        ad_id=ad.pk,
        ad_name=ad.name,
        media_id=media.pk if media else None,
        media_type=media.type if media else None,
        duration=float(
            broadcast.duration if broadcast.duration is not None else (media.play_duration or 0) if media else 0
        ),
        file_hash=media.checksum if media else "",
        size=media.size if media else 0,
        status=ad.status,
        campaign_type=ad.campaign_type,
        multimedia_type=ad.multimedia_type,
        main_loop=ad.main_loop,
        start=ad.campaign_startdate,
        end=ad.campaign_enddate,
        priority=ad.priority,
        ad_created=ad.created,
        order=broadcast.order,
        display_periods=broadcast.display_periods or {},
        loop_indexes=broadcast.screens_loop_indexes or {},
        valid_until=media.valid_until if media else None,
        sliding_order=tuple(str(screen_id) for screen_id in sliding_order) if ad.sliding else (),
        emergency=ad.campaign_type == CampaignType.EVENT and ad.emergency,
        conditions=conditions,
        feeds={key: feeds[key] for key in rules.feed_ids(conditions) if key in feeds},
        source=(media.youtube_id or media.source_url) if media and media.type in LIVE else "",
    )


@unscoped("the loop of screens the caller holds (checked, or the device's own), read by their ids")
def candidates_for_screens(screen_ids, day_from: date, day_to: date) -> dict[str, list[Candidate]]:
    """The broadcasts that may play on these screens between two dates, per screen id.

    A bounded number of queries whatever the number of screens and campaigns: the screens' fleets and
    groups, the broadcasts aimed at them (directly, through a group, or at their whole fleet), the direct
    and group links to these screens only (a broadcast on thousands of screens costs the same as one on a
    single screen), and, when needed, the sliding orders and the feeds the conditions read."""
    wanted = [str(screen_id) for screen_id in screen_ids]
    fleets: dict[str, object] = {}
    groups_of: dict[str, set] = {key: set() for key in wanted}
    for screen_id, fleet_id, group_id in Screen.objects.filter(pk__in=wanted).values_list("pk", "fleet_id", "groups"):
        fleets[str(screen_id)] = fleet_id
        if group_id is not None:
            groups_of[str(screen_id)].add(group_id)
    group_ids = set().union(*groups_of.values()) if groups_of else set()
    aimed = Q(broadcast_screens__screen_id__in=wanted) | Q(all_screens=True, ad__fleet_id__in=set(fleets.values()))
    if group_ids:
        aimed |= Q(groups__in=group_ids)
    broadcasts = {
        broadcast.pk: broadcast
        for broadcast in Broadcast.objects.filter(
            aimed,
            running_q(day_from, day_to, prefix="ad__"),
            ad__status=AdStatus.ACTIVE,
            media__isnull=False,
        )
        .distinct()
        .select_related("ad", "media")
    }
    pairs = set(
        BroadcastScreen.objects.filter(broadcast_id__in=list(broadcasts), screen_id__in=wanted).values_list(
            "broadcast_id", "screen_id"
        )
    )
    grouped = [pk for pk, broadcast in broadcasts.items() if not broadcast.all_screens]
    if group_ids and grouped:
        for broadcast_id, group_id in Broadcast.groups.through.objects.filter(
            broadcast_id__in=grouped, screengroup_id__in=group_ids
        ).values_list("broadcast_id", "screengroup_id"):
            pairs.update((broadcast_id, key) for key in wanted if group_id in groups_of[key])
    for pk, broadcast in broadcasts.items():
        if broadcast.all_screens:
            pairs.update((pk, key) for key in wanted if fleets.get(key) == broadcast.ad.fleet_id)
    sliding = [pk for pk, broadcast in broadcasts.items() if broadcast.ad.sliding]
    orders: dict = {}
    if sliding:  # a sliding campaign needs its whole screen order to know whose day it is
        for broadcast_id, screen_id in (
            BroadcastScreen.objects.filter(broadcast_id__in=sliding)
            .order_by("position")
            .values_list("broadcast_id", "screen_id")
        ):
            orders.setdefault(broadcast_id, []).append(screen_id)
    needed = set().union(*(rules.feed_ids(broadcast.conditions) for broadcast in broadcasts.values()))
    feeds = {}
    if needed:
        feeds = {
            pk: (data, fetched_at, max_age)
            for pk, data, fetched_at, max_age in DataFeed.objects.filter(pk__in=needed).values_list(
                "pk", "data", "fetched_at", "max_age"
            )
        }
    per_screen: dict[str, list[Candidate]] = {key: [] for key in wanted}
    made: dict = {}
    for broadcast_id, screen_id in sorted(pairs, key=lambda pair: (str(pair[0]), str(pair[1]))):
        if broadcast_id not in made:
            made[broadcast_id] = _candidate(broadcasts[broadcast_id], orders.get(broadcast_id, []), feeds)
        per_screen[str(screen_id)].append(made[broadcast_id])
    return per_screen


def _place(screen) -> dict:
    place = screen.place if screen.place_id else None
    return {key: getattr(place, key, "") or "" for key in rules.PLACE_KEYS}


def screen_state(screen, at: datetime | None = None) -> ScreenState:
    """The builder's view of a screen (a model instance; select its `place` to spare a query), with the
    public holidays of its country and region from the year before `at` (default now) to the year after."""
    place = _place(screen)
    year = (at or datetime.now(UTC)).year
    return ScreenState(
        screen.pk,
        screen.active,
        screen.timezone,
        screen.opening_hours or {},
        schedule_mode=getattr(screen, "schedule_mode", ScheduleMode.SHARED),
        holidays=rules.public_holidays(place["country"], place["region"], year - 1, year + 1),
        place=place,
    )


def condition_changes(candidate: Candidate, day: date, zone) -> list[datetime]:
    """The instants of `day` (and the feeds' expiries) at which the candidate's conditions may change."""
    return rules.changes(candidate.conditions, day=day, zone=zone, feeds=candidate.feeds)


def loop_for_screen(screen, at: datetime) -> list[Entry]:
    """The loop of a screen (a model instance) at `at`: the query phase, then the pure builder."""
    state = screen_state(screen, at)
    today = local_time(state, at).date()
    candidates = candidates_for_screens([screen.pk], today - timedelta(days=1), today + timedelta(days=1))
    return build_loop(state, at, candidates[str(screen.pk)])
