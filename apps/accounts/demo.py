from django.contrib.auth import get_user_model

from .models import Fleet, Membership, Role
from .services import fleet_bootstrap

USERNAME, PASSWORD = "demo", "demo"


def seed(context: dict) -> None:
    """The demo fleet, its admin (staff, lessor) and a viewer of a second fleet."""
    fleet, membership = fleet_bootstrap(
        name="Demo Fleet",
        username=USERNAME,
        password=PASSWORD,
        share_of_voice=True,
        external_storage=True,
        staff=True,
    )
    fleet.max_screens = 100
    fleet.save(update_fields=["max_screens"])
    other, _ = Fleet.objects.get_or_create(name="Other Fleet", defaults={"timezone": "America/New_York"})
    viewer, created = get_user_model().objects.get_or_create(username="viewer")
    if created:
        viewer.set_password("viewer")
        viewer.save()
    Membership.objects.get_or_create(user=viewer, fleet=other, defaults={"role": Role.VIEWER})
    context.update(fleet=fleet, user=membership.user, username=USERNAME, password=PASSWORD)
