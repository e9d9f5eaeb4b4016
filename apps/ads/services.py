import logging
import zoneinfo
from datetime import date, datetime, time
from typing import TypedDict, Unpack

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Prefetch, Q
from django.utils import timezone
from django.utils.html import escape

from apps.accounts.models import AdvertiserType, Fleet, Membership
from apps.media.models import Media
from apps.screens.hours import clean_week_hours
from apps.screens.models import Screen, ScreenGroup
from signage.arguments import refuse_unknown
from signage.bounds import parse_id
from signage.errors import DomainError, field_error

from .conditions import clean_conditions, feed_ids
from .models import (
    Ad,
    AdStatus,
    Broadcast,
    BroadcastScreen,
    CampaignType,
    DataFeed,
    MultimediaType,
    QuotaOverflow,
    today_in,
)
from .quota import MAX_SLIDING_PER_SCREEN, Load, Overflow, TooManySliding, first_overflows

logger = logging.getLogger(__name__)

MONTHS = [
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
]


class CampaignFields(TypedDict, total=False):
    """What campaign_create and campaign_update set on a campaign, as keyword arguments (on update, a field
    left out is unchanged); any other keyword is a TypeError."""

    name: str
    campaign_startdate: date  # campaign_create's default: today, in the fleet's timezone
    campaign_enddate: date | None
    status: str  # AdStatus
    campaign_type: str  # CampaignType
    multimedia_type: str  # MultimediaType
    main_loop: bool
    on_demand: bool
    sliding: bool
    priority: int
    emergency: bool
    author_origin: AdvertiserType | None  # share of voice
    adupdater: dict | None  # HTML screenshot campaigns: {"category", "refresh_time", "parameters"}


class BroadcastFields(TypedDict, total=False):
    """One broadcast: an item of campaign_create/campaign_update's `broadcasts`, or broadcast_save's keyword
    arguments (there, a field left out is unchanged); any other key is a TypeError."""

    media: Media | None  # None only for an HTML campaign (its screenshot is the content)
    screens: list[Screen]  # in loop order
    groups: list[ScreenGroup]  # their screens, present and future
    all_screens: bool  # every screen of the fleet, present and future
    order: int
    display_periods: dict  # week hours (apps/screens/hours.py)
    conditions: list[dict]  # apps/ads/conditions.py
    screens_loop_indexes: dict[str, list[int]]  # loop positions by screen id
    duration: float | None  # seconds; None: the media's own


def _refuse_unknown(service: str, fields: dict, broadcasts: list | None) -> None:
    refuse_unknown(service, CampaignFields, fields)
    for item in broadcasts or []:
        refuse_unknown(service, BroadcastFields, item, within="broadcasts")


def fleet_today(fleet: Fleet) -> date:
    return today_in(fleet.timezone)


def is_screenshot_of(media, ad: Ad) -> bool:
    """Whether `media` is the screenshot an adupdater campaign made of its page."""
    return str(((media.metadata or {}).get("capture") or {}).get("ad")) == str(ad.pk)


def _screenshot_after_commit(ad: Ad) -> None:
    if ad.adupdater:
        from .tasks import adupdater_screenshot

        ad_id = str(ad.pk)
        transaction.on_commit(lambda: adupdater_screenshot.delay(ad_id))


# --- rules --------------------------------------------------------------------------------------------


def _check_broadcast(ad: Ad, item: dict, conditions_field: str = "broadcasts") -> None:
    media, screens = item.get("media"), item.get("screens", [])
    if media is None and not ad.adupdater:
        raise field_error("broadcasts", "Every broadcast needs a media (only HTML campaigns have none).", "required")
    if media is not None and ad.adupdater and not is_screenshot_of(media, ad):
        raise field_error(
            "broadcasts", "The broadcast of an HTML campaign has no media: the screenshot is its content."
        )
    if media is not None and media.fleet_id != ad.fleet_id:
        raise field_error("broadcasts", "A media belongs to another fleet.")
    if any(screen.fleet_id != ad.fleet_id for screen in screens):
        raise field_error("broadcasts", "A screen belongs to another fleet.")
    if any(group.fleet_id != ad.fleet_id for group in item.get("groups", [])):
        raise field_error("broadcasts", "A screen group belongs to another fleet.")
    feeds = feed_ids(item.get("conditions", []))
    if feeds and DataFeed.objects.of_fleet(ad.fleet_id).filter(pk__in=feeds).count() != len(feeds):
        raise field_error(conditions_field, "A condition names a data feed that is not one of the fleet's.")
    screen_ids = {str(screen.pk) for screen in screens}
    strays = sorted(set(item.get("screens_loop_indexes", {})) - screen_ids)
    if strays:
        raise field_error(
            "broadcasts", f"screens_loop_indexes names a screen that is not in the broadcast: {strays[0]}."
        )


