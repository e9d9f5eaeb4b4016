"""Signed, expiring tokens for remote URLs (a screen's remote page, a campaign's remote call), shared by
the apps that make them and the apps that serve them."""

from django.conf import settings
from django.core import signing

SALT = "signage.remote"


def remote_token(kind: str, **values) -> str:
    return signing.dumps({"k": kind, **values}, salt=SALT, compress=True)


def read_remote_token(token: str, kind: str) -> dict | None:
    try:
        values = signing.loads(token, salt=SALT, max_age=settings.SIGNAGE_REMOTE_URL_MAX_AGE)
    except signing.BadSignature:
        return None
    return values if values.get("k") == kind else None
