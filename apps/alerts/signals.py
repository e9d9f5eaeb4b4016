from django.db.models.signals import post_save
from django.dispatch import receiver

from apps.accounts.models import Fleet

from .builtin import builtin_rules_create


@receiver(post_save, sender=Fleet, dispatch_uid="alerts-builtin-rules")
def fleet_created(sender, instance: Fleet, created: bool, raw: bool = False, **kwargs) -> None:
    """A new fleet starts with the built-in rules."""
    if created and not raw:
        builtin_rules_create(fleet=instance)