def _check_campaign(ad: Ad, items: list[dict], author) -> None:
    """The rules of a campaign and its broadcasts (reference 000 "Campaigns", SPEC 4.5 and 6)."""
    if ad.campaign_enddate and ad.campaign_enddate < ad.campaign_startdate:
        raise field_error("campaign_enddate", "The end date is before the start date.")
    for item in items:
        _check_broadcast(ad, item)
    screen_sets = [frozenset(screen.pk for screen in item.get("screens", [])) for item in items]
    target_sets = [
        (screens, frozenset(group.pk for group in item.get("groups", [])), bool(item.get("all_screens")))
        for screens, item in zip(screen_sets, items, strict=True)
    ]
    # Cloned broadcasts are campaigns of their own, so their screens may differ (reference 000's own
    # "Update a campaign" example); a playlist is one sequence per screen, so it needs the same screens.
    if ad.multimedia_type == MultimediaType.PLAYLIST and len(set(target_sets)) > 1:
        raise field_error(
            "broadcasts", f"All broadcasts of a {ad.multimedia_type} campaign must have the same screens."
        )
    # Stretched: no two broadcasts on the same set of screens. (Not disjoint sets: reference 000's update
    # example puts screen4 in both broadcasts.)
    if ad.multimedia_type == MultimediaType.STRETCHED and len(set(screen_sets)) < len(screen_sets):
        raise field_error("broadcasts", "Each broadcast of a stretched campaign must have a different set of screens.")
    if ad.adupdater and len(items) != 1:
        raise field_error("broadcasts", "An HTML campaign has exactly one broadcast, without media.")
    if ad.campaign_type == CampaignType.SOLO and len(items) > 1:
        raise field_error("broadcasts", "A solo campaign has a single media.")
    if ad.sliding and not ad.is_share_of_voice:
        raise field_error("sliding", "Only share-of-voice campaigns can slide.")
    follows_membership = any(item.get("groups") or item.get("all_screens") for item in items)
    if follows_membership and (ad.sliding or ad.multimedia_type == MultimediaType.STRETCHED):
        # A sliding campaign is a rotation over a fixed list of screens; stretched is "different screens per
        # media", which membership that changes under it cannot promise.
        raise field_error(
            "broadcasts", "Screen groups and the whole fleet are targets of cloned and playlist campaigns only."
        )
    if ad.is_share_of_voice and any(item.get("all_screens") for item in items):
        # Every future screen would have to fit the quota the day it is added, and has no allocation yet.
        raise field_error("broadcasts", "A share-of-voice campaign cannot target the whole fleet.")
    if ad.is_share_of_voice:
        _check_share_of_voice(ad, items, author)


def _check_share_of_voice(ad: Ad, items: list[dict], author) -> None:
    fleet = ad.fleet
    if not fleet.share_of_voice:
        raise field_error("author_origin", "You don't have any share of voice")
    if not fleet.advertiser_types.filter(pk=ad.author_origin_id).exists():
        raise field_error("author_origin", f"The fleet does not offer the advertiser type '{ad.author_origin}'.")
    if author is not None and not _has_share(author, fleet, ad.author_origin_id):
        raise field_error("author_origin", f"You don't have access to the share of voice of '{ad.author_origin}'.")
    if len(items) > 1:
        raise field_error("broadcasts", "Share of voice campaigns can not have multiple contents.")
    if ad.sliding:
        screens = items[0].get("screens", []) if items else []
        if len(screens) < 2:
            raise DomainError(
                {
                    "screens": {
                        "message": "<p>A sliding campaign must have <b>at least 2 screens</b>.</p>",
                        "code": "screens_not_enough",
                        "details": {"screens": "sliding campaigns must have at least 2 screens"},
                    }
                }
            )
        if ad.campaign_enddate is None or (ad.campaign_enddate - ad.campaign_startdate).days < 1:
            raise field_error("campaign_enddate", "A sliding campaign must last at least 2 days.")


