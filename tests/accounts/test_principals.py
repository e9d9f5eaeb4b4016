"""The principal cache (apps/accounts/principals.py): a JWT request served from it runs no query for its
user or fleets, and every change to a user or a membership applies on the very next request."""

import uuid
from datetime import timedelta

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from apps.accounts import principals
from apps.accounts.models import Membership, Role
from tests.accounts.factories import FleetFactory
from tests.conftest import RUN_PREFIX
from tests.stats.conftest import STATS, Player, event

pytestmark = pytest.mark.django_db

DAY = (timezone.now() - timedelta(days=2)).replace(hour=0, minute=0, second=0, microsecond=0)
RANGE = {"started_at__gte": DAY.isoformat(), "started_at__lt": (DAY + timedelta(days=1)).isoformat()}
ACCOUNT_TABLES = ("auth_user", "accounts_membership", "accounts_fleet")


@pytest.fixture
def shared_cache(settings, redis_url):
    """The default cache on Redis (as in production), under this test's own keys."""
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": redis_url,
            "KEY_PREFIX": f"{RUN_PREFIX}-principals-{uuid.uuid4().hex[:8]}",
        }
    }
    settings.SIGNAGE_PRINCIPAL_CACHE_SECONDS = 60  # as in production (the suite's other tests run with 0)
    assert principals.enabled()


def plays(fleet, make_screen, make_media, count=3):
    player = Player(make_screen(fleet, f"Screen {uuid.uuid4().hex[:6]}", timezone="Europe/Paris"))
    media = make_media(fleet)
    assert player.post([event(media, DAY + timedelta(hours=h)) for h in range(count)]).json()["stored"] == count


def counted(api) -> int:
    response = api.get(f"{STATS}/aggregates/", RANGE)
    assert response.status_code == 200, response.content
    return response.json()["results"][0]["count"]


def account_queries(captured) -> list[str]:
    return [q["sql"] for q in captured.captured_queries if any(f'"{t}"' in q["sql"] for t in ACCOUNT_TABLES)]


def test_a_cached_principal_costs_no_query(shared_cache, api, fleet, make_screen, make_media):
    plays(fleet, make_screen, make_media)
    with CaptureQueriesContext(connection) as first:
        assert counted(api) == 3
    assert len(account_queries(first)) == 2  # the user, then their fleets: read once, then kept
    with CaptureQueriesContext(connection) as second:
        assert counted(api) == 3
        response = api.get(f"{STATS}/displays/", RANGE)
    assert response.status_code == 200 and len(response.json()["results"]) == 3
    assert account_queries(second) == []
    assert all("stats_" in q["sql"] for q in second.captured_queries if q["sql"].startswith("SELECT"))


def test_a_deactivated_user_is_refused_on_the_next_request(shared_cache, api, user, fleet, make_screen, make_media):
    plays(fleet, make_screen, make_media)
    assert counted(api) == 3
    user.is_active = False
    user.save()
    assert api.get(f"{STATS}/aggregates/", RANGE).status_code == 401
    user.is_active = True
    user.save()
    assert counted(api) == 3


def test_a_deleted_user_is_refused_on_the_next_request(shared_cache, api, user, fleet):
    assert api.get(f"{STATS}/aggregates/", RANGE).status_code == 200
    user.delete()
    assert api.get(f"{STATS}/aggregates/", RANGE).status_code == 401


def test_a_removed_membership_hides_the_fleet_on_the_next_request(shared_cache, api, user, fleet, make_screen,
                                                                  make_media):  # fmt: skip
    plays(fleet, make_screen, make_media)
    assert counted(api) == 3
    Membership.objects.unscoped("test").get(user=user, fleet=fleet).delete()
    assert counted(api) == 0
    assert api.get("/api/management/v2/fleets/").json()["results"] == []


def test_a_deleted_fleet_leaves_no_cached_fleet(shared_cache, api, user, fleet, make_screen, make_media):
    plays(fleet, make_screen, make_media)
    assert counted(api) == 3
    entry = cache.get(principals._keys(user.pk)[1])
    assert entry["fleets"] == [fleet.pk]
    fleet.delete()  # its memberships go with it
    assert counted(api) == 0
    assert cache.get(principals._keys(user.pk)[1])["fleets"] == []


