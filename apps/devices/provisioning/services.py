from collections.abc import Iterable

from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from apps.accounts.models import Fleet
from apps.screens.models import Screen
from signage.arguments import UNCHANGED, Unchanged, given
from signage.errors import field_error

from ..models import Device
from ..policies.models import Policy, Tag
from ..policies.services import policy_assign, tag_assign
from .models import Provision


def normalize_serial(value) -> str:
    """Serial numbers are compared without surrounding spaces and in capitals."""
    return str(value or "").strip().upper()


def _clean(provision: Provision) -> None:
    """The one validation of a provision (API, console form, CSV rows)."""
    provision.serial_number = normalize_serial(provision.serial_number)
    if not provision.serial_number:
        raise field_error("serial_number", "This field is required.", "required")
    if provision.screen_id is None:
        raise field_error("screen", "This field is required.", "required")
    if provision.screen.fleet_id != provision.fleet_id:
        raise field_error("screen", "This screen belongs to another fleet.")
    provision.full_clean(exclude=["fleet", "screen", "device"], validate_unique=False)
    duplicate = Provision.objects.of_fleet(provision.fleet_id).filter(serial_number=provision.serial_number)
    if duplicate.exclude(pk=provision.pk).exists():
        raise field_error("serial_number", "This fleet already provisions this serial number.", "unique")


def _save(provision: Provision, related: dict[str, list | None]) -> Provision:
    _clean(provision)
    related = {name: list(objects) for name, objects in related.items() if objects is not None}
    for name, objects in related.items():
        if any(item.fleet_id != provision.fleet_id for item in objects):
            raise field_error(name, f"Every one of the {name} must be of the provision's fleet.", "does_not_exist")
    try:
        with transaction.atomic():
            provision.save()
    except IntegrityError:  # a concurrent writer took the serial number between the check and the save
        raise field_error("serial_number", "This fleet already provisions this serial number.", "unique") from None
    for name, objects in related.items():
        getattr(provision, name).set(objects)
    return provision


@transaction.atomic
def provision_create(
    *,
    fleet: Fleet,
    serial_number: str = "",
    screen: Screen | None = None,
    name: str = "",
    barcode: str = "",
    sticker: str = "",
    tags: Iterable[Tag] | None = None,
    policies: Iterable[Policy] | None = None,
) -> Provision:
    """A pending provision of `fleet` (its serial number and screen are required; its screen, tags and
    policies must be the fleet's; one per serial number and fleet)."""
    provision = Provision(
        fleet=fleet, serial_number=serial_number, screen=screen, name=name, barcode=barcode, sticker=sticker
    )
    return _save(provision, {"tags": tags, "policies": policies})


@transaction.atomic
def provision_update(
    *,
    provision: Provision,
    serial_number: str | Unchanged = UNCHANGED,
    screen: Screen | Unchanged = UNCHANGED,
    name: str | Unchanged = UNCHANGED,
    barcode: str | Unchanged = UNCHANGED,
    sticker: str | Unchanged = UNCHANGED,
    tags: Iterable[Tag] | Unchanged | None = UNCHANGED,
    policies: Iterable[Policy] | Unchanged | None = UNCHANGED,
) -> Provision:
    """Change a pending provision (only the fields given; tags and policies, when given, replace them); an
    applied one is history (change its player instead)."""
    provision = Provision.objects.of_fleet(provision.fleet_id).select_for_update().get(pk=provision.pk)
    if provision.applied_at is not None:
        raise ValidationError(
            {NON_FIELD_ERRORS: ValidationError("This provision was applied: change its player instead.", "applied")}
        )
    for field, value in given(
        serial_number=serial_number, screen=screen, name=name, barcode=barcode, sticker=sticker
    ).items():
        setattr(provision, field, value)
    return _save(provision, given(tags=tags, policies=policies))


def provision_claim(*, device: Device) -> Provision | None:
    """The pending provision an unpaired, registering player may take by its serial number, locked: the one
    of a fleet that allows provisioning by serial number. None when there is none, or when several fleets
    claim the serial number (a serial number is not a secret: nobody gets an ambiguous player)."""
    serial = normalize_serial(device.serial_number)
    if device.paired or not serial:
        return None
    # A new player belongs to no fleet yet: its serial number is looked up in every fleet that allows it.
    provisions = Provision.objects.unscoped("a registering player's serial number, in the fleets allowing it")
    candidates = list(
        provisions.select_for_update(of=("self",))
        .select_related("screen", "fleet")
        .filter(serial_number=serial, applied_at__isnull=True, fleet__provisioning_by_serial=True)
        .order_by("pk")[:2]
    )
    return candidates[0] if len(candidates) == 1 else None


def provision_applied(*, provision: Provision, device: Device) -> Provision:
    """Give `device` (just paired with the provision's screen) the provision's tags and policies (priority 0),
    and record that it took the provision; in the registering transaction."""
    for tag in provision.tags.all():
        tag_assign(tag=tag, devices=[device])
    for policy in provision.policies.all():
        policy_assign(policy=policy, devices=[device])
    provision.device, provision.applied_at = device, timezone.now()
    provision.save(update_fields=["device", "applied_at", "modified"])
    return provision
