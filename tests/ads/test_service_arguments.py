"""The services state what they accept: a keyword they do not name is a TypeError (a caller's mistake, not a
400), raised before anything is written, never set on a model."""

import pytest

from apps.ads.feeds import data_feed_save
from apps.ads.models import Ad, Broadcast, Playlist
from apps.ads.schedules import playlist_save, schedule_save
from apps.ads.services import broadcast_save, campaign_create, campaign_update
from apps.devices.bulk.services import bulk_operation_create
from tests.accounts.factories import FleetFactory


def test_a_campaign_refuses_a_field_it_does_not_name(fleet):
    with pytest.raises(TypeError, match=r"campaign_create\(\) got an unexpected keyword argument: 'author_origin_id'"):
        campaign_create(fleet=fleet, author=None, name="Share", author_origin_id=1)
    assert not Ad.objects.of_fleet(fleet.pk).exists()


def test_a_campaign_update_cannot_move_the_campaign_to_another_fleet(fleet, make_screen, make_media):
    screen, picture = make_screen(fleet), make_media(fleet)
    ad = campaign_create(fleet=fleet, author=None, name="Mine", broadcasts=[{"media": picture, "screens": [screen]}])
    with pytest.raises(TypeError, match="'fleet'"):
        campaign_update(ad=ad, name="Theirs", fleet=FleetFactory())
    ad.refresh_from_db()
    assert (ad.name, ad.fleet_id) == ("Mine", fleet.pk)


def test_a_broadcast_refuses_a_key_it_does_not_name(fleet, make_screen, make_media):
    screen, picture = make_screen(fleet), make_media(fleet)
    with pytest.raises(TypeError, match=r"in broadcasts: 'ad', 'screen_ids'"):
        campaign_create(
            fleet=fleet, author=None, name="Nested", broadcasts=[{"media": picture, "screen_ids": [screen.pk], "ad": 1}]
        )
    assert not Ad.objects.of_fleet(fleet.pk).exists()
    ad = campaign_create(fleet=fleet, author=None, name="Kept", broadcasts=[{"media": picture, "screens": [screen]}])
    [broadcast] = ad.broadcasts.all()
    with pytest.raises(TypeError, match=r"broadcast_save\(\) got an unexpected keyword argument: 'created'"):
        broadcast_save(ad=ad, broadcast=broadcast, order=4, created=None)
    assert Broadcast.objects.of_fleet(fleet.pk).get().order == broadcast.order


def test_a_playlist_item_refuses_a_key_it_does_not_name(fleet, make_media):
    with pytest.raises(TypeError, match=r"playlist_save\(\) got an unexpected keyword argument in items: 'position'"):
        playlist_save(fleet=fleet, name="Menu", items=[{"media": make_media(fleet), "position": 3}])
    assert not Playlist.objects.of_fleet(fleet.pk).exists()


@pytest.mark.parametrize(
    "service",
    [campaign_create, campaign_update, broadcast_save, data_feed_save, schedule_save, playlist_save,
     bulk_operation_create],
    ids=lambda service: service.__name__,
)  # fmt: skip
def test_the_old_values_dict_is_refused(service, fleet):
    arguments = {
        "campaign_create": {"fleet": fleet, "author": None},
        "campaign_update": {"ad": None},
        "broadcast_save": {"ad": None},
        "bulk_operation_create": {"fleet": fleet, "name": "Reboot", "operation_type": "REBOOT", "filter": {}},
    }.get(service.__name__, {"fleet": fleet})
    with pytest.raises(TypeError, match="'values'"):
        service(**arguments, values={"name": "Set whatever was validated"})
