import secrets
import uuid

from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Count, IntegerField, OuterRef, Subquery
from django.db.models.functions import Coalesce
from django.utils.text import slugify

from apps.accounts.models import Fleet, validate_timezone
from apps.places.models import Place
from signage.scopes import FleetOwned

from .hours import clean_week_hours


class Orientation(models.TextChoices):
    LANDSCAPE = "landscape", "Landscape"
    PORTRAIT = "portrait", "Portrait"


class ScheduleMode(models.TextChoices):
    SHARED = "shared", "Shared: every current campaign and schedule is in the loop"
    EXCLUSIVE = "exclusive", "Exclusive: only the highest priority plays"


class DeactivationReason(models.TextChoices):
    STOCK = "stock", "In stock"
    TO_REPLACE = "to_replace", "To replace"
    REPLACEMENT = "replacement", "Replacement"
    HAS_BEEN_REPLACED = "has_been_replaced", "Has been replaced"
    LOST = "lost", "Lost"
    MAINTENANCE = "maintenance", "Maintenance"
    SITE_IS_CLOSED = "site_is_closed", "Site is closed"
    DEPLOY = "deploy", "Being deployed"


CUSTOM_SLUG_TAKEN = "This custom slug is already used by another screen."

ROTATIONS = [(0, "0°"), (90, "90°"), (180, "180°"), (270, "270°")]


class ScreenType(FleetOwned):
    fleet_lookup = "fleet"

    fleet = models.ForeignKey(Fleet, on_delete=models.CASCADE, related_name="screen_types")
    name = models.CharField(max_length=200)
    width = models.PositiveIntegerField(help_text="Pixels")
    height = models.PositiveIntegerField(help_text="Pixels")
    orientation = models.CharField(max_length=10, choices=Orientation.choices, default=Orientation.LANDSCAPE)

    class Meta:
        ordering = ["name", "id"]
        constraints = [models.UniqueConstraint(fields=["fleet", "name"], name="unique_screen_type_name")]

    def __str__(self) -> str:
        return f"{self.name} ({self.width}x{self.height})"


class ScreenGroup(FleetOwned):
    fleet_lookup = "fleet"

    fleet = models.ForeignKey(Fleet, on_delete=models.CASCADE, related_name="screen_groups")
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)

    class Meta:
        ordering = ["name", "id"]
        constraints = [models.UniqueConstraint(fields=["fleet", "name"], name="unique_screen_group_name")]

    def __str__(self) -> str:
        return self.name


def new_slug(name: str) -> str:
    base = slugify(name)[:40] or "screen"
    return f"{base}-{secrets.token_hex(4)}"


