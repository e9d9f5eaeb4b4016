from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction

from .models import AdvertiserType, Fleet, Membership, Role

LESSOR, ADVERTISER, AGENCY = 1, 2, 3


def default_external_storage(fleet: Fleet) -> dict:
    """A local folder per fleet under MEDIA_ROOT: the external storage `--external-storage` gives."""
    return {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": str(settings.MEDIA_ROOT / "external" / str(fleet.pk))},
    }


@transaction.atomic
def fleet_bootstrap(
    *,
    name: str,
    username: str,
    password: str,
    share_of_voice: bool = False,
    external_storage: bool = False,
    staff: bool = False,
) -> tuple[Fleet, Membership]:
    """Create (or reuse) the fleet and its `admin` member; running it twice changes nothing more.

    With `share_of_voice` the fleet offers the lessor (1) and advertiser (2) types and the member books
    as a lessor; with `external_storage` the fleet gets a local folder as external storage; with `staff`
    the user may log in to the admin (scoped to their fleets, see accounts.scoping).
    """
    fleet, _ = Fleet.objects.get_or_create(name=name)
    if share_of_voice:
        fleet.share_of_voice = True
        fleet.advertiser_types.add(LESSOR, ADVERTISER)
    if external_storage and not fleet.external_storage:
        fleet.external_storage = default_external_storage(fleet)
    fleet.save()

    user, _ = get_user_model().objects.get_or_create(username=username)
    user.set_password(password)
    if staff:
        user.is_staff = True
    user.save()

    membership, _ = Membership.objects.update_or_create(
        user=user,
        fleet=fleet,
        defaults={
            "role": Role.ADMIN,
            **({"advertiser_type": AdvertiserType.objects.get(pk=LESSOR)} if share_of_voice else {}),
        },
    )
    return fleet, membership
