"""The console's view of a screen's loop: what plays at an instant, and when that next changes."""

from datetime import datetime, timedelta

from .loop import build_loop, candidates_for_screens, local_time, screen_state

STEP = timedelta(minutes=5)
HORIZON = timedelta(hours=48)


def _signature(entries) -> tuple:
    return tuple((entry.broadcast_id, entry.media_id, entry.duration) for entry in entries)


def loop_and_next_change(screen, at: datetime, horizon: timedelta = HORIZON) -> tuple[list, datetime | None]:
    """The loop at `at`, and the first minute within `horizon` at which it is different (None if it does
    not change). One query phase; the pure builder is then run every 5 minutes and, at a change, every
    minute of the last step."""
    state = screen_state(screen)
    first_day, last_day = local_time(state, at).date(), local_time(state, at + horizon).date()
    candidates = candidates_for_screens([screen.pk], first_day - timedelta(days=1), last_day + timedelta(days=1))
    candidates = candidates[str(screen.pk)]
    entries = build_loop(state, at, candidates)
    current = _signature(entries)
    start = at.replace(second=0, microsecond=0)
    moment = start + STEP - timedelta(minutes=start.minute % 5)
    while moment <= at + horizon:
        if _signature(build_loop(state, moment, candidates)) != current:
            minute = moment - STEP + timedelta(minutes=1)
            while minute < moment and _signature(build_loop(state, max(minute, at), candidates)) == current:
                minute += timedelta(minutes=1)
            return entries, max(minute, at)
        moment += STEP
    return entries, None
