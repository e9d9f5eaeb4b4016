"""Tags (reference 004 "Tag", "Device/Tag"): a tree per fleet, assigned to players; the device list filters
by tags (all of them, a tag meaning itself or any tag below it), policies, place and screen group."""

import pytest

from apps.devices.models import DeviceTag, Tag
from apps.devices.policies import services
from apps.screens.models import ScreenGroup

HOST = "http://testserver/api/management/v2"


def tag(fleet, name, parent=None, **values):
    return services.tag_create(fleet=fleet, name=name, parent=parent, **values)


def test_create_tree_and_refuse_cycles(api, fleet):
    response = api.post(f"{HOST}/tags/", {"name": "Europe", "color": "#1E90FF"}, format="json")
    assert response.status_code == 201, response.content
    europe = response.json()["id"]
    response = api.post(f"{HOST}/tags/", {"name": "Paris", "parent": europe}, format="json")
    assert response.status_code == 201 and response.json()["parent"] == f"{HOST}/tags/{europe}/"
    paris = response.json()["id"]
    response = api.patch(f"{HOST}/tags/{europe}/", {"parent": paris}, format="json")
    assert response.status_code == 400 and response.json()["parent"][0]["code"] == "cycle"
    response = api.patch(f"{HOST}/tags/{europe}/", {"parent": europe}, format="json")
    assert response.status_code == 400
    assert Tag.objects.get(pk=europe).parent is None
    # the same name twice under one parent (or at the root) is a 400, under another parent it is fine
    assert api.post(f"{HOST}/tags/", {"name": "Europe"}, format="json").status_code == 400
    assert api.post(f"{HOST}/tags/", {"name": "Paris", "parent": europe}, format="json").status_code == 400
    assert api.post(f"{HOST}/tags/", {"name": "Europe", "parent": europe}, format="json").status_code == 201
    assert api.get(f"{HOST}/tags/?root=true").json()["count"] == 1
    assert api.get(f"{HOST}/tags/?parent={europe}").json()["count"] == 2


@pytest.mark.parametrize("color", ["blue", "#12345", "#GGGGGG", "#1234567"])
def test_bad_colour_is_a_400(api, fleet, color):
    assert api.post(f"{HOST}/tags/", {"name": "X", "color": color}, format="json").status_code == 400
    assert not Tag.objects.exists()


def test_deleting_a_parent_keeps_children_at_the_root(api, fleet):
    europe = tag(fleet, "Europe")
    paris = tag(fleet, "Paris", europe)
    assert api.delete(f"{HOST}/tags/{europe.pk}/").status_code == 204
    paris.refresh_from_db()
    assert paris.parent is None


def test_assign_list_unassign(api, fleet, screen, make_device):
    device = make_device(screen)
    lobby = tag(fleet, "Lobby")
    url = f"{HOST}/devices/{device.pk}/tags/"
    assert api.post(url, {"tag": lobby.pk}, format="json").status_code == 201
    assert api.post(url, {"tag": f"{HOST}/tags/{lobby.pk}/"}, format="json").status_code == 201  # twice: one row
    assert DeviceTag.objects.count() == 1
    assert [row["name"] for row in api.get(url).json()["results"]] == ["Lobby"]
    assert api.get(f"{HOST}/devices/{device.pk}/").json()["tags"] == [f"{HOST}/tags/{lobby.pk}/"]
    assert api.delete(f"{url}{lobby.pk}/").status_code == 204
    assert not DeviceTag.objects.exists()


