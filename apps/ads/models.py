"""Campaigns ("ads") and their broadcasts: which media play on which screens.

Broadcasts live here with the campaigns they belong to (not in a later app, as SPEC section 2 first
drew it): a campaign and its broadcasts are written together, replaced together and checked together
against share-of-voice quotas in one transaction.
"""

import uuid
import zoneinfo
from datetime import date

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from apps.accounts.models import AdvertiserType, Fleet
from apps.media.models import Media
from apps.screens.models import Screen, ScreenGroup
from signage.bounds import DAY_VALIDATORS
from signage.scopes import FleetOwned


class AdStatus(models.TextChoices):
    ACTIVE = "active", "Active"
    SUSPENDED = "suspended", "Suspended"


class CampaignType(models.TextChoices):
    STANDARD = "standard", "Standard"
    SOLO = "solo", "Solo"
    EVENT = "event", "Event"


class MultimediaType(models.TextChoices):
    PLAYLIST = "playlist", "Playlist"
    CLONED = "cloned", "Cloned"
    STRETCHED = "stretched", "Stretched"


# --- the campaign's calendar: the one home of "current" and of the sliding turn -------------------------


def runs_between(start: date, end: date | None, day_from: date, day_to: date | None = None) -> bool:
    """Whether a campaign from `start` to `end` (None: open-ended) runs on some day from `day_from` to
    `day_to` (both included; `day_from` alone when None). Current on a day: `runs_between(start, end, day)`."""
    return start <= (day_from if day_to is None else day_to) and (end is None or end >= day_from)


def running_q(day_from: date, day_to: date | None = None, *, prefix: str = "") -> Q:
    """`runs_between` in SQL, on the campaign's date columns (`prefix="ad__"` from a broadcast)."""
    return Q(**{f"{prefix}campaign_startdate__lte": day_from if day_to is None else day_to}) & (
        Q(**{f"{prefix}campaign_enddate__isnull": True}) | Q(**{f"{prefix}campaign_enddate__gte": day_from})
    )


def today_in(zone: str) -> date:
    """Today's date in the IANA timezone `zone`: a fleet's today is `today_in(fleet.timezone)`."""
    return timezone.now().astimezone(zoneinfo.ZoneInfo(zone)).date()


def current_q(fleets) -> Q:
    """Campaigns current today, "today" being each fleet's own date in its timezone; `fleets` are
    (fleet id, timezone) pairs."""
    by_zone: dict[str, list[int]] = {}
    for fleet_id, zone in fleets:
        by_zone.setdefault(zone, []).append(fleet_id)
    condition = Q(pk__in=[])
    for zone, fleet_ids in by_zone.items():
        condition |= Q(fleet_id__in=fleet_ids) & running_q(today_in(zone))
    return condition


def sliding_turn(start: date, day: date, screens: int) -> int:
    """The position, in broadcast order, of the one screen a sliding campaign plays on `day`: one screen a
    day, in turn, from its first day."""
    return (day - start).days % screens


def sliding_turn_days(start: date, turn: int, screens: int) -> int:
    """The days whose `sliding_turn` is `turn`, as the residue of their ordinal modulo `screens` (the
    inverse of `sliding_turn`, for the quota engine's search over residue classes)."""
    return (start.toordinal() + turn) % screens


