"""The permission table against every route of the management API's router: every role, every method,
an object of the member's fleet and one of another fleet. A route added without a rule in
apps/accounts/permissions.py fails `test_every_route_has_a_rule`."""

import re
import secrets

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from apps.accounts import permissions
from apps.accounts.models import Role
from signage.api_urls import router
from tests.media import files

API = "http://testserver/api/management/v2"


def routes():
    found = []
    for prefix, viewset, _ in router.registry:
        for route in router.get_routes(viewset):
            for method, action in route.mapping.items():
                if hasattr(viewset, action) and method in viewset.http_method_names:
                    found.append((prefix, viewset, method, action, route.detail))
    return found


ROUTES = routes()


def route_id(route):
    prefix, _, method, action, _ = route
    return f"{prefix}-{method}-{action}"


@pytest.mark.parametrize("route", ROUTES, ids=route_id)
def test_every_route_has_a_rule(route):
    _, viewset, method, action, _ = route
    resource = permissions.resource_of(viewset.queryset.model)
    table_action = permissions.VIEWSET_ACTIONS.get(action, action)
    assert permissions.has_rule(resource, table_action), f"no rule for {resource} {table_action}"
    if method == "get":  # reads are checked by fleet membership only: the table must give them to every role
        assert permissions.roles_for(resource, table_action) == permissions.EVERYONE


def fleet_url(fleet):
    return f"{API}/fleets/{fleet.pk}/"


def build(prefix, fleet, make_screen, make_media, make_place):
    """An object of the resource in `fleet`, and its detail URL."""
    from apps.ads.models import Ad, Broadcast
    from apps.devices.models import Device, token_hash
    from apps.screens.models import ScreenGroup, ScreenType

    if prefix == "fleets":
        return fleet, f"{API}/fleets/{fleet.pk}/"
    if prefix == "places":
        place = make_place(f"Town {fleet.pk}", exclusive_fleet=fleet, street_number=str(fleet.pk))
        return place, f"{API}/places/{place.pk}/"
    if prefix == "screens":
        screen = make_screen(fleet, "Matrix")
        return screen, f"{API}/screens/{screen.pk}/"
    if prefix == "screen_groups":
        group = ScreenGroup.objects.create(fleet=fleet, name="Matrix")
        return group, f"{API}/screen_groups/{group.pk}/"
    if prefix == "screen_types":
        kind = ScreenType.objects.create(fleet=fleet, name="Matrix", width=1, height=1)
        return kind, f"{API}/screen_types/{kind.pk}/"
    if prefix == "medias":
        media = make_media(fleet, name="matrix")
        return media, f"{API}/medias/{media.public_id}/"
    if prefix in ("playlists", "schedules"):
        from apps.ads.models import Playlist, Schedule

        playlist = Playlist.objects.create(fleet=fleet, name="Matrix")
        if prefix == "playlists":
            return playlist, f"{API}/playlists/{playlist.pk}/"
        schedule = Schedule.objects.create(fleet=fleet, playlist=playlist, target_type="all_screens")
        return schedule, f"{API}/schedules/{schedule.pk}/"
    if prefix == "feeds":
        from apps.ads.models import DataFeed

        feed = DataFeed.objects.create(fleet=fleet, name="Matrix", source_url="https://example.com/matrix.json")
        return feed, f"{API}/feeds/{feed.pk}/"
    if prefix in ("ads", "broadcasts"):
        ad = Ad.objects.create(fleet=fleet, name="Matrix", campaign_startdate=timezone.now().date())
        if prefix == "ads":
            return ad, f"{API}/ads/{ad.pk}/"
        broadcast = Broadcast.objects.create(ad=ad, media=make_media(fleet, name="matrix"))
        return broadcast, f"{API}/broadcasts/{broadcast.pk}/"
    if prefix == "devices/provisioning":
        from apps.devices.models import Provision

        provision = Provision.objects.create(fleet=fleet, serial_number="MATRIX-1", screen=make_screen(fleet, "Matrix"))
        return provision, f"{API}/devices/provisioning/{provision.pk}/"
    if prefix == "devices":
        screen = make_screen(fleet, "Matrix")
        device = Device.objects.create(
            uuid=f"matrix-{fleet.pk}", token_hash=token_hash(secrets.token_hex(8)), fleet=fleet, screen=screen
        )
        return device, f"{API}/devices/{device.pk}/"
    if prefix == "tags":
        from apps.devices.models import Tag

        tag = Tag.objects.create(fleet=fleet, name="Matrix")
        return tag, f"{API}/tags/{tag.pk}/"
    if prefix == "policies":
        from apps.devices.models import Policy

        policy = Policy.objects.create(fleet=fleet, name="Matrix")
        return policy, f"{API}/policies/{policy.pk}/"
    if prefix in ("alert_rules", "alerts"):
        from apps.alerts.models import Alert, AlertDevice, AlertRule

        rule = AlertRule.objects.filter(fleet=fleet).first()  # a built-in rule
        if prefix == "alert_rules":
            return rule, f"{API}/alert_rules/{rule.pk}/"
        device = build("devices", fleet, make_screen, make_media, make_place)[0]
        alert = Alert.objects.create(fleet=fleet, rule=rule, name="Matrix", latest_change_at=timezone.now())
        AlertDevice.objects.create(alert=alert, device=device)
        return alert, f"{API}/alerts/{alert.pk}/"
    if prefix == "bulk_operations":
        from apps.devices.bulk.models import BulkOperation

        operation = BulkOperation.objects.create(fleet=fleet, name="Matrix", operation_type="REBOOT", filter={})
        return operation, f"{API}/bulk_operations/{operation.pk}/"
    raise AssertionError(f"no object for {prefix}: add one here")


