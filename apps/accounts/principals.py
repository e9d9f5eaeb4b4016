"""Who a JWT's user is, and which fleets they belong to, kept a short while in the shared cache, so that an
authenticated API request runs no query of its own for them (simplejwt's user query, the statistics
API's fleet lookup): one cache round trip instead.

The API's authentication class (the setting names `CachedTokenAuthentication`, signage.api's own with its
user lookup going through here) and the statistics API's fleet lookup read it. Only on a cache every
process shares (Redis, as in production): a process's local memory would keep an
entry that another process's change cannot reach. Elsewhere every request reads the database, as before.

Changes take effect on the very next request. Each user has a version in the cache, a random token
replaced whenever the user or one of their memberships is saved or deleted (at the change, and again
once its transaction commits). An entry holds the version it was read under, the version is read before
the database, and an entry whose version is not the current one is never used: a request that read the
database just before a change cannot leave a stale entry behind. An entry lives at most
`SIGNAGE_PRINCIPAL_CACHE_SECONDS` (60; 0 turns the cache off), the bound for a change made without
signals (a queryset's `update()`, raw SQL).

What an entry holds: the user's fields but the password hash (deferred: read from the database if a
caller asks for it), and for users who see their own fleets only (not staff, not superusers), the ids of
those fleets once a request asked for them. Only active users are kept; simplejwt refuses the others.
"""

import uuid

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.cache import cache, caches
from django.core.cache.backends.redis import RedisCache
from django.db import DEFAULT_DB_ALIAS, transaction
from django.db.models.signals import post_delete, post_save, pre_save
from django.dispatch import receiver
from rest_framework_simplejwt.settings import api_settings

from signage.api.authentication import TokenAuthentication

from .models import Membership

VERSION_SECONDS = 7 * 86400  # far longer than an entry's life; a version gone is replaced, never reused
_ATTRIBUTE = "_signage_principal"


def enabled() -> bool:
    return bool(settings.SIGNAGE_PRINCIPAL_CACHE_SECONDS) and isinstance(caches["default"], RedisCache)


def _keys(user_id) -> tuple[str, str]:
    return f"principal:{user_id}:version", f"principal:{user_id}"


def _fields() -> list[str]:
    return [field.attname for field in get_user_model()._meta.concrete_fields if field.attname != "password"]


def token_user(validated_token, load):
    """The user of a validated JWT. From a current cache entry when there is one; else `load(token)`
    (simplejwt's `get_user`: the query, and its refusal of unknown and inactive users), then kept."""
    user_id = validated_token.get(api_settings.USER_ID_CLAIM)
    if not enabled() or user_id is None or api_settings.CHECK_REVOKE_TOKEN or api_settings.USER_ID_FIELD != "id":
        return load(validated_token)
    version_key, entry_key = _keys(user_id)
    found = cache.get_many([version_key, entry_key])
    version, entry = found.get(version_key), found.get(entry_key)
    fields = _fields()
    if version is not None and entry is not None and entry["version"] == version and entry["fields"] == fields:
        user = get_user_model().from_db(DEFAULT_DB_ALIAS, fields, entry["values"])
        setattr(user, _ATTRIBUTE, entry)
        return user
    user = load(validated_token)
    if version is None:
        version = uuid.uuid4().hex
        if not cache.add(version_key, version, VERSION_SECONDS):
            return user  # a change replaced the version meanwhile: keep nothing this time
    # (the field names too: an entry written by a release whose user model had other fields is not read)
    entry = {"version": version, "fields": fields, "values": [getattr(user, name) for name in fields], "fleets": None}
    cache.set(entry_key, entry, settings.SIGNAGE_PRINCIPAL_CACHE_SECONDS)
    setattr(user, _ATTRIBUTE, entry)
    return user


class CachedTokenAuthentication(TokenAuthentication):
    """The API's authentication (signage/api/authentication.py), a JWT's user read through this cache."""

    def jwt_user(self, validated):
        return token_user(validated, self.jwt.get_user)


def fleet_ids(user, load) -> list[int]:
    """The ids of the fleets of `user` (a user who sees their own fleets only): the cached ones of the
    user's entry, else `load()` (a query), then kept in the entry."""
    entry = getattr(user, _ATTRIBUTE, None)
    if entry is None or user.is_staff or user.is_superuser:
        return load()
    if entry["fleets"] is None:
        entry = {**entry, "fleets": list(load())}
        # Under the version read before the user's query, and so before this one: a change since has
        # replaced it, and the entry will not be used.
        cache.set(_keys(user.pk)[1], entry, settings.SIGNAGE_PRINCIPAL_CACHE_SECONDS)
        setattr(user, _ATTRIBUTE, entry)
    return list(entry["fleets"])


def forget(user_id) -> None:
    """Make every cache entry of the user stale: now (for this transaction's own later reads) and again
    when the transaction commits (for a request that read the database before the commit)."""
    if user_id is None or not enabled():
        return
    version_key = _keys(user_id)[0]
    cache.set(version_key, uuid.uuid4().hex, VERSION_SECONDS)
    transaction.on_commit(lambda: cache.set(version_key, uuid.uuid4().hex, VERSION_SECONDS))


@receiver(post_save, sender=settings.AUTH_USER_MODEL, dispatch_uid="principals-user-saved")
@receiver(post_delete, sender=settings.AUTH_USER_MODEL, dispatch_uid="principals-user-deleted")
def _user_changed(sender, instance, **kwargs):
    forget(instance.pk)


@receiver(pre_save, sender=Membership, dispatch_uid="principals-membership-moving")
def _membership_moving(sender, instance, **kwargs):
    # A membership given to another user: the user it leaves loses the fleet too.
    if instance.pk is not None and enabled():
        before = (
            Membership.objects.unscoped("the user a membership is taken from")
            .filter(pk=instance.pk)
            .values_list("user_id", flat=True)
            .first()
        )
        if before != instance.user_id:
            forget(before)


@receiver(post_save, sender=Membership, dispatch_uid="principals-membership-saved")
@receiver(post_delete, sender=Membership, dispatch_uid="principals-membership-deleted")
def _membership_changed(sender, instance, **kwargs):
    forget(instance.user_id)
