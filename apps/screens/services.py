from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from apps.accounts.models import Fleet
from apps.places.models import Place
from signage.arguments import UNCHANGED, Unchanged, given
from signage.errors import DomainError

from .models import Screen, ScreenGroup, ScreenType


class ScreenLimitReached(DomainError):
    """A 403: the fleet has as many active screens as its plan allows."""

    def __init__(self, fleet: Fleet):
        message = f"The fleet '{fleet.name}' has reached its plan's limit of {fleet.max_screens} active screens."
        super().__init__({"detail": message, "code": "max_screens_reached"}, 403)


SECONDS_PER_DAY = 86_400  # no loop is longer than a day


def allocated_times_clean(*, fleet: Fleet, value) -> dict[str, int]:
    """Reference 000 "Edit the allocated times": keys are advertiser type ids or names (any case), only
    the fleet's types, only with share of voice; values are seconds. Returns `{"<type id>": seconds}`."""
    if not isinstance(value, dict):
        raise ValidationError("Expected an object of advertiser type to seconds.", code="invalid")
    if not value:
        return {}
    if not fleet.share_of_voice:
        raise ValidationError("You don't have any share of voice", code="invalid")
    offered = list(fleet.advertiser_types.order_by("pk"))
    by_key = {str(kind.pk): kind for kind in offered} | {kind.name.lower(): kind for kind in offered}
    cleaned: dict[str, int] = {}
    for key, seconds in value.items():
        kind = by_key.get(str(key).strip().lower())
        if kind is None:
            choices = ", ".join(kind.name.capitalize() for kind in offered)
            ids = ", ".join(str(kind.pk) for kind in offered)
            raise ValidationError(f"Invalid author type '{key}'. Valid choices are: {choices} or {ids}", code="invalid")
        if isinstance(seconds, bool) or not isinstance(seconds, int) or not 0 <= seconds <= SECONDS_PER_DAY:
            raise ValidationError(
                f"The time allocated to '{key}' must be a whole number of seconds, from 0 to {SECONDS_PER_DAY}.",
                code="invalid",
            )
        if str(kind.pk) in cleaned:
            raise ValidationError(f"The advertiser type '{key}' is given twice.", code="invalid")
        cleaned[str(kind.pk)] = seconds
    return cleaned


def _allocated_times(fleet: Fleet, value) -> dict[str, int]:
    try:
        return allocated_times_clean(fleet=fleet, value=value)
    except ValidationError as error:
        raise ValidationError({"allocated_times": error.error_list}) from None


def _check_plan_limit(fleet: Fleet, exclude: Screen | None = None) -> None:
    """Refuse one more active screen past the fleet's plan. Locks the fleet row so that two concurrent
    creations cannot both take the last place."""
    locked = Fleet.objects.of_fleet(fleet.pk).select_for_update().get()
    if locked.max_screens is None:
        return
    active = Screen.objects.of_fleet(locked.pk).filter(active=True)
    if exclude is not None:
        active = active.exclude(pk=exclude.pk)
    if active.count() >= locked.max_screens:
        raise ScreenLimitReached(locked)


def _check_groups(fleet_id, groups) -> None:
    if any(group.fleet_id != fleet_id for group in groups):
        raise ValidationError({"groups": ValidationError("A screen group belongs to another fleet.", code="invalid")})


def _save(screen: Screen) -> None:
    # The form-level uniqueness check can lose a race with a concurrent writer; the constraint cannot.
    try:
        with transaction.atomic():
            screen.save()
    except IntegrityError:
        screen.custom_slug_clean()  # its error, when a concurrent writer took the custom slug
        raise


