"""Pairing a player with a screen by the code it shows: one rule for the API and the web form.

Attempts are counted per user and per client IP with django-ratelimit on the shared cache, before the code
is looked at (so requests sent at the same moment cannot slip past the count); past
SIGNAGE_PAIRING_ATTEMPTS a minute the next attempt is refused (429), so codes cannot be brute-forced. A
technician reads each code off a screen: five a minute is far above honest use.
"""

from django.conf import settings
from django.core.exceptions import ValidationError
from django_ratelimit import ALL
from django_ratelimit.core import get_usage

from . import services

GROUP = "signage.pairing"


class PairingThrottled(Exception):
    pass


def _over_limit(request, key: str) -> bool:
    rate = f"{settings.SIGNAGE_PAIRING_ATTEMPTS}/m"
    usage = get_usage(request, group=GROUP, key=key, rate=rate, method=ALL, increment=True)
    return usage["should_limit"]


def pair_with_code(request, *, pairing_code: str, screen, name: str = "", barcode: str = "", sticker: str = ""):
    """Pair the device showing `pairing_code` with `screen` (already checked to be one of the user's)."""
    over = [_over_limit(request, key) for key in ("user", "ip")]  # both counted, whatever the first says
    if any(over):
        raise PairingThrottled()
    device = services.pairing_device(pairing_code)
    if device is None:
        raise ValidationError({"pairing_code": ValidationError("Unknown or expired pairing code.", code="invalid")})
    return services.device_pair(device=device, screen=screen, name=name, barcode=barcode, sticker=sticker)
