"""Pluggable geocoding of place addresses.

SIGNAGE_GEOCODER names a class with `geocode(address: Address) -> Geocoded | None`. The default does
nothing (the product works offline): a place keeps the location and google_place_id it was given, and
its name defaults to its address.
"""

from dataclasses import dataclass

from django.conf import settings
from django.utils.module_loading import import_string


@dataclass(frozen=True)
class Address:
    street_number: str
    address: str
    postalcode: str
    city: str
    country: str = ""


@dataclass(frozen=True)
class Geocoded:
    name: str = ""
    latitude: float | None = None
    longitude: float | None = None
    google_place_id: str = ""
    county: str = ""
    region: str = ""
    country: str = ""


class NullGeocoder:
    def geocode(self, address: Address) -> Geocoded | None:
        return None


def get_geocoder():
    return import_string(getattr(settings, "SIGNAGE_GEOCODER", "apps.places.geocoding.NullGeocoder"))()
