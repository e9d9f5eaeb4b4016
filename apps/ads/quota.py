"""The share-of-voice quota engine (SPEC section 6.2): pure, data in, overflows out.

On every screen and every day of a campaign's span, the display durations of the share-of-voice
campaigns of one advertiser type that play there that day must fit in the screen's allocated time for
that type. The engine does not walk every day: it cuts the span at the dates where the set of campaigns
changes (a start, the day after an end) and evaluates each stretch once, or, when sliding campaigns
(one screen a day, in turn) are in it, for one full cycle of their rotation at most.
"""

from dataclasses import dataclass, field
from datetime import date, timedelta
from math import lcm

EPSILON = 1e-9
DAY = timedelta(days=1)


@dataclass(frozen=True)
class Load:
    """One share-of-voice campaign: seconds of content per screen, while it runs."""

    ad_id: str
    start: date
    end: date | None
    durations: dict = field(hash=False)  # screen id -> seconds of its content on that screen
    sliding_order: tuple = ()  # sliding: the screens in broadcast order, one a day

    def runs_on(self, day: date) -> bool:
        return self.start <= day and (self.end is None or day <= self.end)

    def seconds_on(self, screen_id, day: date) -> float:
        turn = (day - self.start).days % len(self.sliding_order) if self.sliding_order else None
        if turn is not None and self.sliding_order[turn] != screen_id:
            return 0.0
        return self.durations.get(screen_id, 0.0)


@dataclass(frozen=True)
class Overflow:
    screen_id: object
    day: date
    duration: float
    quota: float


def first_overflows(
    *, screen_ids, loads: list[Load], quotas: dict, span_start: date, span_end: date | None
) -> dict[object, Overflow]:
    """For each screen, the first day in [span_start, span_end] (None: open) on which the loads that play
    there exceed its quota, with the duration they would need. Screens that fit are absent."""
    overflows = {}
    for screen_id in screen_ids:
        relevant = [load for load in loads if screen_id in load.durations]
        found = _first_overflow(screen_id, relevant, quotas.get(screen_id, 0.0), span_start, span_end)
        if found is not None:
            overflows[screen_id] = found
    return overflows


def _first_overflow(screen_id, loads, quota, span_start, span_end) -> Overflow | None:
    cuts = {span_start}
    for load in loads:
        cuts.add(load.start)
        if load.end is not None:
            cuts.add(load.end + DAY)
    cuts = sorted(cut for cut in cuts if cut >= span_start and (span_end is None or cut <= span_end))
    for index, stretch_start in enumerate(cuts):
        stretch_end = cuts[index + 1] - DAY if index + 1 < len(cuts) else span_end  # None: open-ended
        running = [load for load in loads if load.runs_on(stretch_start)]
        fixed = sum(load.durations[screen_id] for load in running if not load.sliding_order)
        sliding = [load for load in running if load.sliding_order]
        days = 1
        if sliding:
            cycle = lcm(*(len(load.sliding_order) for load in sliding))
            days = cycle if stretch_end is None else min(cycle, (stretch_end - stretch_start).days + 1)
        for offset in range(days):
            day = stretch_start + offset * DAY
            total = fixed + sum(load.seconds_on(screen_id, day) for load in sliding)
            if total > quota + EPSILON:
                return Overflow(screen_id, day, total, quota)
    return None
