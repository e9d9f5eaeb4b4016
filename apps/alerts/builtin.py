"""The rules every fleet starts with (created with the fleet, and for existing fleets by a data
migration). The fleet admin can edit, pause or archive them; they are not created again."""

from django.conf import settings
from django.db import IntegrityError, transaction

ALERT_ROLES = ["admin", "technician"]


def builtin_definitions(heartbeat_interval: int) -> list[dict]:
    """Plain, already canonical rule values (also used by the data migration, on historical models)."""
    silent_ms = int(heartbeat_interval * settings.SIGNAGE_DEVICE_OFFLINE_FACTOR * 1000)
    action = {"emails": [], "roles": ALERT_ROLES, "webhook_url": None}
    always = {"interval": 60, "active_time_windows": []}
    return [
        {
            "builtin": "player_silent",
            "name": "Player silent",
            "description": "A player sent no heartbeat for 1.5 heartbeat intervals while its screen should be open.",
            "alert_type": "DEVICE",
            "conditions": {"ALIVE_AT": [">", silent_ms], "SCREEN_OPEN": True},
            "threshold": {"type": "percentage", "percentage": 0},
            "periodicity": always,
            "action": action,
        },
        {
            "builtin": "storage_low",
            "name": "Storage under 10 %",
            "description": "A player has less than 10 % of its storage free.",
            "alert_type": "DEVICE",
            "conditions": {"STORAGE_STATUS": ["<", 10]},
            "threshold": {"type": "percentage", "percentage": 0},
            "periodicity": {"interval": 900, "active_time_windows": []},
            "action": action,
        },
        {
            "builtin": "commands_failing",
            "name": "Commands failing",
            "description": "A command failed three times in an hour on a player.",
            "alert_type": "DEVICE",
            "conditions": {"FAILED_ACTIONS": [">=", 3, 3600 * 1000]},
            "threshold": {"type": "percentage", "percentage": 0},
            "periodicity": {"interval": 300, "active_time_windows": []},
            "action": action,
        },
        {
            "builtin": "share_of_voice_overflow",
            "name": "Share of voice overflow",
            "description": "The share-of-voice audit found campaigns that no longer fit their screens' allocations.",
            "alert_type": "SHARE_OF_VOICE",
            "conditions": {},
            "threshold": {"type": "percentage", "percentage": 0},
            "periodicity": {"interval": 900, "active_time_windows": []},
            "action": {"emails": [], "roles": ["admin"], "webhook_url": None},
        },
    ]


def builtin_rules_create(*, fleet, rule_model=None) -> int:
    """Create the fleet's missing built-in rules; returns how many were created (idempotent)."""
    from .models import AlertRule

    model = rule_model or AlertRule
    existing = set(model.objects.filter(fleet_id=fleet.pk).exclude(builtin="").values_list("builtin", flat=True))
    created = 0
    for definition in builtin_definitions(fleet.heartbeat_interval):
        if definition["builtin"] in existing:
            continue
        try:
            with transaction.atomic():
                model.objects.create(fleet_id=fleet.pk, filter={}, **definition)
                created += 1
        except IntegrityError:  # created meanwhile
            continue
    return created
