"""Fleets, users and memberships for tests: `FleetFactory()`, `member(fleet, Role.EDITOR)`."""

import factory
from django.contrib.auth import get_user_model

from apps.accounts.models import Fleet, Membership, Role

PASSWORD = "s3cret-pass"


class FleetFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Fleet

    name = factory.Sequence(lambda n: f"Fleet {n}")
    timezone = "Europe/Paris"
    heartbeat_interval = 60  # the device protocol's tests time players at a 60 s interval


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()

    username = factory.Sequence(lambda n: f"user-{n}")
    password = factory.django.Password(PASSWORD)


class MembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Membership

    user = factory.SubFactory(UserFactory)
    fleet = factory.SubFactory(FleetFactory)
    role = Role.ADMIN


def member(fleet: Fleet, role: str = Role.ADMIN, **user_fields):
    """A user who is a member of `fleet` with `role` (password PASSWORD unless given)."""
    return MembershipFactory(fleet=fleet, role=role, user=UserFactory(**user_fields)).user