def _has_share(user, fleet: Fleet, advertiser_type_id) -> bool:
    from apps.accounts import scoping

    if scoping.sees_every_fleet(user):
        return True
    return Membership.objects.of_fleet(fleet.pk).filter(user=user, advertiser_type_id=advertiser_type_id).exists()


# --- writes -------------------------------------------------------------------------------------------


def _clean_item(item: dict) -> dict:
    item = dict(item)
    item["display_periods"] = clean_week_hours(item.get("display_periods") or {})
    try:
        item["conditions"] = clean_conditions(item.get("conditions") or [])
    except ValidationError as error:
        raise field_error("broadcasts", error.messages[0]) from None
    return item


def _target_key(media_id, screens, groups, all_screens) -> tuple:
    return (media_id, frozenset(screens), frozenset(groups), bool(all_screens))


def _write_broadcasts(ad: Ad, items: list[dict], replace: bool) -> None:
    """Write the campaign's broadcasts. With `replace`, the list replaces the old one; a broadcast whose
    media and screens are unchanged keeps its id (so players do not download it again)."""
    existing = list(ad.broadcasts.prefetch_related("broadcast_screens", "groups")) if replace else []
    by_key: dict = {}
    for broadcast in existing:
        key = _target_key(
            broadcast.media_id,
            (link.screen_id for link in broadcast.broadcast_screens.all()),
            (group.pk for group in broadcast.groups.all()),
            broadcast.all_screens,
        )
        by_key.setdefault(key, []).append(broadcast)
    kept, links, group_links = set(), [], []
    for position, item in enumerate(items):
        screens, groups = item.get("screens", []), item.get("groups", [])
        key = _target_key(
            item["media"].pk if item.get("media") else None,
            (screen.pk for screen in screens),
            (group.pk for group in groups),
            item.get("all_screens", False),
        )
        fields = {
            "order": item.get("order", position),
            "display_periods": item["display_periods"],
            "screens_loop_indexes": item.get("screens_loop_indexes", {}),
            "conditions": item.get("conditions", []),
            "all_screens": item.get("all_screens", False),
            "duration": item.get("duration"),
        }
        matches = by_key.get(key)
        if matches:
            broadcast = matches.pop(0)
            for name, value in fields.items():
                setattr(broadcast, name, value)
            broadcast.save(update_fields=list(fields))
            kept.add(broadcast.pk)
            BroadcastScreen.objects.filter(broadcast=broadcast).delete()  # re-written below, in the new order
        else:
            broadcast = Broadcast.objects.create(ad=ad, media=item.get("media"), **fields)
            group_links += [Broadcast.groups.through(broadcast=broadcast, screengroup=group) for group in groups]
        links += [BroadcastScreen(broadcast=broadcast, screen=screen, position=i) for i, screen in enumerate(screens)]
    if replace:
        ad.broadcasts.exclude(pk__in=kept).filter(pk__in=[b.pk for b in existing]).delete()
    BroadcastScreen.objects.bulk_create(links)
    Broadcast.groups.through.objects.bulk_create(group_links)


def _items_of(ad: Ad) -> list[dict]:
    """The campaign's current broadcasts, in the form the rules read."""
    broadcasts = ad.broadcasts.select_related("media").prefetch_related("broadcast_screens__screen", "groups")
    return [
        {
            "media": broadcast.media,
            "screens": [link.screen for link in broadcast.broadcast_screens.all()],
            "groups": list(broadcast.groups.all()),
            "all_screens": broadcast.all_screens,
            "conditions": broadcast.conditions,
            "screens_loop_indexes": broadcast.screens_loop_indexes,
        }
        for broadcast in broadcasts
    ]