class Screen(FleetOwned):
    fleet_lookup = "fleet"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    fleet = models.ForeignKey(Fleet, on_delete=models.CASCADE, related_name="screens")
    name = models.CharField(max_length=100)
    slug = models.SlugField(max_length=60, unique=True, editable=False)
    # null when unset, so that the unique constraint holds only between screens that have one.
    custom_slug = models.CharField(
        max_length=100, unique=True, null=True, blank=True, error_messages={"unique": CUSTOM_SLUG_TAKEN}
    )
    description = models.CharField(max_length=500, blank=True)
    place = models.ForeignKey(Place, null=True, blank=True, on_delete=models.PROTECT, related_name="screens")
    screen_type = models.ForeignKey(
        ScreenType, null=True, blank=True, on_delete=models.SET_NULL, related_name="screens"
    )
    groups = models.ManyToManyField(ScreenGroup, blank=True, related_name="screens")
    location = models.CharField(max_length=200, blank=True, help_text="Where the screen stands in its place.")

    active = models.BooleanField(default=True)
    # null, not "": the API contract says the reason "must be null" when the screen is active.
    deactivation_reason = models.CharField(  # noqa: DJ001
        max_length=20, choices=DeactivationReason.choices, null=True, blank=True
    )
    remote = models.BooleanField(default=False, help_text="Remote access to the player is enabled.")
    display_is_a_led_panel = models.BooleanField(default=False)
    display_is_an_epaper = models.BooleanField(default=False)

    opening_hours = models.JSONField(default=dict, blank=True)
    download_hours = models.JSONField(default=dict, blank=True)
    allocated_times = models.JSONField(
        default=dict, blank=True, help_text='Seconds of loop time per advertiser type id: {"1": 30, "2": 20}.'
    )

    timezone = models.CharField(max_length=64, validators=[validate_timezone], blank=True)
    schedule_mode = models.CharField(max_length=10, choices=ScheduleMode.choices, default=ScheduleMode.SHARED)
    orientation = models.CharField(max_length=10, choices=Orientation.choices, default=Orientation.LANDSCAPE)
    rotation = models.PositiveSmallIntegerField(choices=ROTATIONS, default=0)

    online = models.BooleanField(default=False)
    online_modified_date = models.DateTimeField(null=True, blank=True)
    last_seen_at = models.DateTimeField(null=True, blank=True)

    created = models.DateTimeField(auto_now_add=True)
    modified = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name", "id"]
        indexes = [
            models.Index(fields=["fleet", "active"]),
            models.Index(fields=["online_modified_date"]),
            # The list's default order: a page far down is read in index order, not sorted on disk.
            models.Index(fields=["name", "id"], name="screen_name_id"),
        ]

    def __str__(self) -> str:
        return self.name

    def save(self, *args, **kwargs):
        if not self.slug:
            self.slug = new_slug(self.name)
        if not self.timezone and self.fleet_id:
            self.timezone = self.fleet.timezone
        super().save(*args, **kwargs)

    @classmethod
    def custom_slug_check(cls, slug: str | None, *, exclude_pk=None) -> None:
        """The one rule for custom slugs: unique across the platform (every fleet). The unique constraint
        backs it against concurrent writers; this gives the reference's error first."""
        taken = cls.objects.unscoped("a custom slug is unique across fleets").filter(custom_slug=slug)
        if exclude_pk is not None:
            taken = taken.exclude(pk=exclude_pk)
        if slug and taken.exists():
            raise ValidationError(CUSTOM_SLUG_TAKEN, code="invalid")

    def custom_slug_clean(self) -> None:
        try:
            Screen.custom_slug_check(self.custom_slug or None, exclude_pk=self.pk)
        except ValidationError as error:
            raise ValidationError({"custom_slug": error}) from None

    def validate_unique(self, exclude=None):
        super().validate_unique(exclude=[*(exclude or []), "custom_slug"])
        if "custom_slug" not in (exclude or []):
            self.custom_slug_clean()

    def clean(self):
        errors = {}
        if self.active and self.deactivation_reason:
            errors["deactivation_reason"] = ValidationError(
                "The deactivation reason must be null when the screen is active.", code="invalid"
            )
        for field in ("opening_hours", "download_hours"):
            try:
                setattr(self, field, clean_week_hours(getattr(self, field)))
            except ValidationError as error:
                errors[field] = error
        if self.place_id and self.place.exclusive_fleet_id not in (None, self.fleet_id):
            errors["place"] = ValidationError("This place is exclusive to another fleet.", code="invalid")
        if self.screen_type_id and self.screen_type.fleet_id != self.fleet_id:
            errors["screen_type"] = ValidationError("This screen type belongs to another fleet.", code="invalid")
        if self.custom_slug == "":
            self.custom_slug = None
        if errors:
            raise ValidationError(errors)


def active_screens_count():
    """A fleet's number of active screens, as an annotation (registered as a fleet usage counter)."""
    counted = (
        Screen.objects.filter(fleet=OuterRef("pk"), active=True)
        .order_by()
        .values("fleet")
        .annotate(count=Count("pk"))
        .values("count")
    )
    return Coalesce(Subquery(counted, output_field=IntegerField()), 0)
