"""The one helper for every signed URL, so that one secret, one algorithm and one comparison guard them all.

- Tokens carry their values and expire after `max_age` seconds (a screen's remote page, a campaign's remote
  call): `token(purpose, **values)` / `token_values(token, purpose, max_age)`.
- Signatures sign a message the URL already carries in its query (a player's download: device, content,
  expiry): `signature(purpose, message)` / `signature_matches(purpose, message, given)`. The caller checks
  its own expiry field, which is part of the message.

A purpose is a salt: a value signed for one purpose never passes for another.
"""

from django.conf import settings
from django.core import signing
from django.utils.crypto import constant_time_compare


def _salt(purpose: str) -> str:
    return f"signage.{purpose}"


def token(purpose: str, **values) -> str:
    return signing.dumps(values, salt=_salt(purpose), compress=True)


def token_values(token: str, purpose: str, max_age: int) -> dict | None:
    """The values of a token signed for `purpose` and younger than `max_age` seconds, else None."""
    try:
        return signing.loads(token, salt=_salt(purpose), max_age=max_age)
    except signing.BadSignature:
        return None


def signature(purpose: str, message: str) -> str:
    return _signer(purpose).signature(message)


def signature_matches(purpose: str, message: str, given: str) -> bool:
    return constant_time_compare(given, signature(purpose, message))


# A Signer derives its key on creation: kept per purpose and secret key (players' downloads are a hot path).
_signers: dict[tuple[str, str], signing.Signer] = {}


def _signer(purpose: str) -> signing.Signer:
    key = (purpose, settings.SECRET_KEY)
    signer = _signers.get(key)
    if signer is None:
        signer = _signers[key] = signing.Signer(salt=_salt(purpose))
    return signer
