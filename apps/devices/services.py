import contextlib
import json
import re
import secrets
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.db.models import Q
from django.urls import get_urlconf, reverse
from django.utils import timezone

from apps.accounts.models import DEFAULT_HEARTBEAT_INTERVAL, Fleet
from apps.ads.models import Ad, AdStatus, BroadcastScreen
from apps.ads.services import fleet_today
from apps.screens.models import Screen
from apps.screens.services import screens_set_online
from signage import kv, signed
from signage.arguments import UNCHANGED, Unchanged, given
from signage.bounds import is_ascii_digits
from signage.errors import DomainError, field_error

from . import records
from .models import (
    PAIRING_ALPHABET,
    TELEMETRY_FIELDS,
    CommandType,
    Device,
    DeviceCommand,
    DeviceConnectivity,
    jittered_interval,
    new_device_token,
    token_hash,
)
from .playlist import current_state
from .policies.services import devices_settings_changed
from .provisioning.services import provision_applied, provision_claim
from .screenshots.services import decode_data_url, screenshot_store
from .telemetry import HEARTBEATS, TelemetryReport, history_sql, telemetry_record

TELEMETRY = (*TELEMETRY_FIELDS, "app_version")
VERSION = re.compile(r"[0-9A-Za-z][0-9A-Za-z.+-]{0,49}")
INFO = ("model", "os_version", "app_version", "license_key", "serial_number")


# --- registration and pairing -------------------------------------------------------------------------


def _new_pairing_code(device: Device) -> None:
    """A fresh code, unique among unpaired devices (the column is unique; a clash just draws again)."""
    for _ in range(20):
        code = "".join(secrets.choice(PAIRING_ALPHABET) for _ in range(6))
        try:
            with transaction.atomic():
                Device.objects.filter(pk=device.pk).update(
                    pairing_code=code,
                    pairing_expires_at=timezone.now() + timedelta(seconds=settings.SIGNAGE_PAIRING_CODE_TTL),
                )
        except IntegrityError:
            continue
        device.refresh_from_db(fields=["pairing_code", "pairing_expires_at"])
        return
    raise RuntimeError("No free pairing code after 20 draws")  # 32^6 codes: does not happen


@transaction.atomic
def device_register(*, uuid: str, info: dict, device: Device | None) -> tuple[Device, str | None]:
    """Register a player, or update one that authenticated with its token.

    A new player gets its secret token (returned once, stored hashed) and a pairing code. A known uuid
    without its token is refused: the uuid alone never identifies a device. An unpaired player whose
    serial number a fleet allowing it has provisioned is paired at once (provisioning.provision_claim).
    """
    if device is not None and device.uuid != uuid:
        raise field_error("uuid", "This token belongs to another device.")
    raw_token = None
    if device is None:
        if Device.objects.unscoped("a player's uuid is unique across fleets").filter(uuid=uuid).exists():
            raise ValidationError(
                {
                    "uuid": ValidationError(
                        "This device is already registered: send its device token, or ask an "
                        "administrator to remove it so it can register again.",
                        code="registered",
                    )
                }
            )
        raw_token = new_device_token()
        device = Device(uuid=uuid, token_hash=token_hash(raw_token))
    for field in INFO:
        if field in info:
            setattr(device, field, info[field] or "")
    device.save()
    provision = provision_claim(device=device)
    if provision is not None:  # known by its serial number, and its fleet allows it: no pairing code
        device = device_pair(device=device, screen=provision.screen, name=provision.name,
                             barcode=provision.barcode, sticker=provision.sticker)  # fmt: skip
        provision_applied(provision=provision, device=device)
    if not device.paired and (device.pairing_code is None or device.pairing_expires_at <= timezone.now()):
        _new_pairing_code(device)
    return device, raw_token


