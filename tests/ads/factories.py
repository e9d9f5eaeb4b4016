import datetime

import factory

from apps.ads.models import Ad, Broadcast
from tests.accounts.factories import FleetFactory


class AdFactory(factory.django.DjangoModelFactory):
    """A campaign (saved as is: the campaign rules of apps/ads/services.py are not applied)."""

    class Meta:
        model = Ad

    fleet = factory.SubFactory(FleetFactory)
    name = factory.Sequence(lambda n: f"Campaign {n}")
    campaign_startdate = datetime.date(2020, 1, 1)


class BroadcastFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Broadcast

    ad = factory.SubFactory(AdFactory)
