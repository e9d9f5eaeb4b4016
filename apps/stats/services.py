from apps.devices.models import Device
from apps.media.models import Media, parse_public_id

from .models import PlayEvent


def play_events_ingest(*, device: Device, events: list[dict]) -> int:
    """Store a batch of displays from a device; events already stored (same id) are skipped. Returns how
    many were new. Media are referenced by public id (`picture-12`); references to no media of the device's
    fleet stay empty."""
    wanted = {parsed[1] for parsed in (parse_public_id(event.get("media") or "") for event in events) if parsed}
    known = set(Media.objects.filter(pk__in=wanted, fleet_id=device.fleet_id).values_list("pk", flat=True))
    rows = []
    for event in events:
        parsed = parse_public_id(event.get("media") or "")
        rows.append(
            PlayEvent(
                id=event["id"],
                device=device,
                screen_id=device.screen_id,
                ad_id=event.get("ad"),
                broadcast_id=event.get("broadcast"),
                media_id=parsed[1] if parsed and parsed[1] in known else None,
                started_at=event["started_at"],
                duration=event["duration"],
            )
        )
    ids = [row.id for row in rows]
    before = set(PlayEvent.objects.filter(pk__in=ids).values_list("pk", flat=True))
    PlayEvent.objects.bulk_create([row for row in rows if row.id not in before], ignore_conflicts=True)
    return len(set(ids) - before)