def pairing_device(code: str) -> Device | None:
    """The unpaired device showing `code` now, if any."""
    normalized = (code or "").strip().upper()
    return (
        Device.objects.unscoped("an unpaired player, of no fleet yet, by the code it shows")
        .filter(pairing_code=normalized, screen__isnull=True, pairing_expires_at__gt=timezone.now())
        .first()
    )


@transaction.atomic
def device_pair(*, device: Device, screen: Screen, name: str = "", barcode: str = "", sticker: str = "") -> Device:
    """Attach a player to a screen (and its fleet); its pairing code stops working."""
    device = Device.objects.unscoped("the player being paired: of no fleet yet").select_for_update().get(pk=device.pk)
    if device.paired:
        raise field_error("pairing_code", "Unknown or expired pairing code.")
    device.screen, device.fleet = screen, screen.fleet
    device.name = name or device.name or screen.name
    device.barcode, device.sticker = barcode or device.barcode, sticker or device.sticker
    device.pairing_code, device.pairing_expires_at, device.paired_at = None, None, timezone.now()
    device.save()
    # its screen's orientation, resolution and time zone are among its settings
    devices_settings_changed(fleet_id=device.fleet_id, device_ids=[device.pk])
    return device


@transaction.atomic
def device_update(
    *,
    device: Device,
    name: str | Unchanged = UNCHANGED,
    screen: Screen | Unchanged | None = UNCHANGED,
    barcode: str | Unchanged = UNCHANGED,
    sticker: str | Unchanged = UNCHANGED,
) -> Device:
    """Rename a paired player, move it to another screen of its fleet (None: none), set its labels (only the
    fields given)."""
    values = given(name=name, screen=screen, barcode=barcode, sticker=sticker)
    if "screen" in values and values["screen"] is not None and values["screen"].fleet_id != device.fleet_id:
        raise field_error("screen", "This screen belongs to another fleet.")
    for field, value in values.items():
        setattr(device, field, value)
    device.save()
    if "screen" in values:
        devices_settings_changed(fleet_id=device.fleet_id, device_ids=[device.pk])
    return device


# --- heartbeat ------------------------------------------------------------------------------------------


def heartbeat_interval(device: Device) -> int:
    """The fleet's interval with a fixed jitter of up to ±10% per device, so a fleet that boots together
    does not poll in step."""
    fleet = device.fleet  # None without a query for a player of no fleet
    base = fleet.heartbeat_interval if fleet is not None else DEFAULT_HEARTBEAT_INTERVAL
    return jittered_interval(base, device.uuid)


def device_heartbeat(*, device: Device, telemetry: dict, results: list[dict]) -> dict:
    """Record a heartbeat. An idle device costs one UPDATE here (its authentication one SELECT); after a
    content change, the first heartbeat of a screen rebuilds its playlist state (a few queries, once)."""
    now = timezone.now()
    for item in results:  # before the pending flag is cleared: a bad result must not lose a command
        # An unknown or foreign command id in a heartbeat is ignored (the result endpoint says 400).
        with contextlib.suppress(ValidationError):
            command_result(device=device, command_id=item.get("id"), status=item.get("status"),
                           result=item.get("result"))  # fmt: skip
    pending = []
    if device.has_pending_commands:
        pending = _deliver_commands(device, now)
    changes = {field: telemetry[field] for field in TELEMETRY if field in telemetry}
    devices_record_seen(seen={device.pk: now}, telemetry={device.pk: changes} if changes else {})
    state = current_state(device.screen, now) if device.screen_id else None
    if state is not None:
        device_last_fetch(device)
    return {
        "status": "ok",
        "paired": device.paired,
        "has_update": state is not None and state["etag"] != device.playlist_etag,
        "is_locked": device.is_locked,
        "lock_pin": device.lock_pin or None,
        "has_pending_commands": bool(pending),
        "pending_commands": pending,
        "emergency_alerts": state["emergency_alerts"] if state else [],
        "app_update": None,
        "next_heartbeat_in": heartbeat_interval(device),
        "settings_version": device.settings_version,
        "has_new_settings": device.settings_version != device.settings_fetched,
    }


