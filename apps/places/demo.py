from .models import Place

DEMO_PLACES = [
    ("Gare de Lyon", "20", "Boulevard Diderot", "75012", "Paris", 48.8443, 2.3744),
    ("Part-Dieu", "5", "Place Charles Béraud", "69003", "Lyon", 45.7606, 4.8593),
    ("Vieux-Port", "1", "Quai du Port", "13002", "Marseille", 43.2965, 5.3698),
    ("Capitole", "1", "Place du Capitole", "31000", "Toulouse", 43.6045, 1.4440),
]


def seed(context: dict) -> None:
    """Public places in four cities, and one place exclusive to the demo fleet."""
    places = []
    for name, number, address, postalcode, city, latitude, longitude in DEMO_PLACES:
        place, _ = Place.objects.get_or_create(
            street_number=number,
            address=address,
            postalcode=postalcode,
            city=city,
            exclusive_fleet=None,
            defaults={"name": name, "latitude": latitude, "longitude": longitude, "country": "France"},
        )
        places.append(place)
    warehouse, _ = Place.objects.get_or_create(
        street_number="12",
        address="Rue des Entrepôts",
        postalcode="93200",
        city="Saint-Denis",
        exclusive_fleet=context["fleet"],
        defaults={"name": "Demo warehouse", "private_fleet_key": "warehouse", "country": "France"},
    )
    context["places"] = [*places, warehouse]
