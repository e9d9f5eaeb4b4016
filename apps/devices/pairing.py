"""Pairing a player with a screen by the code it shows: one rule for the API and the web form.

Wrong codes are counted per user and per client IP with django-ratelimit on the shared cache; past
SIGNAGE_PAIRING_ATTEMPTS a minute the next attempt is refused (429) before the code is even looked at, so
codes cannot be brute-forced. Successful pairings do not count.
"""

from django.conf import settings
from django.core.exceptions import ValidationError
from django_ratelimit.core import is_ratelimited

from . import services

GROUP = "signage.pairing"


class PairingThrottled(Exception):
    pass


def _limited(request, key: str, increment: bool) -> bool:
    return is_ratelimited(
        request, group=GROUP, key=key, rate=f"{settings.SIGNAGE_PAIRING_ATTEMPTS}/m", method="ALL", increment=increment
    )


def pair_with_code(request, *, pairing_code: str, screen, name: str = "", barcode: str = "", sticker: str = ""):
    """Pair the device showing `pairing_code` with `screen` (already checked to be one of the user's)."""
    keys = ("user", "ip")
    if any(_limited(request, key, increment=False) for key in keys):
        raise PairingThrottled()
    device = services.pairing_device(pairing_code)
    if device is None:
        for key in keys:
            _limited(request, key, increment=True)
        raise ValidationError({"pairing_code": ValidationError("Unknown or expired pairing code.", code="invalid")})
    return services.device_pair(device=device, screen=screen, name=name, barcode=barcode, sticker=sticker)