def _deliver_commands(device: Device, now) -> list[dict]:
    with transaction.atomic():
        commands = list(
            DeviceCommand.objects.select_for_update()
            .filter(device=device, delivered_at__isnull=True)
            .order_by("created_at")
        )
        DeviceCommand.objects.filter(pk__in=[command.pk for command in commands]).update(delivered_at=now)
        Device.objects.filter(pk=device.pk).update(has_pending_commands=False)
    return [{"id": str(command.pk), "type": command.type, "payload": command.payload} for command in commands]


# --- commands ---------------------------------------------------------------------------------------------


def _percent(payload: dict, key: str) -> dict:
    value = payload.get(key)
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 100:
        raise field_error("payload", f"'{key}' must be a whole number from 0 to 100.")
    return {key: value}


def clean_command(device: Device, kind: str, payload) -> dict:
    if kind not in CommandType.values:
        raise field_error("type", f"Unknown command '{kind}'. Valid: {', '.join(CommandType.values)}.")
    payload = payload or {}
    if not isinstance(payload, dict):
        raise field_error("payload", "Expected an object.")
    if kind == CommandType.SET_VOLUME:
        return _percent(payload, "volume")
    if kind == CommandType.SET_BRIGHTNESS:
        return _percent(payload, "brightness")
    if kind == CommandType.SET_APP_VERSION:
        version = payload.get("version")
        if not isinstance(version, str) or not VERSION.fullmatch(version) or set(payload) != {"version"}:
            raise field_error("payload", "Expected {\"version\": \"x.y.z\"} (digits, letters, '.', '-', '+').")
        return {"version": version}
    if kind == CommandType.PLAY_AD:
        ad_id = str(payload.get("ad", "")).rstrip("/").rsplit("/", 1)[-1]
        try:
            ad = Ad.objects.of_fleet(device.fleet_id).filter(pk=ad_id).first()
        except ValidationError:
            ad = None
        if ad is None:
            raise field_error("payload", "'ad' must be a campaign of this device's fleet.")
        return {"ad": str(ad.pk)}
    if payload:
        raise field_error("payload", f"The command '{kind}' takes no payload.")
    return {}


@transaction.atomic
def command_create(*, device: Device, kind: str, payload=None, author=None) -> DeviceCommand:
    """Queue a command; the device gets it on its next heartbeat."""
    return commands_queue(devices=[device], kind=kind, payload=clean_command(device, kind, payload), author=author)[0]


def commands_queue(*, devices: list[Device], kind: str, payload: dict, author=None) -> list[DeviceCommand]:
    """Queue one command (already cleaned) for each of `devices`, in their order: two queries whatever
    their number. Runs in the caller's transaction; the devices get them on their next heartbeat."""
    commands = DeviceCommand.objects.bulk_create(
        [DeviceCommand(device=device, type=kind, payload=payload, author=author) for device in devices]
    )
    Device.objects.filter(pk__in=[device.pk for device in devices]).update(has_pending_commands=True)
    records.forget([device.token_hash for device in devices])
    return commands


@transaction.atomic
def campaign_play_now(*, ad: Ad, screen_id: str, author=None) -> list[DeviceCommand]:
    """On-demand display: queue `play_ad` on the players of the screen. Only a campaign that is active,
    current in its fleet's today and broadcast on this screen plays (a 410 `gone` DomainError otherwise)."""
    on_screen = BroadcastScreen.objects.filter(broadcast__ad=ad, screen_id=screen_id).exists()
    if ad.status != AdStatus.ACTIVE or not ad.is_current(fleet_today(ad.fleet)) or not on_screen:
        raise DomainError({"detail": "This campaign does not play on this screen now.", "code": "gone"}, 410)
    devices = Device.objects.of_fleet(ad.fleet_id).filter(screen_id=screen_id)
    return [
        command_create(device=device, kind=CommandType.PLAY_AD, payload={"ad": str(ad.pk)}, author=author)
        for device in devices
    ]


