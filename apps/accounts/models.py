import zoneinfo

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models

from signage.scopes import FleetOwned


def validate_timezone(value: str) -> None:
    if value not in zoneinfo.available_timezones():
        raise ValidationError(f"'{value}' is not a valid IANA timezone.", code="invalid_timezone")


class AdvertiserType(models.Model):
    """Who books screen time: 1 lessor, 2 advertiser, 3 agency, ... (share of voice is counted per type).

    The ids are part of the API contract (allocated_times and author_origin accept them), so the
    standard types are created with fixed ids by a data migration.
    """

    id = models.PositiveSmallIntegerField(primary_key=True)
    name = models.SlugField(max_length=50, unique=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return self.name


# A player learns of a new playlist at its next heartbeat: 40 s (44 with the jitter) leaves a change on every
# screen room to reach every player within 60 s; 60 s halves the heartbeat load but takes about 70 s (README,
# "Players").
DEFAULT_HEARTBEAT_INTERVAL = 40


class Fleet(FleetOwned):
    """A tenant: an operator's network of screens. Every object of the product belongs to one."""

    fleet_lookup = "pk"

    name = models.CharField(max_length=200, unique=True)
    timezone = models.CharField(max_length=64, default="Europe/Paris", validators=[validate_timezone])
    share_of_voice = models.BooleanField(
        default=False, help_text="Screen time is shared between advertiser types (allocated_times)."
    )
    advertiser_types = models.ManyToManyField(
        AdvertiserType, blank=True, related_name="fleets", help_text="The advertiser types this fleet offers."
    )
    external_storage = models.JSONField(
        null=True,
        blank=True,
        help_text=(
            'Storage for "to_external_storage", as in Django\'s STORAGES: '
            '{"BACKEND": "...", "OPTIONS": {...}}. Empty: the fleet has none.'
        ),
    )
    max_screens = models.PositiveIntegerField(
        null=True, blank=True, help_text="Plan limit on the number of screens; empty means no limit."
    )
    heartbeat_interval = models.PositiveIntegerField(
        default=DEFAULT_HEARTBEAT_INTERVAL,
        validators=[MinValueValidator(10)],
        help_text="Seconds between two device heartbeats.",
    )
    telemetry_history_interval = models.PositiveIntegerField(
        default=3600,
        validators=[MinValueValidator(60)],
        help_text="Seconds after which an unchanged telemetry value is written to the history again.",
    )
    screenshot_interval = models.PositiveIntegerField(
        null=True,
        blank=True,
        validators=[MinValueValidator(60), MaxValueValidator(7 * 24 * 3600)],
        help_text="Seconds between automatic screenshots of the online players; empty: only on request.",
    )
    screenshots_kept = models.PositiveIntegerField(
        default=50,
        validators=[MinValueValidator(1), MaxValueValidator(1000)],
        help_text="Screenshots kept per player: older ones are deleted when a new one arrives.",
    )
    provisioning_by_serial = models.BooleanField(
        default=False,
        help_text=(
            "A player that registers with the serial number of one of the fleet's pending provisions is "
            "paired without a pairing code. A serial number is not a secret: whoever knows one can take "
            "that screen's place."
        ),
    )
    created = models.DateTimeField(auto_now_add=True)
    modified = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name", "id"]
        permissions = [("view_every_fleet", "Can see and change every fleet (operator staff)")]

    def __str__(self) -> str:
        return self.name

    @property
    def has_external_storage(self) -> bool:
        return bool(self.external_storage)


class Role(models.TextChoices):
    ADMIN = "admin", "Admin"
    EDITOR = "editor", "Editor"
    VIEWER = "viewer", "Viewer"
    TECHNICIAN = "technician", "Technician"


class Membership(FleetOwned):
    """A user's place in a fleet: a role, and the advertiser type they book share of voice as."""

    fleet_lookup = "fleet"

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships")
    fleet = models.ForeignKey(Fleet, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=20, choices=Role.choices, default=Role.VIEWER)
    advertiser_type = models.ForeignKey(
        AdvertiserType, null=True, blank=True, on_delete=models.PROTECT, related_name="memberships"
    )
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["fleet__name", "user__username"]
        constraints = [models.UniqueConstraint(fields=["user", "fleet"], name="unique_membership")]

    def __str__(self) -> str:
        return f"{self.user} in {self.fleet} ({self.role})"

    def clean(self) -> None:
        if self.advertiser_type_id and self.fleet_id:
            offered = self.fleet.advertiser_types.filter(pk=self.advertiser_type_id).exists()
            if not offered:
                raise ValidationError(
                    {"advertiser_type": f"The fleet {self.fleet} does not offer this advertiser type."}
                )