@transaction.atomic
def screen_create(
    *,
    fleet: Fleet,
    name: str,
    custom_slug: str | Unchanged | None = UNCHANGED,
    description: str | Unchanged = UNCHANGED,
    place: Place | Unchanged | None = UNCHANGED,
    screen_type: ScreenType | Unchanged | None = UNCHANGED,
    location: str | Unchanged = UNCHANGED,
    active: bool | Unchanged = UNCHANGED,
    deactivation_reason: str | Unchanged | None = UNCHANGED,
    remote: bool | Unchanged = UNCHANGED,
    display_is_a_led_panel: bool | Unchanged = UNCHANGED,
    display_is_an_epaper: bool | Unchanged = UNCHANGED,
    opening_hours: dict | Unchanged = UNCHANGED,
    download_hours: dict | Unchanged = UNCHANGED,
    allocated_times: dict | Unchanged = UNCHANGED,
    timezone: str | Unchanged = UNCHANGED,
    schedule_mode: str | Unchanged = UNCHANGED,
    orientation: str | Unchanged = UNCHANGED,
    rotation: int | Unchanged = UNCHANGED,
    groups: list[ScreenGroup] | None = None,
) -> Screen:
    """Create a screen in `fleet`, within its plan's number of active screens; a field left out takes the
    model's default (the timezone: the fleet's)."""
    values = given(
        name=name,
        custom_slug=custom_slug,
        description=description,
        place=place,
        screen_type=screen_type,
        location=location,
        active=active,
        deactivation_reason=deactivation_reason,
        remote=remote,
        display_is_a_led_panel=display_is_a_led_panel,
        display_is_an_epaper=display_is_an_epaper,
        opening_hours=opening_hours,
        download_hours=download_hours,
        allocated_times=allocated_times,
        timezone=timezone,
        schedule_mode=schedule_mode,
        orientation=orientation,
        rotation=rotation,
    )
    screen = Screen(fleet=fleet, **values)
    if "allocated_times" in values:
        screen.allocated_times = _allocated_times(fleet, values["allocated_times"])
    if screen.active:
        _check_plan_limit(fleet)
    screen.full_clean(exclude=["slug"])
    _save(screen)
    if groups:
        _check_groups(fleet.pk, groups)
        screen.groups.set(groups)
    return screen


@transaction.atomic
def screen_update(
    *,
    screen: Screen,
    name: str | Unchanged = UNCHANGED,
    custom_slug: str | Unchanged | None = UNCHANGED,
    description: str | Unchanged = UNCHANGED,
    place: Place | Unchanged | None = UNCHANGED,
    screen_type: ScreenType | Unchanged | None = UNCHANGED,
    location: str | Unchanged = UNCHANGED,
    active: bool | Unchanged = UNCHANGED,
    deactivation_reason: str | Unchanged | None = UNCHANGED,
    remote: bool | Unchanged = UNCHANGED,
    display_is_a_led_panel: bool | Unchanged = UNCHANGED,
    display_is_an_epaper: bool | Unchanged = UNCHANGED,
    opening_hours: dict | Unchanged = UNCHANGED,
    download_hours: dict | Unchanged = UNCHANGED,
    allocated_times: dict | Unchanged = UNCHANGED,
    timezone: str | Unchanged = UNCHANGED,
    schedule_mode: str | Unchanged = UNCHANGED,
    orientation: str | Unchanged = UNCHANGED,
    rotation: int | Unchanged = UNCHANGED,
    groups: list[ScreenGroup] | None = None,
) -> Screen:
    """Change a screen (only the fields given; `groups`, when given, replaces them). Reactivating it counts
    against the plan; an active screen has no deactivation reason (one left from before is cleared)."""
    values = given(
        name=name,
        custom_slug=custom_slug,
        description=description,
        place=place,
        screen_type=screen_type,
        location=location,
        active=active,
        deactivation_reason=deactivation_reason,
        remote=remote,
        display_is_a_led_panel=display_is_a_led_panel,
        display_is_an_epaper=display_is_an_epaper,
        opening_hours=opening_hours,
        download_hours=download_hours,
        allocated_times=allocated_times,
        timezone=timezone,
        schedule_mode=schedule_mode,
        orientation=orientation,
        rotation=rotation,
    )
    was_active = screen.active
    for field, value in values.items():
        setattr(screen, field, value)
    if "allocated_times" in values:
        screen.allocated_times = _allocated_times(screen.fleet, values["allocated_times"])
    if screen.active and "deactivation_reason" not in values:
        screen.deactivation_reason = None
    if screen.active and not was_active:
        _check_plan_limit(screen.fleet, exclude=screen)
    screen.full_clean(exclude=["slug"])
    _save(screen)
    if groups is not None:
        _check_groups(screen.fleet_id, groups)
        screen.groups.set(groups)
    return screen


def screens_set_online(*, screen_ids, online: bool, at=None) -> int:
    """Mark screens online or offline. Only screens whose state changes are written, so their
    online_modified_date moves only on a change. One UPDATE; returns how many screens changed."""
    return (
        Screen.objects.filter(pk__in=screen_ids)
        .exclude(online=online)
        .update(online=online, online_modified_date=at or timezone.now())
    )
