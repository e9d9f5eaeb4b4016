from django.db.models.signals import m2m_changed, post_delete, post_save
from django.dispatch import receiver

from apps.accounts.content import fleet_content_changed
from apps.screens.models import Screen

from .models import Ad, Broadcast, DataFeed
from .services import quota_check_membership


@receiver([post_save, post_delete], sender=Ad)
def ad_changed(sender, instance, **kwargs):
    fleet_content_changed(instance.fleet_id)


# Links to screens change only together with their broadcast's save or delete, which is signalled.
@receiver([post_save, post_delete], sender=Broadcast)
def broadcast_changed(sender, instance, **kwargs):
    fleet_content_changed(instance.ad.fleet_id if instance.ad_id else None)


@receiver(post_save, sender=DataFeed)
def data_feed_changed(sender, instance, update_fields=None, **kwargs):
    if update_fields:
        return  # refreshes (apps/ads/feeds.py) signal a change of value themselves
    fleet_content_changed(instance.fleet_id)


@receiver(m2m_changed, sender=Screen.groups.through)
def group_membership_changed(sender, instance, action, reverse, pk_set, **kwargs):
    """A screen joining a group takes on the group's share-of-voice campaigns: refused if they overflow."""
    if action != "post_add" or not pk_set:
        return
    quota_check_membership(group_ids=pk_set if not reverse else {instance.pk})
