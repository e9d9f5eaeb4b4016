import factory
from django.utils import timezone

from apps.devices.models import Device, token_hash
from apps.devices.policies.models import Policy, Tag
from tests.accounts.factories import FleetFactory


class DeviceFactory(factory.django.DjangoModelFactory):
    """A registered player, of no fleet; `DeviceFactory(screen=screen)` pairs it with the screen (and fleet).
    Its raw token is `device.raw_token` (only its hash is stored)."""

    class Meta:
        model = Device

    uuid = factory.Sequence(lambda n: f"player-{n}")
    raw_token = factory.Sequence(lambda n: f"test-device-token-{n}")
    token_hash = factory.LazyAttribute(lambda device: token_hash(device.raw_token))
    screen = None
    fleet = factory.LazyAttribute(lambda device: device.screen.fleet if device.screen else None)
    paired_at = factory.LazyAttribute(lambda device: timezone.now() if device.screen else None)

    @classmethod
    def _create(cls, model_class, *args, raw_token, **kwargs):
        device = super()._create(model_class, *args, **kwargs)
        device.raw_token = raw_token
        return device


class TagFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Tag

    fleet = factory.SubFactory(FleetFactory)
    name = factory.Sequence(lambda n: f"Tag {n}")


class PolicyFactory(factory.django.DjangoModelFactory):
    """A policy saved as is (its items are not validated: `policy_create` does that)."""

    class Meta:
        model = Policy

    fleet = factory.SubFactory(FleetFactory)
    name = factory.Sequence(lambda n: f"Policy {n}")