def command_result(*, device: Device, command_id, status: str, result=None) -> DeviceCommand:
    """A device reports how a command went; the first report wins (idempotent)."""
    try:
        command = DeviceCommand.objects.get(pk=command_id, device=device)
    except (DeviceCommand.DoesNotExist, ValidationError, ValueError):
        raise field_error("id", "Unknown command.") from None
    if status not in ("succeeded", "failed"):
        raise field_error("status", "Expected 'succeeded' or 'failed'.")
    screenshot = command.type == CommandType.SCREENSHOT and isinstance(result, dict) and "image" in result
    if status == "succeeded" and screenshot and command.pending:  # the web player's data URL: stored, referred to
        screenshot_store(device=device, data=decode_data_url(result["image"]), command=command, field="result")
        command.refresh_from_db()
        return command
    now = timezone.now()
    column = "succeeded_at" if status == "succeeded" else "failed_at"
    DeviceCommand.objects.filter(pk=command.pk, succeeded_at__isnull=True, failed_at__isnull=True).update(
        **{column: now}, result=result, delivered_at=command.delivered_at or now
    )
    command.refresh_from_db()
    return command


@transaction.atomic
def device_lock(*, device: Device, pin: str | None, author=None) -> Device:
    if pin is not None and (not is_ascii_digits(pin) or not 4 <= len(pin) <= 8):
        raise field_error("pin", "The PIN is 4 to 8 digits.")
    device.is_locked, device.lock_pin = pin is not None, pin or ""
    device.save(update_fields=["is_locked", "lock_pin", "modified"])
    command_create(device=device, kind=CommandType.LOCK if pin is not None else CommandType.UNLOCK, author=author)
    return device


# --- playlist and downloads --------------------------------------------------------------------------------


def _download_message(device_id, media_id, expires: int) -> str:
    return f"{device_id}:{media_id}:{expires}"


def download_signature(device_id, media_id, expires: int) -> str:
    return signed.signature("device-download", _download_message(device_id, media_id, expires))


def download_signature_matches(device_id, media_id, expires: int, given: str) -> bool:
    return signed.signature_matches("device-download", _download_message(device_id, media_id, expires), given)


def download_url(device_id: int, content: dict, expires: int) -> str:
    path = _download_path().replace(PLACEHOLDER, content["content_id"])
    signature = download_signature(device_id, content["media_id"], expires)
    return f"{path}?device={device_id}&expires={expires}&signature={signature}"


PLACEHOLDER = "0content0"


def _download_path() -> str:
    """The download path with a placeholder for the content id: reversed once per URL configuration."""
    urlconf = get_urlconf()
    path = _download_paths.get(urlconf)
    if path is None:
        path = _download_paths[urlconf] = reverse("device-content-download", kwargs={"content_id": PLACEHOLDER})
    return path


_download_paths: dict = {}


def device_playlist(*, device: Device, build_url) -> tuple[dict, str]:
    """The playlist payload for a paired device (with its own signed download URLs) and its ETag."""
    device_last_fetch(device)
    state = current_state(device.screen)
    payload, needed = playlist_payload(
        device_id=device.pk,
        screen_id=device.screen_id,
        screen_name=device.screen.name,
        content_ids=device.content_ids,
        state=state,
        build_url=build_url,
    )
    if device.playlist_etag != state["etag"] or device.content_ids != needed:
        device_fetched(device_id=device.pk, token_hash=device.token_hash, etag=state["etag"], content_ids=needed)
        device.playlist_etag, device.content_ids = state["etag"], needed  # what lean.remember keeps
    return payload, state["etag"]


def device_last_fetch(device: Device) -> None:
    """Bring the device's playlist_etag and content_ids up to its last fetch, when the flush has not written
    it yet (device_fetched): what the full path compares and remembers."""
    pending = records.fetch_pending(device.pk)
    if pending is not None:
        device.playlist_etag, device.content_ids = pending


