from django.contrib.auth.models import AnonymousUser
from django.db import connection
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication, get_authorization_header
from rest_framework.permissions import BasePermission

from apps.accounts.models import Fleet
from apps.screens.models import Screen
from signage.audit import record_principal
from signage.scopes import unscoped_request

from . import lean
from .models import Device, token_hash

# What the protocol's views read of a device, its screen and fleet: the hottest query of the product loads
# these columns only (the rest of a row loads on first use, as Django defers it).
PROTOCOL_FIELDS = [
    "id", "uuid", "name", "fleet", "screen", "pairing_code", "pairing_expires_at", "is_locked", "lock_pin",
    "has_pending_commands", "playlist_etag", "content_ids", "license_key", "token_hash", "online",
    "settings_version", "settings_fetched", "created",
    "screen__id", "screen__name", "screen__fleet", "screen__online", "screen__active", "screen__timezone",
    "screen__opening_hours", "screen__schedule_mode", "screen__place", "fleet__id", "fleet__heartbeat_interval",
    "fleet__timezone",
]  # fmt: skip


_plans: dict = {}


def _plan():
    """The device-by-token query as SQL, and per column its model, attribute name and converters: built
    once per database vendor. Compiling the ORM query cost more than running it on every request."""
    plan = _plans.get(connection.vendor)
    if plan is not None:
        return plan
    quote = connection.ops.quote_name
    parts = [(Device, "d", []), (Screen, "s", []), (Fleet, "f", [])]
    for name in PROTOCOL_FIELDS:
        model, alias, names = parts[0] if "__" not in name else parts[1 if name.startswith("screen__") else 2]
        names.append(name.split("__")[-1])
    columns, layout = [], []
    for model, alias, names in parts:
        wanted = {model._meta.get_field(name) for name in names}
        # In the model's own field order: Model.from_db expects the values so.
        for field in [field for field in model._meta.concrete_fields if field in wanted]:
            column = field.get_col(alias)
            converters = connection.ops.get_db_converters(column) + column.get_db_converters(connection)
            columns.append(f"{alias}.{quote(field.column)}")
            layout.append((model, field.attname, column, converters))
    sql = (
        f"SELECT {', '.join(columns)} FROM {quote(Device._meta.db_table)} d"
        f" LEFT JOIN {quote(Screen._meta.db_table)} s ON s.{quote('id')} = d.{quote('screen_id')}"
        f" LEFT JOIN {quote(Fleet._meta.db_table)} f ON f.{quote('id')} = d.{quote('fleet_id')}"
        f" WHERE d.{quote('token_hash')} = %s"
    )
    plan = _plans[connection.vendor] = (sql, layout)
    return plan


def device_by_token_hash(hashed: str) -> Device | None:
    """The device with its screen and fleet (the protocol's columns only, like `.only()`), or None."""
    sql, layout = _plan()
    with connection.cursor() as cursor:
        cursor.execute(sql, [hashed])
        row = cursor.fetchone()
    if row is None:
        return None
    values: dict = {Device: {}, Screen: {}, Fleet: {}}
    for (model, attname, column, converters), value in zip(layout, row, strict=True):
        for converter in converters:
            value = converter(value, column, connection)
        values[model][attname] = value
    device = Device.from_db(connection.alias, list(values[Device]), list(values[Device].values()))
    for model, relation in ((Screen, "screen"), (Fleet, "fleet")):
        related = None
        if values[model]["id"] is not None:
            related = model.from_db(connection.alias, list(values[model]), list(values[model].values()))
        Device._meta.get_field(relation).set_cached_value(device, related)
    return device


class DeviceAuthentication(BaseAuthentication):
    """`Authorization: Device <token>`: the secret a player got when it registered. Players are principals
    of their own: this class is used only by the device protocol, and user tokens never reach it."""

    keyword = b"device"

    def authenticate(self, request):
        parts = get_authorization_header(request).split()
        if not parts or parts[0].lower() != self.keyword:
            return None
        if len(parts) != 2:
            raise exceptions.AuthenticationFailed("Invalid Authorization header: expected 'Device <token>'.")
        hashed = token_hash(parts[1].decode("latin-1"))
        generation = lean.generation(hashed)  # before the database: see lean.remember
        device = device_by_token_hash(hashed)
        if device is None:
            raise exceptions.AuthenticationFailed("Invalid device token.", code="invalid_device_token")
        device.lean_generation = generation
        record_principal(device=device.uuid)
        # A device is a principal of one fleet whose protocol reads only rows keyed by its own ids.
        unscoped_request("device protocol: reads keyed by the authenticated device")
        return AnonymousUser(), device

    def authenticate_header(self, request):
        return 'Device realm="player"'


class IsDevice(BasePermission):
    message = "A device token is required."

    def has_permission(self, request, view):
        return isinstance(request.auth, Device)


class IsPairedDevice(IsDevice):
    message = "This device is not paired with a screen yet."

    def has_permission(self, request, view):
        return super().has_permission(request, view) and request.auth.paired