def creation(prefix, action, fleet, make_screen, make_media, player, httpserver=None):
    """A valid request body for a list route's POST, so that only the role decides."""
    from apps.ads.models import Ad

    if prefix == "playlists":
        return {"name": "New", "fleet": fleet_url(fleet), "items": [{"media": make_media(fleet).public_id}]}
    if prefix == "schedules":
        from apps.ads.models import Playlist

        playlist = Playlist.objects.create(fleet=fleet, name="For a schedule")
        return {"fleet": fleet_url(fleet), "playlist": f"{API}/playlists/{playlist.pk}/", "target_type": "all_screens"}
    if prefix == "feeds":  # a data feed is fetched when it is created: a real local server answers
        httpserver.expect_request("/matrix.json").respond_with_json({"t": 1})
        return {"name": "New", "fleet": fleet_url(fleet), "source_url": httpserver.url_for("/matrix.json")}
    if prefix == "places":
        return {"street_number": "3", "address": "Rue", "postalcode": "75001", "city": "Paris",
                "exclusive_fleet": fleet.pk}  # fmt: skip
    if prefix == "screens":
        return {"name": "New", "fleet": fleet_url(fleet)}
    if prefix == "screen_groups":
        return {"name": "New", "fleet": fleet_url(fleet)}
    if prefix == "screen_types":
        return {"name": "New", "fleet": fleet_url(fleet), "width": 10, "height": 10}
    if prefix == "medias":
        upload = SimpleUploadedFile("new.jpg", files.picture())
        return {"file": upload, "fleet": fleet_url(fleet), "display_time": 5, "__multipart__": True}
    if prefix == "ads":
        return {"name": "New", "fleet": fleet_url(fleet), "campaign_startdate": str(timezone.now().date())}
    if prefix == "broadcasts":
        ad = Ad.objects.create(fleet=fleet, name="For a broadcast", campaign_startdate=timezone.now().date())
        media = make_media(fleet, name="for-broadcast")
        screen = make_screen(fleet, "For a broadcast")
        return {"ad": f"{API}/ads/{ad.pk}/", "media": f"{API}/medias/{media.public_id}/",
                "screens": [f"{API}/screens/{screen.pk}/"]}  # fmt: skip
    if prefix == "alert_rules":
        return {"name": "New", "fleet": fleet.pk, "conditions": {"VOLUME": ["<", 5]}}
    if prefix in ("tags", "policies"):
        return {"name": "New", "fleet": fleet.pk}
    if prefix == "devices/provisioning":
        return {"serial_number": "NEW-1", "screen": f"{API}/screens/{make_screen(fleet, 'To provision').pk}/",
                "fleet": fleet_url(fleet)}  # fmt: skip
    if prefix == "devices" and action == "pair":
        code = player(f"pair-{secrets.token_hex(3)}").registration["pairing_code"]
        return {"pairing_code": code, "screen": f"{API}/screens/{make_screen(fleet, 'To pair').pk}/"}
    if prefix == "bulk_operations":
        return {"name": "New", "fleet": fleet_url(fleet), "operation_type": "REBOOT", "filter": {}}
    raise AssertionError(f"no creation payload for {prefix} {action}: add one here")


def send(client, method, url, body=None):
    if body and body.pop("__multipart__", False):
        return client.post(url, body, format="multipart")
    return getattr(client, method)(url, body or {}, format="json")


# Values for the named groups of actions routed under a pattern (devices/{id}/telemetry/{type}/).
PATH_SAMPLES = {"type": "VOLUME", "tag_id": "1", "policy_id": "1"}


def action_url(base, action, detail, viewset=None):
    if action in permissions.VIEWSET_ACTIONS:
        return base
    # An action mapped onto another's route (`@tags.mapping.post`) is served at that route's path.
    owner = next((extra for extra in viewset.get_extra_actions() if action in extra.mapping.values()), None)
    path = owner.url_path if owner else action
    path = re.sub(r"\(\?P<(\w+)>[^)]*\)", lambda match: PATH_SAMPLES[match[1]], path)
    return f"{base}{path}/"


@pytest.mark.django_db
@pytest.mark.parametrize("role", Role.values)
@pytest.mark.parametrize("route", ROUTES, ids=route_id)
def test_role_matrix(route, role, fleet, other_fleet, make_member, client_for, make_screen, make_media, make_place,
                     player, httpserver, settings):  # fmt: skip
    from apps.accounts.services import default_external_storage

    prefix, viewset, method, action, detail = route
    fleet.external_storage = default_external_storage(fleet)
    fleet.save()
    client = client_for(make_member(fleet, role))
    resource = permissions.resource_of(viewset.queryset.model)
    allowed = permissions.allows(role, resource, permissions.VIEWSET_ACTIONS.get(action, action))

    if detail:
        _, url = build(prefix, fleet, make_screen, make_media, make_place)
        _, foreign = build(prefix, other_fleet, make_screen, make_media, make_place)
        response = send(client, method, action_url(url, action, detail, viewset))
        assert send(client, method, action_url(foreign, action, detail, viewset)).status_code == 404
    else:
        url = action_url(f"{API}/{prefix}/", action, detail, viewset)
        settings.SIGNAGE_MEDIA_FETCH_ALLOW_PRIVATE = True
        body = (
            creation(prefix, action, fleet, make_screen, make_media, player, httpserver) if method == "post" else None
        )
        response = send(client, method, url, body)
    if allowed:
        assert response.status_code not in (403, 404), (response.status_code, response.content)
    else:
        assert response.status_code == 403, (response.status_code, response.content)