def device_fetched(*, device_id: int, token_hash: str, etag: str, content_ids: list[str]) -> None:
    """The one place where a player's playlist fetch is kept (the ETag it took, the media it was told to keep):
    with Redis, written behind (records.fetch_record, then devices_flush_fetches), so a fetch sends no SQL;
    without, one UPDATE."""
    if kv.client() is not None:
        records.fetch_record(device_id=device_id, token_hash=token_hash, etag=etag, content_ids=content_ids)
    else:
        Device.objects.filter(pk=device_id).update(playlist_etag=etag, content_ids=content_ids)


def devices_flush_fetches() -> int:
    """Write the buffered playlist fetches (records.FETCHED) to the devices' playlist_etag and content_ids: one
    UPDATE per FLUSH_BATCH devices. Runs with the heartbeats' flush: a Redis loss costs at most that interval
    of fetches (their players fetch once more, and may be told to delete a little less). Returns how many."""
    if kv.client() is None:
        return 0
    fetched = records.fetches_take()
    ids = sorted(fetched)
    table = Device._meta.db_table
    for start in range(0, len(ids), FLUSH_BATCH):
        batch = ids[start : start + FLUSH_BATCH]
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute(
                    f"""UPDATE {table} d SET playlist_etag = v.etag, content_ids = v.contents
                    FROM unnest(%s::bigint[], %s::text[], %s::jsonb[]) AS v(id, etag, contents) WHERE d.id = v.id""",
                    [batch, [fetched[pk][0] for pk in batch], [json.dumps(fetched[pk][1]) for pk in batch]],
                )
        else:
            for pk in batch:
                Device.objects.filter(pk=pk).update(playlist_etag=fetched[pk][0], content_ids=fetched[pk][1])
    return len(ids)


def playlist_payload(*, device_id, screen_id, screen_name, content_ids, state, build_url) -> tuple[dict, list]:
    """A player's playlist body from its screen's published state (with its own signed download URLs), and
    the media it is told to keep; the full view and the lean path (lean.playlist_full) answer with it."""
    expires = int(timezone.now().timestamp()) + settings.SIGNAGE_DOWNLOAD_URL_TTL
    urls = {content["media_id"]: build_url(download_url(device_id, content, expires)) for content in state["contents"]}
    needed = [content["content_id"] for content in state["contents"]]
    payload = {
        "playlist": {
            "id": str(screen_id),
            "name": screen_name,
            "transition": "none",
            "items": [
                {**item, "id": item["order"], "download_url": urls.get(item["media_id"])} for item in state["items"]
            ],
        },
        "content_to_download": [
            {**content, "download_url": urls[content["media_id"]]} for content in state["contents"]
        ],
        "content_to_delete": [content_id for content_id in content_ids if content_id not in needed],
        "emergency_alerts": state["emergency_alerts"],
        "etag": state["etag"],
        "valid_until": state["valid_until"],
        "show_watermark": False,
    }
    return payload, needed


def device_needs_media(device: Device, media_id: int) -> bool:
    if not device.screen_id:
        return False
    return any(content["media_id"] == media_id for content in current_state(device.screen)["contents"])


# --- connectivity ----------------------------------------------------------------------------------------------

FLUSH_BATCH = 5000  # devices per UPDATE statement


def connectivity_record(*, online: bool, at: dict) -> int:
    """The one place where players' online/offline changes are kept (device id -> when), for uptime and
    offline ranges. Called where the state flips: `devices_record_seen` (back online, also from the lean
    path's flush) and `devices_mark_offline`. One query for the fleets, one INSERT."""
    if not at:
        return 0
    fleets = dict(Device.objects.filter(pk__in=list(at)).values_list("pk", "fleet_id"))
    changes = [
        DeviceConnectivity(device_id=pk, fleet_id=fleets[pk], online=online, at=moment)
        for pk, moment in sorted(at.items())
        if pk in fleets
    ]
    DeviceConnectivity.objects.bulk_create(changes)
    return len(changes)


