from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import ProtectedError

from apps.accounts.models import Fleet
from signage.arguments import UNCHANGED, Unchanged, given
from signage.errors import DomainError

from .geocoding import Address, get_geocoder
from .models import ADDRESS_FIELDS, Place

GEOCODED_FIELDS = ("county", "region", "country", "google_place_id", "latitude", "longitude")


class PlaceDuplicate(DomainError):
    """An address change would make the place a copy of `existing`, another place of the same fleet (the
    API answers the existing place beside the error)."""

    def __init__(self, existing: Place):
        super().__init__(
            {"__all__": [{"message": "Another place of this fleet already has this address.", "code": "duplicate"}]},
            objects={"place": existing},
        )
        self.existing = existing

    def messages(self) -> dict[str, list[str]]:
        return {"__all__": [f"Another place of this fleet already has this address: '{self.existing}'."]}


def place_same_address(*, fleet_id: int | None, values: dict, exclude_pk: int | None = None) -> Place | None:
    """The fleet's place (the public one when fleet_id is None) at the same address, case-insensitively."""
    queryset = Place.objects.of_fleet(fleet_id).filter(
        exclusive_fleet_id=fleet_id, **{f"{field}__iexact": values.get(field, "") for field in ADDRESS_FIELDS}
    )
    if exclude_pk is not None:
        queryset = queryset.exclude(pk=exclude_pk)
    return queryset.order_by("pk").first()


def _geocode(place: Place, given: set[str]) -> None:
    """Fill what the geocoder knows and the client did not give; the default geocoder knows nothing."""
    found = get_geocoder().geocode(
        Address(place.street_number, place.address, place.postalcode, place.city, place.country)
    )
    if found is None:
        return
    if "name" not in given and found.name:
        place.name = found.name
    for field in GEOCODED_FIELDS:
        if field not in given and getattr(found, field) not in (None, ""):
            setattr(place, field, getattr(found, field))


@transaction.atomic
def place_create(
    *,
    exclusive_fleet: Fleet | None,
    street_number: str,
    address: str,
    postalcode: str,
    city: str,
    name: str = "",
    country: str = "",
    county: str = "",
    region: str = "",
    latitude: float | None = None,
    longitude: float | None = None,
    google_place_id: str = "",
    private_fleet_key: str = "",
) -> tuple[Place, bool]:
    """Create a place, or return the existing one at the same address: within `exclusive_fleet` for an
    exclusive place, among public places for a public one. What the geocoder knows fills what is left
    empty (the name defaults to the address). Returns (place, created)."""
    values = {
        "name": name,
        "street_number": street_number,
        "address": address,
        "postalcode": postalcode,
        "city": city,
        "country": country,
        "county": county,
        "region": region,
        "latitude": latitude,
        "longitude": longitude,
        "google_place_id": google_place_id,
        "private_fleet_key": private_fleet_key,
    }
    if exclusive_fleet is not None:
        # Serialises creations in one fleet, so two identical requests cannot both create a place.
        Fleet.objects.of_fleet(exclusive_fleet.pk).select_for_update().first()
    existing = place_same_address(fleet_id=exclusive_fleet.pk if exclusive_fleet else None, values=values)
    if existing is not None:
        return existing, False
    place = Place(**values, exclusive_fleet=exclusive_fleet)
    _geocode(place, given={key for key, value in values.items() if value not in (None, "")})
    place.full_clean(exclude=["name"])
    place.save()
    return place, True


@transaction.atomic
def place_update(
    *,
    place: Place,
    name: str | Unchanged = UNCHANGED,
    street_number: str | Unchanged = UNCHANGED,
    address: str | Unchanged = UNCHANGED,
    postalcode: str | Unchanged = UNCHANGED,
    city: str | Unchanged = UNCHANGED,
    country: str | Unchanged = UNCHANGED,
    county: str | Unchanged = UNCHANGED,
    region: str | Unchanged = UNCHANGED,
    latitude: float | Unchanged | None = UNCHANGED,
    longitude: float | Unchanged | None = UNCHANGED,
    google_place_id: str | Unchanged = UNCHANGED,
    private_fleet_key: str | Unchanged = UNCHANGED,
) -> Place:
    """Change an exclusive place (only the fields given). A change of address is geocoded and must not
    duplicate another place of the fleet (PlaceDuplicate); a change of name or private_fleet_key alone
    skips both; an empty name goes back to the address."""
    values = given(
        name=name,
        street_number=street_number,
        address=address,
        postalcode=postalcode,
        city=city,
        country=country,
        county=county,
        region=region,
        latitude=latitude,
        longitude=longitude,
        google_place_id=google_place_id,
        private_fleet_key=private_fleet_key,
    )
    if place.is_public:
        raise PermissionDenied("Public places are shared by every fleet and cannot be changed.")
    address_changed = any(
        field in values and values[field] != getattr(place, field) for field in (*ADDRESS_FIELDS, "country")
    )
    for field, value in values.items():
        setattr(place, field, value)
    if address_changed:
        current = {field: getattr(place, field) for field in ADDRESS_FIELDS}
        duplicate = place_same_address(fleet_id=place.exclusive_fleet_id, values=current, exclude_pk=place.pk)
        if duplicate is not None:
            raise PlaceDuplicate(duplicate)
        _geocode(place, given=set(values))
    if "name" in values and not values["name"]:
        place.name = ""  # back to the default: the address
    place.full_clean(exclude=["name"])
    place.save()
    return place


@transaction.atomic
def place_delete(*, place: Place) -> None:
    if place.is_public:
        raise PermissionDenied("Public places are shared by every fleet and cannot be deleted.")
    try:
        place.delete()
    except ProtectedError:
        raise ValidationError(
            "This place cannot be deleted while screens are attached to it.", code="protected"
        ) from None