class Ad(FleetOwned):
    fleet_lookup = "fleet"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    fleet = models.ForeignKey(Fleet, on_delete=models.CASCADE, related_name="ads")
    name = models.CharField(max_length=255)
    campaign_startdate = models.DateField(validators=DAY_VALIDATORS)
    campaign_enddate = models.DateField(null=True, blank=True, validators=DAY_VALIDATORS, help_text="Empty: open-ended")
    status = models.CharField(max_length=10, choices=AdStatus.choices, default=AdStatus.ACTIVE)
    campaign_type = models.CharField(
        max_length=10,
        choices=CampaignType.choices,
        default=CampaignType.STANDARD,
        help_text="Solo: a single media. Event: takes over the loop of its screens while it runs.",
    )
    multimedia_type = models.CharField(
        max_length=10,
        choices=MultimediaType.choices,
        default=MultimediaType.CLONED,
        help_text=(
            "Playlist: every media in order, on every screen. Cloned: each media like a campaign of its own. "
            "Stretched: each media on its own screens."
        ),
    )
    main_loop = models.BooleanField(default=True)
    on_demand = models.BooleanField(default=False)
    sliding = models.BooleanField(default=False, help_text="Share of voice: one screen a day, in broadcast order")
    priority = models.IntegerField(default=0)
    emergency = models.BooleanField(
        default=False, help_text="An event campaign flagged as an emergency: players get it as an alert"
    )
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="ads"
    )
    author_origin = models.ForeignKey(
        AdvertiserType,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="ads",
        help_text="Set: a share-of-voice campaign, counted on this advertiser type's quota",
    )
    adupdater = models.JSONField(null=True, blank=True, help_text="HTML screenshot campaigns")
    adupdater_error = models.TextField(blank=True, help_text="Why the last screenshot of the page failed")
    adupdater_checked_at = models.DateTimeField(null=True, blank=True)
    created = models.DateTimeField(auto_now_add=True)
    modified = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "campaign"  # "Ad" in the API's paths (reference 000); a campaign to the people
        ordering = ["-campaign_startdate", "name", "id"]
        indexes = [models.Index(fields=["fleet", "campaign_startdate", "campaign_enddate"])]

    def __str__(self) -> str:
        return self.name

    @property
    def is_share_of_voice(self) -> bool:
        return self.author_origin_id is not None

    def is_current(self, day: date) -> bool:
        """Started by `day` and not ended before it (whatever its status)."""
        return runs_between(self.campaign_startdate, self.campaign_enddate, day)


class Broadcast(FleetOwned):
    """One media of a campaign on a list of screens (in order: a sliding campaign follows it)."""

    fleet_lookup = "ad__fleet"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    ad = models.ForeignKey(Ad, on_delete=models.CASCADE, related_name="broadcasts")
    media = models.ForeignKey(Media, null=True, blank=True, on_delete=models.PROTECT, related_name="broadcasts")
    screens = models.ManyToManyField(Screen, through="BroadcastScreen", related_name="broadcasts")
    # Targets that follow membership: a screen added to a group (or to the fleet) plays the broadcast
    # from its next playlist fetch, with no campaign edit.
    groups = models.ManyToManyField(ScreenGroup, blank=True, related_name="broadcasts")
    all_screens = models.BooleanField(default=False, help_text="Every screen of the fleet, present and future")
    conditions = models.JSONField(default=list, blank=True, help_text="See apps/ads/conditions.py")
    duration = models.FloatField(null=True, blank=True, help_text="Seconds; empty: the media's own (playlist items)")
    order = models.PositiveIntegerField(default=0)
    display_periods = models.JSONField(default=dict, blank=True)
    screens_loop_indexes = models.JSONField(
        default=dict, blank=True, help_text='Loop positions per screen id: {"<screen id>": [1, 5, 10]}'
    )
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["order", "created", "id"]

    def __str__(self) -> str:
        return f"{self.ad} #{self.order}"

    def clean(self):
        from django.core.exceptions import ValidationError

        from .conditions import clean_conditions

        try:
            self.conditions = clean_conditions(self.conditions)
        except ValidationError as error:
            raise ValidationError({"conditions": error}) from None


class BroadcastScreen(models.Model):
    broadcast = models.ForeignKey(Broadcast, on_delete=models.CASCADE, related_name="broadcast_screens")
    screen = models.ForeignKey(Screen, on_delete=models.CASCADE, related_name="broadcast_screens")
    position = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["position", "id"]
        constraints = [models.UniqueConstraint(fields=["broadcast", "screen"], name="unique_broadcast_screen")]

    def __str__(self) -> str:
        return f"{self.broadcast_id} on {self.screen_id} #{self.position}"


class QuotaOverflow(FleetOwned):
    """An overflow found by the periodic share-of-voice audit (allocations shrink, videos get longer)."""

    fleet_lookup = "ad__fleet"

    ad = models.ForeignKey(Ad, on_delete=models.CASCADE, related_name="quota_overflows")
    screen = models.ForeignKey(Screen, on_delete=models.CASCADE, related_name="quota_overflows")
    date = models.DateField(help_text="First day of the overflow")
    duration = models.FloatField(help_text="Seconds the loop would need for this advertiser type")
    quota = models.FloatField(help_text="Seconds allocated")
    detected_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "quota overflow"
        ordering = ["-detected_at", "date"]

    def __str__(self) -> str:
        return f"{self.ad} on {self.screen_id} from {self.date}: {self.duration:g}s > {self.quota:g}s"


