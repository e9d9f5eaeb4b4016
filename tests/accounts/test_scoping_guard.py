"""Scoping fails closed (signage/scopes.py): in a request, a fleet-owned queryset runs only once scoped."""

import pytest
from django.apps import apps
from django.db.models import Count, Prefetch
from django.http import HttpResponse
from django.test import RequestFactory

from apps.accounts import scoping
from apps.accounts.models import Fleet, Role
from apps.screens.models import Screen, ScreenGroup
from signage.scopes import FleetGuardMiddleware, FleetManager, FleetOwned, UnscopedQuery, unscoped

pytestmark = pytest.mark.django_db


def in_request(read):
    """Run `read` as a view behind the guard's middleware, as every request is served; return its result."""
    results = []

    def view(request):
        results.append(read())
        return HttpResponse()

    FleetGuardMiddleware(view)(RequestFactory().get("/"))
    return results[0]


@pytest.fixture
def screens(fleet, other_fleet, make_screen):
    return make_screen(fleet, "Lobby"), make_screen(other_fleet, "Theirs")


@pytest.mark.parametrize(
    "evaluate",
    [list, len, bool, lambda qs: qs.count(), lambda qs: qs.exists(), lambda qs: qs.first(), lambda qs: qs.get(),
     lambda qs: list(qs.iterator()), lambda qs: qs.aggregate(n=Count("pk")), lambda qs: list(qs.values_list("pk")),
     lambda qs: qs.in_bulk()],
    ids=["list", "len", "bool", "count", "exists", "first", "get", "iterator", "aggregate", "values_list", "in_bulk"],
)  # fmt: skip
def test_an_unscoped_fleet_owned_queryset_raises_in_a_request(screens, evaluate):
    with pytest.raises(UnscopedQuery, match="Screen queryset was evaluated in a request without a fleet scope"):
        in_request(lambda: evaluate(Screen.objects.filter(name="Lobby")))


def test_a_scoped_queryset_runs_and_holds_only_the_users_fleets(screens, user):
    names = in_request(
        lambda: sorted(scoping.scope_queryset(Screen.objects.all(), user).values_list("name", flat=True))
    )
    assert names == ["Lobby"]


def test_who_sees_every_fleet_goes_through_the_same_helper(screens, django_user_model):
    boss = django_user_model.objects.create_superuser("boss", password="x")
    assert in_request(lambda: scoping.scope_queryset(Screen.objects.all(), boss).count()) == 2
    with pytest.raises(UnscopedQuery):
        in_request(lambda: Screen.objects.count())  # a superuser's request is checked like any other


def test_of_fleet_and_the_named_escape(screens, fleet):
    assert in_request(lambda: list(Screen.objects.of_fleet(fleet.pk).values_list("name", flat=True))) == ["Lobby"]
    assert in_request(lambda: Screen.objects.unscoped("a test reading every fleet").count()) == 2
    with unscoped("a block of cross-fleet reads"):
        assert Screen.objects.count() == 2
    assert in_request(lambda: _in_block()) == 2
    with pytest.raises(ValueError):
        Screen.objects.unscoped("")


def _in_block():
    with unscoped("a block inside a request"):
        return Screen.objects.count()


def test_reads_from_an_object_in_hand_need_no_scope(screens, fleet, user):
    lobby = screens[0]
    group = ScreenGroup.objects.create(fleet=fleet, name="Halls")
    lobby.groups.add(group)

    def read():
        screen = scoping.scope_queryset(Screen.objects.all(), user).prefetch_related(
            Prefetch("groups", queryset=ScreenGroup.objects.order_by("name"))
        )[0]
        return (
            screen.fleet.name,
            [g.name for g in screen.groups.all()],
            list(group.screens.all()),
            fleet.screens.count(),
        )

    assert in_request(read) == ("Paris Metro", ["Halls"], [lobby], 1)


def test_outside_requests_nothing_is_checked(screens):
    # Celery tasks, management commands and the shell run as the operator.
    assert Screen.objects.count() == 2


def test_an_eager_task_inside_a_request_runs_unchecked(screens):
    from signage.celery import app

    @app.task(name="tests.count_screens")
    def count_screens():
        return Screen.objects.count()

    assert in_request(lambda: count_screens.delay().get()) == 2
    with pytest.raises(UnscopedQuery):
        in_request(lambda: (count_screens.delay(), Screen.objects.count()))  # the check is back after the task


def test_the_api_scopes_through_the_mechanism(api, screens, make_member, fleet, other_fleet):
    """The four hand-scoped API views and the viewsets: another fleet's screen is a 404, not a 500."""
    theirs = screens[1]
    for path in (f"screens/{theirs.pk}/", f"screens/{theirs.pk}/loop/", f"screens/{theirs.pk}/remote_url/"):
        assert api.get(f"/api/management/v2/{path}").status_code == 404, path


def test_every_fleet_owned_model_is_checked():
    """A model that declares `fleet_lookup` gets the checking manager; a model that points to a fleet-owned
    model declares its own `fleet_lookup` (else its rows could be listed across fleets unchecked)."""
    through_tables = {"ads.BroadcastScreen"}  # read only through the scoped broadcasts and screens
    ours = [model for model in apps.get_models() if model.__module__.startswith("apps.")]
    for model in ours:
        label = model._meta.label
        if hasattr(model, "fleet_lookup"):
            assert issubclass(model, FleetOwned), f"{label} declares fleet_lookup: subclass signage.scopes.FleetOwned"
            assert isinstance(model._default_manager, FleetManager), f"{label}'s default manager must be a FleetManager"
            continue
        owners = [
            field.related_model
            for field in model._meta.get_fields()
            if field.concrete and field.is_relation and hasattr(field.related_model, "fleet_lookup")
        ]
        assert not owners or label in through_tables, f"{label} points to {owners}: declare fleet_lookup"


def test_role_scoping_still_cuts_by_role(screens, fleet, make_member):
    viewer = make_member(fleet, Role.VIEWER)
    assert (
        in_request(lambda: scoping.scope_queryset(Screen.objects.all(), viewer, frozenset({Role.ADMIN})).count()) == 0
    )
    assert in_request(lambda: list(scoping.fleets_of(viewer))) == [Fleet.objects.get(pk=fleet.pk)]


def test_a_related_manager_over_a_prefetched_cache_can_be_chained(screens, fleet, user):
    """A Prefetch with a queryset of its own caches rows on each object; chaining on the object's related
    manager afterwards (`.order_by()`, `.count()`) reads from the object in hand, not across fleets."""
    lobby = screens[0]
    lobby.groups.add(ScreenGroup.objects.create(fleet=fleet, name="Halls"))

    def read():
        screen = scoping.scope_queryset(Screen.objects.all(), user).prefetch_related(
            Prefetch("groups", queryset=ScreenGroup.objects.only("pk", "name"))
        )[0]
        return screen.groups.order_by("name").count()

    assert in_request(read) == 1
