from django.db import models
from django.db.models.functions import Lower

from apps.accounts.models import Fleet
from signage.scopes import FleetOwned

ADDRESS_FIELDS = ("street_number", "address", "postalcode", "city")


class Place(FleetOwned):
    """Where screens stand. Public places (no exclusive_fleet) are shared by every fleet and immutable
    through the API; an exclusive place belongs to one fleet, which alone may use and change it."""

    fleet_lookup = "exclusive_fleet"
    shared_without_fleet = True

    name = models.CharField(max_length=255)
    full_address = models.CharField(max_length=500, editable=False)
    street_number = models.CharField(max_length=20)
    address = models.CharField(max_length=255)
    postalcode = models.CharField(max_length=20)
    city = models.CharField(max_length=100)
    county = models.CharField(max_length=100, blank=True)
    region = models.CharField(max_length=100, blank=True)
    country = models.CharField(max_length=100, blank=True)
    latitude = models.FloatField(null=True, blank=True)
    longitude = models.FloatField(null=True, blank=True)
    google_place_id = models.CharField(max_length=255, blank=True)
    exclusive_fleet = models.ForeignKey(
        Fleet, null=True, blank=True, on_delete=models.CASCADE, related_name="exclusive_places"
    )
    private_fleet_key = models.CharField(max_length=255, blank=True)
    created = models.DateTimeField(auto_now_add=True)
    modified = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name", "id"]
        indexes = [
            models.Index(fields=["city"]),
            models.Index(Lower("full_address"), "exclusive_fleet", name="place_address_fleet"),
        ]

    def __str__(self) -> str:
        return self.name

    def save(self, *args, **kwargs):
        self.full_address = self.compose_full_address()
        if not self.name:
            self.name = self.full_address
        super().save(*args, **kwargs)

    @property
    def is_public(self) -> bool:
        return self.exclusive_fleet_id is None

    def compose_full_address(self) -> str:
        street = " ".join(part for part in (self.street_number, self.address) if part)
        town = " ".join(part for part in (self.postalcode, self.city) if part)
        return ", ".join(part for part in (street, town, self.country) if part)