def devices_record_seen(*, seen: dict, telemetry: dict) -> list:
    """The one place where devices are recorded as seen (device id -> aware datetime) with the telemetry
    they reported (device id -> {field: value}, only the fields sent), and where devices come back
    online: their screens go online too. On PostgreSQL, one statement per batch of devices, their telemetry
    history with them. Returns the ids of the devices that came back online."""
    ids = sorted(seen)
    if connection.vendor != "postgresql":
        return _record_seen_portable(ids, seen, telemetry)
    return _record_heartbeats(
        json.dumps(
            [
                {"id": pk, "seen": seen[pk].timestamp(), "t": telemetry.get(pk, {})}
                for pk in ids[start : start + FLUSH_BATCH]
            ],
            default=str,
        )
        for start in range(0, len(ids), FLUSH_BATCH)
    )


def _record_heartbeats(batches) -> list:
    """`devices_record_seen` on PostgreSQL, for batches of heartbeats given as telemetry.HEARTBEATS' JSON (the
    text records.TAKE returns, as the flush takes it from Redis): one statement per batch writes the devices
    and their telemetry history (telemetry.history_sql: a few rows, only for values that changed)."""
    came_online = []
    for heartbeats in batches:
        with transaction.atomic():
            rows = _record_seen_postgresql(heartbeats)  # only the devices back online and the dark screens
            back = {pk: seen for pk, _, was_online, _, seen, _ in rows if not was_online}
            dark = {screen_id for _, screen_id, _, screen_online, _, _ in rows if screen_id and not screen_online}
            if dark:
                screens_set_online(screen_ids=dark, online=True, at=rows[0][5])  # the batch's latest heartbeat
            if back:
                connectivity_record(online=True, at=back)
            came_online += sorted(back)
    return came_online


_statements: dict[str, str] = {}


def _record_seen_postgresql(heartbeats: str) -> list:
    sql = _statements.get("seen")
    if sql is None:
        table, screens = Device._meta.db_table, Screen._meta.db_table
        assignments = []
        for name in TELEMETRY:
            column = Device._meta.get_field(name)
            kind = column.cast_db_type(connection)
            assignments.append(
                f"{column.column} = CASE WHEN v.t ? '{name}' THEN (v.t->>'{name}')::{kind} ELSE d.{column.column} END"
            )
        # NO KEY UPDATE: the rows are locked against other writers of these columns, not against inserts of
        # rows that reference the devices (commands, telemetry, screenshots), which need only a key share.
        sql = _statements["seen"] = f"""
            WITH v AS ({HEARTBEATS}),
            previous AS (
                SELECT d.id, d.online, s.online AS screen_online FROM {table} d JOIN v ON v.id = d.id
                LEFT JOIN {screens} s ON s.id = d.screen_id ORDER BY d.id FOR NO KEY UPDATE OF d
            ),
            updated AS (
                UPDATE {table} d SET last_seen_at = GREATEST(d.last_seen_at, v.at), online = true,
                    {", ".join(assignments)}
                FROM v JOIN previous p ON p.id = v.id
                WHERE d.id = v.id
                RETURNING d.id, d.screen_id, p.online, p.screen_online, v.at
            ),
            {history_sql("v")}
            SELECT u.*, (SELECT max(at) FROM v) FROM updated u
            WHERE NOT u.online OR (u.screen_id IS NOT NULL AND NOT u.screen_online)
            """
    with connection.cursor() as cursor:
        cursor.execute(sql, [heartbeats])
        return cursor.fetchall()


