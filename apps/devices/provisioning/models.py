from django.db import models

from apps.accounts.models import Fleet
from apps.screens.models import Screen
from signage.scopes import FleetOwned


class ProvisionStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    APPLIED = "applied", "Applied"


PENDING = models.Q(applied_at__isnull=True)


class Provision(FleetOwned):
    """A player known before it is switched on (reference 004 "Provision recipe"): when a player registers
    with this serial number and the fleet allows provisioning by serial number, it is paired with `screen`
    and given the rest (name, barcode, sticker, tags, policies). Applied once: `device` and `applied_at` then
    say to which player."""

    fleet_lookup = "fleet"

    fleet = models.ForeignKey(Fleet, on_delete=models.CASCADE, related_name="provisions")
    serial_number = models.CharField(max_length=100, help_text="As the player reports it (compared in capitals)")
    screen = models.ForeignKey(Screen, on_delete=models.CASCADE, related_name="provisions")
    name = models.CharField(max_length=200, blank=True, help_text="The player's name; empty: the screen's")
    barcode = models.CharField(max_length=100, blank=True)
    sticker = models.CharField(max_length=100, blank=True)
    tags = models.ManyToManyField("devices.Tag", blank=True, related_name="provisions")
    policies = models.ManyToManyField(
        "devices.Policy", blank=True, related_name="provisions", help_text="Assigned with priority 0"
    )
    device = models.OneToOneField(
        "devices.Device", null=True, blank=True, on_delete=models.SET_NULL, related_name="provision"
    )
    applied_at = models.DateTimeField(null=True, blank=True)
    created = models.DateTimeField(auto_now_add=True)
    modified = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["serial_number", "id"]
        verbose_name = "provisioned player"
        constraints = [models.UniqueConstraint(fields=["fleet", "serial_number"], name="provision_unique_serial")]
        indexes = [models.Index(fields=["serial_number"], condition=PENDING, name="provision_pending")]

    def __str__(self) -> str:
        return self.serial_number

    @property
    def status(self) -> str:
        return ProvisionStatus.APPLIED if self.applied_at else ProvisionStatus.PENDING
