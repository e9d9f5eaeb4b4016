from .models import Screen, ScreenGroup, ScreenType

SCREENS_PER_PLACE = 8


def seed(context: dict) -> None:
    """Screen types, groups and a few dozen screens of the demo fleet in its places."""
    fleet, places = context["fleet"], context["places"]
    landscape, _ = ScreenType.objects.get_or_create(
        fleet=fleet, name="Full HD landscape", defaults={"width": 1920, "height": 1080, "orientation": "landscape"}
    )
    totem, _ = ScreenType.objects.get_or_create(
        fleet=fleet, name="Totem portrait", defaults={"width": 1080, "height": 1920, "orientation": "portrait"}
    )
    stations, _ = ScreenGroup.objects.get_or_create(fleet=fleet, name="Stations", defaults={"description": "Halls"})
    totems, _ = ScreenGroup.objects.get_or_create(fleet=fleet, name="Totems", defaults={"description": "Portrait"})
    screens = []
    for place in places[:-1]:
        for number in range(1, SCREENS_PER_PLACE + 1):
            portrait = number % 3 == 0
            screen, created = Screen.objects.get_or_create(
                fleet=fleet,
                name=f"{place.city} {number:02}",
                defaults={
                    "place": place,
                    "screen_type": totem if portrait else landscape,
                    "orientation": "portrait" if portrait else "landscape",
                    "opening_hours": {day: [["06:00", "23:00"]] for day in "12345"},
                    "allocated_times": {"1": 60, "2": 120},
                },
            )
            if created:
                screen.groups.add(totems if portrait else stations)
            screens.append(screen)
    spare, _ = Screen.objects.get_or_create(
        fleet=fleet,
        name="Spare in the warehouse",
        defaults={"place": places[-1], "active": False, "deactivation_reason": "stock"},
    )
    context["screens"] = [*screens, spare]
