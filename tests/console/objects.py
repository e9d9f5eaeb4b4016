"""One object of each console model in a fleet, built through the ORM (the rules are tested elsewhere)."""

import secrets

from django.utils import timezone

from apps.accounts.models import Membership


def objects_of(fleet, make_screen, make_media, make_place) -> dict:
    from apps.ads.models import Ad, Broadcast, BroadcastScreen, QuotaOverflow
    from apps.devices.models import Device, Policy, Provision, Tag, token_hash
    from apps.screens.models import ScreenGroup, ScreenType

    screen = make_screen(fleet, f"Screen of {fleet.name}")
    media = make_media(fleet, name=f"Media of {fleet.name}")
    ad = Ad.objects.create(fleet=fleet, name=f"Campaign of {fleet.name}", campaign_startdate=timezone.now().date())
    broadcast = Broadcast.objects.create(ad=ad, media=media)
    BroadcastScreen.objects.create(broadcast=broadcast, screen=screen)
    return {
        "accounts.fleet": fleet,
        "accounts.membership": Membership.objects.filter(fleet=fleet).first(),
        "places.place": make_place(f"Town of {fleet.pk}", exclusive_fleet=fleet, street_number=str(fleet.pk)),
        "screens.screen": screen,
        "screens.screengroup": ScreenGroup.objects.create(fleet=fleet, name=f"Group of {fleet.name}"),
        "screens.screentype": ScreenType.objects.create(fleet=fleet, name=f"Type of {fleet.name}", width=1, height=1),
        "media.media": media,
        "ads.ad": ad,
        "ads.broadcast": broadcast,
        "ads.quotaoverflow": QuotaOverflow.objects.create(
            ad=ad, screen=screen, date=timezone.now().date(), duration=50, quota=40
        ),
        "devices.device": Device.objects.create(
            uuid=f"box-{fleet.pk}", token_hash=token_hash(secrets.token_hex(8)), fleet=fleet, screen=screen
        ),
        "devices.provision": Provision.objects.create(fleet=fleet, serial_number=f"SN-{fleet.pk}", screen=screen),
        "devices.tag": Tag.objects.create(fleet=fleet, name=f"Tag of {fleet.name}"),
        "devices.policy": Policy.objects.create(fleet=fleet, name=f"Policy of {fleet.name}"),
    }
