import factory

from apps.screens.models import Screen, ScreenGroup, ScreenType
from tests.accounts.factories import FleetFactory


class ScreenFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Screen

    fleet = factory.SubFactory(FleetFactory)
    name = factory.Sequence(lambda n: f"Screen {n}")


class ScreenGroupFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ScreenGroup

    fleet = factory.SubFactory(FleetFactory)
    name = factory.Sequence(lambda n: f"Group {n}")


class ScreenTypeFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ScreenType

    fleet = factory.SubFactory(FleetFactory)
    name = factory.Sequence(lambda n: f"Type {n}")
    width = 1920
    height = 1080
