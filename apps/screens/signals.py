from django.db.models.signals import m2m_changed, post_delete, post_save
from django.dispatch import receiver

from apps.accounts.content import fleet_content_changed

from .models import Screen


@receiver([post_save, post_delete], sender=Screen)
def screen_changed(sender, instance, **kwargs):
    update_fields = kwargs.get("update_fields")
    if update_fields and set(update_fields) <= {"online", "online_modified_date", "last_seen_at"}:
        return  # connectivity is not content
    fleet_content_changed(instance.fleet_id, [instance.pk])


@receiver(m2m_changed, sender=Screen.groups.through)
def screen_groups_changed(sender, instance, **kwargs):
    if isinstance(instance, Screen):
        fleet_content_changed(instance.fleet_id, [instance.pk])
    else:  # a group's screens changed
        fleet_content_changed(getattr(instance, "fleet_id", None), kwargs.get("pk_set"))
