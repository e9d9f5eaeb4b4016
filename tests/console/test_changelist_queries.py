"""Changelists keep flat query counts: the same number of queries for 2 and for 12 rows of each console
model."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from apps.accounts.models import Role

pytestmark = pytest.mark.django_db


def add_rows(resource, fleet, count, make_screen, make_media, make_place, start):
    from apps.ads.models import BroadcastScreen, QuotaOverflow
    from apps.devices.models import Provision
    from tests.ads.factories import AdFactory, BroadcastFactory
    from tests.devices.factories import DeviceFactory

    today = timezone.now().date()
    for index in range(start, start + count):
        if resource == "places.place":
            make_place(f"Town {index}", exclusive_fleet=fleet, street_number=str(index))
        elif resource == "media.media":
            make_media(fleet, name=f"media {index}")
        elif resource in ("ads.ad", "ads.broadcast", "ads.quotaoverflow"):
            ad = AdFactory(fleet=fleet, campaign_startdate=today, author_origin_id=1 if index % 2 else None)
            screen = make_screen(fleet, f"Screen {index}")
            broadcast = BroadcastFactory(ad=ad, media=make_media(fleet, name=f"media {index}"))
            BroadcastScreen.objects.create(broadcast=broadcast, screen=screen)
            QuotaOverflow.objects.create(ad=ad, screen=screen, date=today, duration=5, quota=1)
        elif resource == "devices.device":
            screen = make_screen(fleet, f"Screen {index}")
            DeviceFactory(screen=screen)
        elif resource == "devices.bulkoperation":
            from apps.devices.bulk.models import BulkOperation

            BulkOperation.objects.create(fleet=fleet, name=f"Reboot {index}", operation_type="REBOOT", filter={},
                                         total=10, successful=index % 10)  # fmt: skip
        elif resource == "devices.provision":
            device = DeviceFactory(screen=make_screen(fleet, f"Screen {index}"))
            Provision.objects.create(fleet=fleet, serial_number=f"SN-{index}", screen=device.screen, device=device)
        elif resource in ("devices.tag", "devices.policy"):
            from apps.devices.policies import services

            device = DeviceFactory(screen=make_screen(fleet, f"Screen {index}"))
            tag = services.tag_create(fleet=fleet, name=f"Tag {index}")
            services.tag_assign(tag=tag, devices=[device])
            policy = services.policy_create(fleet=fleet, name=f"P {index}", items=[
                {"type": "VOLUME", "value": index}])  # fmt: skip
            services.policy_assign(policy=policy, devices=[device])
        elif resource == "screens.screen":
            make_screen(fleet, f"Screen {index}", place=make_place(f"Town {index}", street_number=str(index)))


@pytest.mark.parametrize(
    "resource", ["places.place", "screens.screen", "media.media", "ads.ad", "ads.broadcast", "ads.quotaoverflow",
                 "devices.device", "devices.bulkoperation",
                 "devices.provision", "devices.tag", "devices.policy"],
)  # fmt: skip
def test_changelist_queries_do_not_grow_with_rows(resource, console_for, fleet, make_screen, make_media, make_place):
    fleet.advertiser_types.add(1)
    browser = console_for(fleet, Role.ADMIN)
    path = "/admin/{}/{}/".format(*resource.split("."))

    def queries():
        with CaptureQueriesContext(connection) as captured:
            response = browser.get(path)
        assert response.status_code == 200
        return len(captured)

    add_rows(resource, fleet, 2, make_screen, make_media, make_place, start=0)
    few = queries()
    add_rows(resource, fleet, 10, make_screen, make_media, make_place, start=2)
    assert queries() == few
