import factory

from apps.places.models import Place


class PlaceFactory(factory.django.DjangoModelFactory):
    """A public place in Paris unless told otherwise (`exclusive_fleet=fleet` makes it a fleet's own)."""

    class Meta:
        model = Place

    street_number = "1"
    address = "Rue de Rivoli"
    postalcode = "75001"
    city = "Paris"
    exclusive_fleet = None