def test_tenancy(api, fleet, other_fleet, screen, make_screen, make_device):
    device = make_device(screen)
    theirs = make_device(make_screen(other_fleet, "Theirs"))
    foreign = tag(other_fleet, "Foreign")
    own = tag(fleet, "Own")
    response = api.post(f"{HOST}/devices/{device.pk}/tags/", {"tag": foreign.pk}, format="json")
    assert response.status_code == 400 and response.json()["tag"][0]["code"] == "does_not_exist"
    assert api.post(f"{HOST}/tags/", {"name": "Child", "parent": foreign.pk}, format="json").status_code == 400
    assert api.get(f"{HOST}/tags/{foreign.pk}/").status_code == 404
    assert api.delete(f"{HOST}/tags/{foreign.pk}/").status_code == 404
    assert api.post(f"{HOST}/devices/{theirs.pk}/tags/", {"tag": own.pk}, format="json").status_code == 404
    assert api.get(f"{HOST}/devices/?tags={foreign.pk}").status_code == 400
    assert api.get(f"{HOST}/devices/?policies=999999").status_code == 400
    assert not DeviceTag.objects.exists() and Tag.objects.filter(name="Child").count() == 0
    with pytest.raises(Exception, match="fleet"):
        services.tag_assign(tag=own, devices=[theirs])
    with pytest.raises(Exception, match="another fleet"):
        services.tag_create(fleet=fleet, name="Child", parent=foreign)


def names(response):
    assert response.status_code == 200, response.content
    return sorted(row["name"] for row in response.json()["results"])


def test_filters(api, fleet, screen, make_screen, make_place, make_device):
    place = make_place("Lyon", exclusive_fleet=fleet)
    group = ScreenGroup.objects.create(fleet=fleet, name="Windows")
    other_screen = make_screen(fleet, "Hall", place=place)
    other_screen.groups.add(group)
    europe, outdoor = tag(fleet, "Europe"), tag(fleet, "Outdoor")
    france = tag(fleet, "France", europe)
    paris = tag(fleet, "Paris", france)
    a, b, c, d = (make_device(s, name=n) for s, n in [(screen, "a"), (screen, "b"), (other_screen, "c"),
                                                        (other_screen, "d")])  # fmt: skip
    services.tag_assign(tag=paris, devices=[a, b])
    services.tag_assign(tag=europe, devices=[c])
    services.tag_assign(tag=outdoor, devices=[a, c, d])
    policy = services.policy_create(fleet=fleet, name="P")
    services.policy_assign(policy=policy, devices=[b, d])

    assert names(api.get(f"{HOST}/devices/?tags={europe.pk}")) == ["a", "b", "c"]  # below Europe too
    assert names(api.get(f"{HOST}/devices/?tags={france.pk}")) == ["a", "b"]
    assert names(api.get(f"{HOST}/devices/?tags={europe.pk},{outdoor.pk}")) == ["a", "c"]  # all of them
    assert names(api.get(f"{HOST}/devices/?tags={paris.pk},{outdoor.pk}")) == ["a"]
    assert names(api.get(f"{HOST}/devices/?policies={policy.pk}")) == ["b", "d"]
    assert names(api.get(f"{HOST}/devices/?has_policy=false")) == ["a", "c"]
    assert names(api.get(f"{HOST}/devices/?place={place.pk}")) == ["c", "d"]
    assert names(api.get(f"{HOST}/devices/?screen_group={group.pk}&tags={outdoor.pk}")) == ["c", "d"]
    for bad in (
        "tags=x",
        "tags=,",
        "tags=%C2%B2",
        "tags=99999999999999999999",
        "has_policy=maybe",
        "tags=" + ",".join(["1"] * 101),
    ):
        assert api.get(f"{HOST}/devices/?{bad}").status_code == 400, bad


@pytest.mark.parametrize("size", [3, 30])
def test_device_list_queries_with_tag_and_policy_filters(api, fleet, screen, make_devices, size,
                                                         django_assert_num_queries):  # fmt: skip
    from apps.devices.models import Device

    make_devices(screen, size)
    devices = list(Device.objects.all())
    europe = tag(fleet, "Europe")
    paris = tag(fleet, "Paris", europe)
    services.tag_assign(tag=paris, devices=devices)
    policy = services.policy_create(fleet=fleet, name="P")
    services.policy_assign(policy=policy, devices=devices, priority=4)
    url = f"{HOST}/devices/?tags={europe.pk}&policies={policy.pk}&limit=1000"
    api.get(url)  # warm the principal's caches
    # auth + throttles aside: tags lookup, tag tree, policies lookup, count, page, tags and policies prefetch
    with django_assert_num_queries(QUERIES):
        response = api.get(url)
    assert response.json()["count"] == size
    assert all(row["policies"][0]["priority"] == 4 and row["tags"] for row in response.json()["results"])


QUERIES = 8
