from django.contrib.auth.models import AnonymousUser
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication, get_authorization_header
from rest_framework.permissions import BasePermission

from signage.audit import record_principal

from . import lean
from .models import Device, token_hash

# What the protocol's views read of a device, its screen and fleet: the hottest query of the product loads
# these columns only (the rest of a row loads on first use, as Django defers it).
PROTOCOL_FIELDS = [
    "id", "uuid", "name", "fleet", "screen", "pairing_code", "pairing_expires_at", "is_locked", "lock_pin",
    "has_pending_commands", "playlist_etag", "content_ids", "license_key", "token_hash", "online",
    "screen__id", "screen__name", "screen__fleet", "screen__online", "screen__active", "screen__timezone",
    "screen__opening_hours", "screen__schedule_mode", "screen__place", "fleet__id", "fleet__heartbeat_interval",
]  # fmt: skip


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
        devices = Device.objects.select_related("screen", "fleet").only(*PROTOCOL_FIELDS)
        device = devices.filter(token_hash=hashed).first()
        if device is None:
            raise exceptions.AuthenticationFailed("Invalid device token.", code="invalid_device_token")
        device.lean_generation = generation
        record_principal(device=device.uuid)
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
