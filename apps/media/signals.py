from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from apps.accounts.content import fleet_content_changed

from .models import Media


@receiver([post_save, post_delete], sender=Media)
def media_changed(sender, instance, **kwargs):
    fleet_content_changed(instance.fleet_id)
