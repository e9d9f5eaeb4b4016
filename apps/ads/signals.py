from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from apps.accounts.content import fleet_content_changed

from .models import Ad, Broadcast


@receiver([post_save, post_delete], sender=Ad)
def ad_changed(sender, instance, **kwargs):
    fleet_content_changed(instance.fleet_id)


# Links to screens change only together with their broadcast's save or delete, which is signalled.
@receiver([post_save, post_delete], sender=Broadcast)
def broadcast_changed(sender, instance, **kwargs):
    fleet_content_changed(instance.ad.fleet_id if instance.ad_id else None)
