from django.utils import timezone

from .models import Device, new_device_token, token_hash


def seed(context: dict) -> None:
    """A player on each of the first demo screens, some seen recently, one never paired."""
    fleet, screens = context["fleet"], [screen for screen in context["screens"] if screen.active][:6]
    now = timezone.now()
    for index, screen in enumerate(screens):
        Device.objects.get_or_create(
            uuid=f"demo-player-{index + 1:02}",
            defaults={
                "name": f"Player {screen.name}",
                "fleet": fleet,
                "screen": screen,
                "token_hash": token_hash(new_device_token()),
                "paired_at": now,
                "model": "Xiaomi Mi Box S",
                "app_version": "2.0.0",
                "barcode": f"BC{index + 1:05}",
                "sticker": f"ST-{index + 1:03}",
                "online": index % 3 != 2,
                "last_seen_at": now,
                "storage_free_mb": 12000 - index * 1500,
                "temperature": 41.5 + index,
            },
        )
    Device.objects.get_or_create(
        uuid="demo-player-unpaired",
        defaults={
            "token_hash": token_hash(new_device_token()),
            "pairing_code": "DEMO23",
            "pairing_expires_at": now + timezone.timedelta(days=365),
            "model": "Generic Android box",
        },
    )
