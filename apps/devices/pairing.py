"""Pairing a player with a screen by the code it shows: one rule for the API and the web form.

Wrong codes are counted per user and per client IP with django-ratelimit on the shared cache; past
SIGNAGE_PAIRING_ATTEMPTS a minute the next attempt is refused (429) before the code is even looked at, so
codes cannot be brute-forced. Successful pairings do not count.
"""

from django.conf import settings
from django.core.exceptions import ValidationError
from django_ratelimit import ALL
from django_ratelimit.core import get_usage

from . import services

GROUP = "signage.pairing"


class PairingThrottled(Exception):
    pass


def _usage(request, key: str, increment: bool) -> dict:
    rate = f"{settings.SIGNAGE_PAIRING_ATTEMPTS}/m"
    return get_usage(request, group=GROUP, key=key, rate=rate, method=ALL, increment=increment)


def _exhausted(request, key: str) -> bool:
    """Whether this user or address already used up its wrong codes for the minute (count, not counting)."""
    usage = _usage(request, key, increment=False)
    return usage["count"] >= usage["limit"]


def pair_with_code(request, *, pairing_code: str, screen, name: str = "", barcode: str = "", sticker: str = ""):
    """Pair the device showing `pairing_code` with `screen` (already checked to be one of the user's)."""
    keys = ("user", "ip")
    if any(_exhausted(request, key) for key in keys):
        raise PairingThrottled()
    device = services.pairing_device(pairing_code)
    if device is None:
        for key in keys:
            _usage(request, key, increment=True)
        raise ValidationError({"pairing_code": ValidationError("Unknown or expired pairing code.", code="invalid")})
    return services.device_pair(device=device, screen=screen, name=name, barcode=barcode, sticker=sticker)