def _record_seen_portable(ids, seen, telemetry) -> list:
    came_online = []
    for start in range(0, len(ids), FLUSH_BATCH):
        batch = ids[start : start + FLUSH_BATCH]
        with transaction.atomic():
            rows = list(Device.objects.filter(pk__in=batch).values_list("pk", "screen_id", "online", "screen__online"))
            for pk, *_ in rows:
                Device.objects.filter(pk=pk).update(last_seen_at=seen[pk], online=True, **telemetry.get(pk, {}))
            back = [pk for pk, _, was_online, _ in rows if not was_online]
            dark = {screen_id for _, screen_id, _, screen_online in rows if screen_id and not screen_online}
            if dark:
                screens_set_online(screen_ids=dark, online=True, at=max(seen[pk] for pk in batch))
            if back:
                connectivity_record(online=True, at={pk: seen[pk] for pk in back})
            came_online += back
    telemetry_record(
        reports=[
            TelemetryReport(device_id=pk, at=seen[pk], values=values) for pk, values in telemetry.items() if pk in seen
        ]
    )
    return came_online


def devices_flush_heartbeats() -> int:
    """Write the heartbeats buffered by the lean path (last-seen and telemetry) to the database in bulk.
    Runs every SIGNAGE_HEARTBEAT_FLUSH_SECONDS: a Redis loss costs at most that much telemetry and
    last-seen, never a pairing, a command or proof of play (those are written through). Returns how many
    devices were written. Redis hands the buffers over as the JSON PostgreSQL takes (records.TAKE): no
    heartbeat is parsed here on PostgreSQL."""
    redis = kv.client()
    if redis is None:
        return 0
    devices, *batches = kv.run_script(records.TAKE, keys=kv.keys(records.SEEN, records.TELEMETRY), args=[FLUSH_BATCH])
    if connection.vendor == "postgresql":
        _record_heartbeats(batch.decode() for batch in batches)
        return devices
    seen, telemetry = {}, {}
    for batch in batches:
        for heartbeat in json.loads(batch):
            seen[heartbeat["id"]] = datetime.fromtimestamp(heartbeat["seen"], tz=UTC)
            if heartbeat["t"]:
                telemetry[heartbeat["id"]] = heartbeat["t"]
    devices_record_seen(seen=seen, telemetry=telemetry)
    return devices


def devices_mark_offline() -> tuple[int, int]:
    """Flip to offline the devices not seen for 1.5 heartbeat intervals of their fleet, then the screens
    left without an online device. Buffered heartbeats are flushed first, so nothing seen counts as
    silent. A few bulk UPDATEs, whatever the number of devices."""
    devices_flush_heartbeats()
    now = timezone.now()
    factor = settings.SIGNAGE_DEVICE_OFFLINE_FACTOR
    flipped = 0
    intervals = set(Fleet.objects.values_list("heartbeat_interval", flat=True)) | {DEFAULT_HEARTBEAT_INTERVAL}
    with transaction.atomic():
        for interval in intervals:
            late = now - timedelta(seconds=interval * factor)
            no_fleet = Q(fleet__isnull=True) if interval == DEFAULT_HEARTBEAT_INTERVAL else Q(pk__in=[])
            silent = Device.objects.filter(Q(fleet__heartbeat_interval=interval) | no_fleet, online=True)
            late_ones = silent.filter(last_seen_at__lt=late).order_by("pk").select_for_update(of=("self",), no_key=True)
            rows = list(late_ones.values_list("pk", "token_hash", "last_seen_at"))
            flipped += Device.objects.filter(pk__in=[pk for pk, _, _ in rows]).update(online=False)
            records.forget([hashed for _, hashed, _ in rows])  # their next heartbeat goes the full way: back online
            # Offline from the last sign of life, not from the moment the silence was noticed.
            connectivity_record(online=False, at={pk: last_seen or now for pk, _, last_seen in rows})
        dark = Screen.objects.filter(online=True).exclude(players__online=True).values("pk")
        screens = screens_set_online(screen_ids=dark, online=False, at=now)
    return flipped, screens