@transaction.atomic
def campaign_create(
    *, fleet: Fleet, author, broadcasts: list[BroadcastFields] | None = None, **fields: Unpack[CampaignFields]
) -> Ad:
    """Create a campaign with its broadcasts; share-of-voice campaigns must fit their quotas."""
    _refuse_unknown("campaign_create", fields, broadcasts)
    values = {"campaign_startdate": fleet_today(fleet), **fields}  # reference 000's HTML example has none
    ad = Ad(fleet=fleet, author=author, **values)
    items = [_clean_item(item) for item in broadcasts or []]
    _check_campaign(ad, items, author)
    ad.save()
    _write_broadcasts(ad, items, replace=False)
    check_quota(ad)
    _screenshot_after_commit(ad)
    return ad


@transaction.atomic
def campaign_update(*, ad: Ad, broadcasts: list[BroadcastFields] | None = None, **fields: Unpack[CampaignFields]) -> Ad:
    """Change a campaign (only the fields given); a given list of broadcasts replaces the old one."""
    _refuse_unknown("campaign_update", fields, broadcasts)
    ad = Ad.objects.of_fleet(ad.fleet_id).select_for_update().select_related("fleet").get(pk=ad.pk)
    for name, value in fields.items():
        setattr(ad, name, value)
    items = [_clean_item(item) for item in broadcasts] if broadcasts is not None else _items_of(ad)
    if ad.adupdater and broadcasts is not None:
        # The screenshot is the broadcast's content: a payload without media keeps it (and its id).
        shot = next(
            (b.media for b in ad.broadcasts.select_related("media") if b.media and is_screenshot_of(b.media, ad)), None
        )
        for item in items:
            item["media"] = item.get("media") or shot
    _check_campaign(ad, items, ad.author if "author_origin" in fields else None)
    ad.save()
    if broadcasts is not None:
        _write_broadcasts(ad, items, replace=True)
    check_quota(ad)
    _screenshot_after_commit(ad)
    return ad


@transaction.atomic
def broadcast_save(*, ad: Ad, broadcast: Broadcast | None = None, **values: Unpack[BroadcastFields]) -> Broadcast:
    """Create or change one broadcast of `ad` (on change, only the fields given); the whole campaign is checked
    again afterwards."""
    refuse_unknown("broadcast_save", BroadcastFields, values)
    ad = Ad.objects.of_fleet(ad.fleet_id).select_for_update().select_related("fleet").get(pk=ad.pk)
    if broadcast is None:
        broadcast = Broadcast(ad=ad, order=ad.broadcasts.count())
    fields = {name: value for name, value in values.items() if name not in ("screens", "groups")}
    if "display_periods" in fields:
        fields["display_periods"] = clean_week_hours(fields["display_periods"] or {})
    if "conditions" in fields:
        try:
            fields["conditions"] = clean_conditions(fields["conditions"] or [])
        except ValidationError as error:
            raise field_error("conditions", error.messages[0]) from None
    for name, value in fields.items():
        setattr(broadcast, name, value)
    if "screens" in values:
        screens = values["screens"]
    else:
        screens = [link.screen for link in broadcast.broadcast_screens.select_related("screen")] if broadcast.pk else []
    groups = values["groups"] if "groups" in values else list(broadcast.groups.all()) if broadcast.pk else []
    _check_broadcast(
        ad,
        {
            "media": broadcast.media,
            "screens": screens,
            "groups": groups,
            "conditions": broadcast.conditions,
            "screens_loop_indexes": broadcast.screens_loop_indexes,
        },
        conditions_field="conditions",
    )
    broadcast.save()
    if "screens" in values:
        BroadcastScreen.objects.filter(broadcast=broadcast).delete()
        BroadcastScreen.objects.bulk_create(
            BroadcastScreen(broadcast=broadcast, screen=screen, position=i) for i, screen in enumerate(screens)
        )
    if "groups" in values:
        broadcast.groups.set(groups)
    _check_campaign(ad, _items_of(ad), None)
    check_quota(ad)
    return broadcast


@transaction.atomic
def broadcast_delete(*, broadcast: Broadcast) -> None:
    ad = broadcast.ad
    broadcast.delete()
    _check_campaign(ad, _items_of(ad), None)