def test_a_new_membership_shows_its_fleet_on_the_next_request(shared_cache, api, user, fleet, other_fleet,
                                                              make_screen, make_media):  # fmt: skip
    plays(other_fleet, make_screen, make_media, count=4)
    assert counted(api) == 0
    Membership.objects.create(user=user, fleet=other_fleet, role=Role.VIEWER)
    assert counted(api) == 4


def test_a_membership_given_to_someone_else_leaves_its_former_user(shared_cache, api, user, fleet, make_member,
                                                                   other_fleet, make_screen, make_media):  # fmt: skip
    plays(fleet, make_screen, make_media)
    assert counted(api) == 3
    someone = make_member(other_fleet, Role.VIEWER)
    membership = Membership.objects.unscoped("test").get(user=user, fleet=fleet)
    membership.user = someone
    membership.save()
    assert counted(api) == 0


def test_an_entry_read_before_a_change_is_never_used_after_it(shared_cache, api, user, fleet, make_screen,
                                                              make_media):  # fmt: skip
    plays(fleet, make_screen, make_media)
    assert counted(api) == 3
    entry_key = principals._keys(user.pk)[1]
    before = cache.get(entry_key)
    assert before["fleets"] == [fleet.pk]
    user.is_active = False
    user.save()
    # A request that read the database before the change writes its entry after it.
    cache.set(entry_key, before, 60)
    assert api.get(f"{STATS}/aggregates/", RANGE).status_code == 401


def test_the_commit_of_a_change_replaces_the_version_again(shared_cache, user, django_capture_on_commit_callbacks):
    version_key = principals._keys(user.pk)[0]
    with django_capture_on_commit_callbacks(execute=True):
        user.first_name = "Jim"
        user.save()
        at_change = cache.get(version_key)
        assert at_change is not None
    # A request between the change and its commit may read the old row under `at_change`: that version
    # is gone once the transaction commits.
    assert cache.get(version_key) not in (None, at_change)


def test_a_cached_user_is_a_whole_user(shared_cache, api, user):
    assert api.get(f"{STATS}/aggregates/", RANGE).status_code == 200
    from django.contrib.auth import get_user_model

    values = cache.get(principals._keys(user.pk)[1])["values"]
    cached = get_user_model().from_db("default", principals._fields(), values)
    assert (cached.pk, cached.username, cached.is_active) == (user.pk, "james", True)
    assert "password" not in principals._fields()
    assert cached.check_password("s3cret-pass")  # the hash is read when asked for, never cached


def test_those_who_see_every_fleet_get_new_fleets_at_once(shared_cache, client_for, django_user_model,
                                                          make_screen, make_media):  # fmt: skip
    admin = client_for(django_user_model.objects.create_superuser("root", password="s3cret-pass"))
    assert counted(admin) == 0
    plays(FleetFactory(), make_screen, make_media, count=2)
    assert counted(admin) == 2


def test_without_a_shared_cache_every_request_reads_the_database(settings, api, fleet):
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    settings.SIGNAGE_PRINCIPAL_CACHE_SECONDS = 60
    assert not principals.enabled()  # another process could not see this process's changes
    for _ in range(2):
        with CaptureQueriesContext(connection) as captured:
            assert api.get(f"{STATS}/aggregates/", RANGE).status_code == 200
        assert len(account_queries(captured)) == 2


def test_a_cached_user_writes_and_is_the_author_of_the_change(shared_cache, api, user, fleet, make_screen):
    from auditlog.models import LogEntry

    screen = make_screen(fleet, "Hall")
    assert api.get("/api/management/v2/me/").json()["principal"]["username"] == "james"
    with CaptureQueriesContext(connection) as captured:
        response = api.patch(f"/api/management/v2/screens/{screen.pk}/", {"name": "Renamed"}, format="json")
    assert response.status_code == 200
    assert not any('FROM "auth_user"' in q["sql"] for q in captured.captured_queries)  # the cached user
    entry = LogEntry.objects.get_for_object(screen).filter(action=LogEntry.Action.UPDATE).get()
    assert (entry.actor, entry.additional_data["door"]) == (user, "api")
    assert api.get("/api/management/v2/me/").json()["fleets"][0]["name"] == "Paris Metro"
