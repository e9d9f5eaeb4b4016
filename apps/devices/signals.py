"""What the devices app must hear about: content changes (rebuild the affected playlists off the request
path) and changes that make a device's lean record stale (see records.py)."""

from django.db import transaction
from django.db.models.signals import post_delete, post_save, pre_delete, pre_save
from django.dispatch import receiver

from apps.accounts.content import content_changed
from apps.accounts.models import Fleet
from apps.media.models import Media
from apps.screens.models import Screen, ScreenType

from . import downloads, records
from .models import Device
from .playlist import name_publish, screens_mark
from .screenshots.models import Screenshot
from .screenshots.services import delete_files


@receiver(content_changed)
def rebuild_affected_playlists(sender, fleet_id, screen_ids, **kwargs):
    """Mark the screens a change affects (all of its fleet's when not known), among those with a player."""
    paired = Device.objects.of_fleet(fleet_id).filter(screen__isnull=False)
    if screen_ids is not None:
        paired = paired.filter(screen_id__in=screen_ids)
    screens_mark(paired.values_list("screen_id", flat=True).distinct())
    if screen_ids:  # a screen's own change may change its players' orientation, resolution or time zone
        from .tasks import refresh_screen_settings

        refresh_screen_settings.delay(fleet_id, [str(pk) for pk in screen_ids])


@receiver(post_save, sender=ScreenType)
def screen_type_changed(sender, instance, created, **kwargs):
    """A screen type's size is the resolution sent to the players of its screens (after commit)."""
    if not created:
        from .tasks import refresh_screen_type_settings

        fleet_id, screen_type_id = instance.fleet_id, instance.pk
        transaction.on_commit(lambda: refresh_screen_type_settings.delay(fleet_id, screen_type_id))


@receiver(pre_delete, sender=ScreenType)
def screen_type_deleted(sender, instance, **kwargs):
    """Its screens lose their type, and their players the resolution it gave (after commit)."""
    screen_ids = [str(pk) for pk in instance.screens.values_list("pk", flat=True)]
    if screen_ids:
        from .tasks import refresh_screen_settings

        fleet_id = instance.fleet_id
        transaction.on_commit(lambda: refresh_screen_settings.delay(fleet_id, screen_ids))


@receiver([post_save, post_delete], sender=Device)
def device_changed(sender, instance, **kwargs):
    records.forget([instance.token_hash])


@receiver([post_save, post_delete], sender=Media)
def media_changed(sender, instance, **kwargs):
    """A media's file may have changed or gone: its next download goes the full way (downloads.py)."""
    downloads.forget_file(instance.public_id)


@receiver(post_save, sender=Screen)
def screen_renamed(sender, instance, created, update_fields=None, **kwargs):
    """The lean full fetch reads a screen's name from Redis (playlist.name_key): kept after commit."""
    if (
        created
        or "name" in instance.get_deferred_fields()
        or (update_fields is not None and "name" not in update_fields)
    ):
        return
    pk, name = instance.pk, instance.name
    transaction.on_commit(lambda: name_publish(pk, name))


@receiver(pre_delete, sender=Screen)
def screen_deleted(sender, instance, **kwargs):
    records.forget(instance.players.values_list("token_hash", flat=True))


@receiver(pre_save, sender=Fleet)
def heartbeat_interval_changed(sender, instance, **kwargs):
    """The fleet in hand is being saved by someone allowed to: its own row and players are read by its id."""
    if instance.pk is None:
        return
    stored = Fleet.objects.of_fleet(instance.pk).exclude(heartbeat_interval=instance.heartbeat_interval)
    if stored.exists():
        records.forget(Device.objects.of_fleet(instance.pk).values_list("token_hash", flat=True))


@receiver(post_delete, sender=Screenshot)
def screenshot_deleted(sender, instance, **kwargs):
    """A screenshot's files go with its row (retention, a deleted player), once the deletion commits."""
    names = [instance.image.name, instance.thumbnail.name]
    transaction.on_commit(lambda: delete_files(names))