@transaction.atomic
def campaign_give(*, ad: Ad, author_key) -> Ad:
    """Hand a share-of-voice campaign to another user who has access to that share of voice. Final."""
    if not ad.is_share_of_voice:
        raise field_error("author", "Only share-of-voice campaigns can be given.")
    users = get_user_model().objects
    pk = parse_id(str(author_key))
    lookup = {"pk": pk} if pk else {"username": author_key}
    new_author = users.filter(**lookup, is_active=True).first()
    if new_author is None or not _has_share(new_author, ad.fleet, ad.author_origin_id):
        raise field_error("author", "This user has no access to the campaign's share of voice.")
    Ad.objects.filter(pk=ad.pk).update(author=new_author, modified=timezone.now())
    ad.author = new_author
    return ad


# --- quotas ---------------------------------------------------------------------------------------------


def _seconds(broadcast: Broadcast) -> float:
    if broadcast.duration is not None:
        return float(broadcast.duration)
    if broadcast.media is not None:
        return float(broadcast.media.play_duration or 0)
    parameters = (broadcast.ad.adupdater or {}).get("parameters", {})
    return float(parameters.get("duration") or 0)


def _loads(ad: Ad, screen_ids, span_start, span_end) -> list[Load]:
    """The share-of-voice campaigns of ad's advertiser type that share its screens and span, their group
    targets counted at their current membership. Four queries."""
    broadcasts = (
        Broadcast.objects.of_fleet(ad.fleet_id)
        .filter(
            Q(broadcast_screens__screen_id__in=screen_ids) | Q(groups__screens__in=screen_ids),
            ad__author_origin_id=ad.author_origin_id,
            ad__status=AdStatus.ACTIVE,
        )
        .exclude(ad__campaign_enddate__lt=span_start)
        .distinct()
        .select_related("ad", "media")
        .prefetch_related("broadcast_screens", Prefetch("groups__screens", queryset=Screen.objects.only("pk")))
    )
    if span_end is not None:
        broadcasts = broadcasts.filter(ad__campaign_startdate__lte=span_end)
    per_ad: dict = {}
    for broadcast in broadcasts:
        campaign = broadcast.ad
        load = per_ad.setdefault(campaign.pk, {"ad": campaign, "durations": {}, "order": ()})
        screens = [link.screen_id for link in broadcast.broadcast_screens.all()]
        members = {screen.pk for group in broadcast.groups.all() for screen in group.screens.all()}
        for screen_id in dict.fromkeys([*screens, *members]):
            load["durations"][screen_id] = load["durations"].get(screen_id, 0.0) + _seconds(broadcast)
        if campaign.sliding:
            load["order"] = tuple(screens)
    return [
        Load(str(key), value["ad"].campaign_startdate, value["ad"].campaign_enddate, value["durations"], value["order"])
        for key, value in per_ad.items()
    ]


def quota_overflows(ad: Ad, *, lock: bool) -> tuple[list[Screen], dict, list[Load]]:
    """The overflows a share-of-voice campaign causes from today on, in a bounded number of queries
    whatever its length. With `lock`, its screens are locked first (in id order, so concurrent checks
    cannot deadlock), and a concurrent campaign on them waits for this transaction to end."""
    if not ad.is_share_of_voice or ad.status != AdStatus.ACTIVE:
        return [], {}, []
    today = fleet_today(ad.fleet)
    span_start = max(ad.campaign_startdate, today)
    if ad.campaign_enddate is not None and ad.campaign_enddate < span_start:
        return [], {}, []
    screens = Screen.objects.of_fleet(ad.fleet_id).filter(
        Q(pk__in=BroadcastScreen.objects.filter(broadcast__ad=ad).values("screen_id"))
        | Q(pk__in=Screen.groups.through.objects.filter(screengroup__broadcasts__ad=ad).values("screen_id"))
    )
    if lock:
        screens = screens.select_for_update()
    screens = list(screens.order_by("pk").only("pk", "name", "slug", "allocated_times"))
    screen_ids = [screen.pk for screen in screens]
    loads = _loads(ad, screen_ids, span_start, ad.campaign_enddate)
    quotas = {screen.pk: float(screen.allocated_times.get(str(ad.author_origin_id), 0)) for screen in screens}
    overflows = first_overflows(
        screen_ids=screen_ids, loads=loads, quotas=quotas, span_start=span_start, span_end=ad.campaign_enddate
    )
    return screens, overflows, loads