class DataFeed(FleetOwned):
    """A JSON document of the fleet's, fetched from a URL on a schedule, that conditions compare against
    (e.g. the temperature per city). Its value is stale, and conditions on it do not hold, once it is
    older than `max_age` seconds (its last successful fetch)."""

    fleet_lookup = "fleet"

    fleet = models.ForeignKey(Fleet, on_delete=models.CASCADE, related_name="data_feeds")
    name = models.CharField(max_length=200)
    source_url = models.URLField(max_length=2000, help_text="A JSON document, fetched through the SSRF guard")
    refresh_time = models.PositiveIntegerField(default=600, help_text="Seconds between two fetches")
    max_age = models.PositiveIntegerField(default=3600, help_text="Seconds after a fetch until the value is stale")
    data = models.JSONField(null=True, blank=True, editable=False)
    fetched_at = models.DateTimeField(null=True, blank=True, editable=False, help_text="Last successful fetch")
    next_fetch_at = models.DateTimeField(null=True, blank=True, editable=False, db_index=True)
    last_error = models.CharField(max_length=500, blank=True, editable=False)
    created = models.DateTimeField(auto_now_add=True)
    modified = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name", "id"]

    def __str__(self) -> str:
        return self.name


class Transition(models.TextChoices):
    NONE = "none", "None"
    FADE = "fade", "Fade"
    SLIDE = "slide", "Slide"


class Playlist(FleetOwned):
    """A reusable, ordered list of media (references 001 and 002); schedules aim it at screens."""

    fleet_lookup = "fleet"

    fleet = models.ForeignKey(Fleet, on_delete=models.CASCADE, related_name="playlists")
    name = models.CharField(max_length=100)
    description = models.CharField(max_length=500, blank=True)
    transition = models.CharField(max_length=10, choices=Transition.choices, default=Transition.NONE)
    created = models.DateTimeField(auto_now_add=True)
    modified = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name", "id"]

    def __str__(self) -> str:
        return self.name


class PlaylistItem(FleetOwned):
    fleet_lookup = "playlist__fleet"

    playlist = models.ForeignKey(Playlist, on_delete=models.CASCADE, related_name="items")
    position = models.PositiveIntegerField()
    media = models.ForeignKey(Media, on_delete=models.PROTECT, related_name="playlist_items")
    duration = models.FloatField(null=True, blank=True, help_text="Seconds; empty: the media's own")

    class Meta:
        ordering = ["position", "id"]

    def __str__(self) -> str:
        return f"{self.playlist} #{self.position}"


class TargetType(models.TextChoices):
    SCREEN = "screen", "One screen"
    SCREEN_GROUP = "screen_group", "A screen group (follows membership)"
    MULTIPLE_SCREENS = "multiple_screens", "Several screens"
    ALL_SCREENS = "all_screens", "Every screen of the fleet (follows membership)"


class Schedule(FleetOwned):
    """A playlist aimed at a target at given days, hours and dates, with a priority (reference 001
    "Plannings", 002 "Schedules"). Compiled into a campaign of its own (`ad`): see apps/ads/schedules.py."""

    fleet_lookup = "fleet"

    fleet = models.ForeignKey(Fleet, on_delete=models.CASCADE, related_name="schedules")
    name = models.CharField(max_length=100, blank=True)
    playlist = models.ForeignKey(Playlist, on_delete=models.PROTECT, related_name="schedules")
    target_type = models.CharField(max_length=20, choices=TargetType.choices)
    screens = models.ManyToManyField(Screen, blank=True, related_name="schedules")
    screen_group = models.ForeignKey(
        ScreenGroup, null=True, blank=True, on_delete=models.PROTECT, related_name="schedules"
    )
    days_of_week = models.JSONField(default=list, blank=True, help_text="1 (Monday) to 7 (Sunday); empty: every day")
    start_time = models.TimeField(null=True, blank=True)
    end_time = models.TimeField(null=True, blank=True)
    start_date = models.DateField(null=True, blank=True)
    end_date = models.DateField(null=True, blank=True)
    priority = models.PositiveSmallIntegerField(default=0)
    active = models.BooleanField(default=True)
    color = models.CharField(max_length=7, blank=True)
    conditions = models.JSONField(default=list, blank=True)
    ad = models.OneToOneField(
        Ad, null=True, blank=True, editable=False, on_delete=models.SET_NULL, related_name="schedule"
    )
    created = models.DateTimeField(auto_now_add=True)
    modified = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-priority", "name", "id"]

    def __str__(self) -> str:
        return self.name or f"Schedule {self.pk}"
