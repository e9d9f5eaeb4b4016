"""Announcing that what screens play may have changed.

The apps that own such data (screens, media, campaigns) call `fleet_content_changed` from signals on
their own models. Once the transaction commits, `content_changed` is sent with the fleet and, when the
change concerns known screens only, their ids; the devices app (to the right of every content app)
listens and rebuilds the affected screens' playlist states off the request path.
"""

from django.db import transaction
from django.dispatch import Signal

# Sent after commit with `fleet_id` and `screen_ids` (None: every screen of the fleet may be affected).
content_changed = Signal()


def fleet_content_changed(fleet_id, screen_ids=None) -> None:
    """Call when a fleet's content changed; takes effect when the transaction commits."""
    if fleet_id is not None:
        ids = None if screen_ids is None else list(screen_ids)
        transaction.on_commit(lambda: content_changed.send(sender=None, fleet_id=fleet_id, screen_ids=ids))