def check_quota(ad: Ad) -> None:
    """Raise the reference's quota_exceeded (or duration_error) payload if the campaign does not fit."""
    try:
        screens, overflows, loads = quota_overflows(ad, lock=True)
    except TooManySliding as exc:
        raise field_error(
            "sliding",
            f"At most {MAX_SLIDING_PER_SCREEN} sliding campaigns of one advertiser type can run on a screen at "
            f"once; this one would make {exc.count} on screen {exc.screen_id}.",
            "too_many_sliding",
        ) from exc
    if not overflows:
        return
    own = next((load for load in loads if load.ad_id == str(ad.pk)), None)
    alone_too_long = own is not None and any(
        own.seconds_on(screen_id, overflow.day) > overflow.quota for screen_id, overflow in overflows.items()
    )
    raise DomainError(
        quota_error_payload(ad, screens, overflows, "duration_error" if alone_too_long else "quota_exceeded")
    )


def quota_error_payload(ad: Ad, screens: list[Screen], overflows: dict[object, Overflow], code: str) -> dict:
    zone = zoneinfo.ZoneInfo(ad.fleet.timezone)
    now = timezone.now().astimezone(zone)
    names = {screen.pk: screen.slug for screen in screens}
    quota, items = {}, []
    for screen_id, overflow in overflows.items():
        moment = now if overflow.day <= now.date() else datetime.combine(overflow.day, time(0), tzinfo=zone)
        formatted = f"{moment.day} {MONTHS[moment.month - 1]} {moment.year} {moment:%H:%M:%S}"
        quota[str(screen_id)] = {
            "duration": overflow.duration,
            "date": moment.astimezone(zoneinfo.ZoneInfo("UTC")).isoformat(),
            "date_fmt": formatted,
            "quota": overflow.quota,
            "screen_name": names[screen_id],
        }
        items.append(
            f"<li><b>{escape(names[screen_id])}</b>: {overflow.duration:g} s needed for {overflow.quota:g} s "
            f"allocated, from {formatted}</li>"
        )
    lead = (
        "The content is longer than the screen time allocated to this share of voice"
        if code == "duration_error"
        else "The campaign would exceed the screen time quota"
    )
    message = f"<p>{lead} on {len(items)} screen{'s' if len(items) > 1 else ''}:</p><ul>{''.join(items)}</ul>"
    return {"__all__": {"message": [message], "code": code, "details": {"quota": quota}}}


def campaign_audit(ad: Ad) -> dict:
    """Record what a campaign overflows now (replacing what was recorded before); returns the overflows."""
    try:
        overflows = quota_overflows(ad, lock=False)[1]
    except TooManySliding:  # refused on creation since the limit exists; older data is left as it is
        logger.warning("Share-of-voice audit skipped campaign %s: too many sliding campaigns", ad.pk)
        return {}
    with transaction.atomic():
        QuotaOverflow.objects.filter(ad=ad).delete()
        QuotaOverflow.objects.bulk_create(
            QuotaOverflow(ad=ad, screen_id=screen_id, date=item.day, duration=item.duration, quota=item.quota)
            for screen_id, item in overflows.items()
        )
    return overflows


def share_of_voice_audit() -> int:
    """Re-check every live share-of-voice campaign (allocations shrink, refreshed videos get longer) and
    record what overflows now. Returns how many overflows were found."""
    live = Ad.objects.filter(status=AdStatus.ACTIVE, author_origin__isnull=False).select_related("fleet")
    return sum(len(campaign_audit(ad)) for ad in live)


def quota_check_membership(*, group_ids) -> None:
    """Refuse a change of group membership that would overflow a share-of-voice quota: the campaigns
    aimed at these groups are checked again at the new membership (inside the membership's transaction,
    which the raised error rolls back)."""
    campaigns = (
        Ad.objects.unscoped("the campaigns aimed at groups whose membership changes")
        .filter(broadcasts__groups__in=list(group_ids), author_origin__isnull=False, status=AdStatus.ACTIVE)
        .distinct()
        .select_related("fleet")
    )
    for ad in campaigns:
        check_quota(ad)
