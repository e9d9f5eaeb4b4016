"""A per-fleet token that changes whenever anything that can change a screen's loop changes.

Players' playlists are cached per screen under this token, so an idle heartbeat answers "has_update"
from the cache without a database query. The apps that own such data (screens, media, campaigns) call
`fleet_content_changed` from signals on their own models; the token lives in the cache (Redis in
production), and a missing token just means "rebuild".
"""

import uuid

from django.core.cache import cache
from django.db import transaction


def _key(fleet_id) -> str:
    return f"fleet-content:{fleet_id}"


def fleet_content_token(fleet_id) -> str:
    token = cache.get(_key(fleet_id))
    if token is None:
        token = uuid.uuid4().hex
        cache.add(_key(fleet_id), token, None)
        token = cache.get(_key(fleet_id), token)
    return token


def fleet_content_changed(fleet_id) -> None:
    """Call when a fleet's content changed; takes effect when the transaction commits."""
    if fleet_id is not None:
        transaction.on_commit(lambda: cache.set(_key(fleet_id), uuid.uuid4().hex, None))
