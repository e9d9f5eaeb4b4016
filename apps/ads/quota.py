"""The share-of-voice quota engine (SPEC section 6.2): pure, data in, overflows out.

On every screen and every day of a campaign's span, the display durations of the share-of-voice
campaigns of one advertiser type that play there that day must fit in the screen's allocated time for
that type. The engine does not walk days: it cuts the span at the dates where the set of campaigns
changes (a start, the day after an end) and evaluates each stretch once.

Sliding campaigns (one screen a day, in turn) make a stretch periodic, with a period that is the least
common multiple of their screen counts: walking it day by day costs years of days (issue 14, finding 14).
Instead, a sliding campaign plays on a given screen on the days of one residue class, d = r (mod n), so
the days on which a set of them all play there are the solutions of a system of congruences (Chinese
remainder theorem: a system has solutions exactly when each pair of it has). The first overflow of a
stretch is the earliest first solution, from the stretch's start, among the sets that overflow; the
search visits each set of the at most `MAX_SLIDING_PER_SCREEN` sliding campaigns sharing a screen
once at most, whatever their screen counts and however long they run.
"""

from dataclasses import dataclass, field
from datetime import date, timedelta
from math import gcd

from .models import runs_between, sliding_turn, sliding_turn_days

EPSILON = 1e-9
DAY = timedelta(days=1)
# Sliding campaigns of one advertiser type that may run on one screen at once: the search below is
# exponential in this number (2**12 sets at most), and never in screen counts or days.
MAX_SLIDING_PER_SCREEN = 12


class TooManySliding(Exception):
    def __init__(self, screen_id, count: int):
        super().__init__(f"{count} sliding campaigns on screen {screen_id}")
        self.screen_id, self.count = screen_id, count


@dataclass
class Work:
    """What an evaluation cost: sets of sliding campaigns visited and days evaluated (for tests)."""

    sets: int = 0
    days: int = 0


@dataclass(frozen=True)
class Load:
    """One share-of-voice campaign: seconds of content per screen, while it runs."""

    ad_id: str
    start: date
    end: date | None
    durations: dict = field(hash=False)  # screen id -> seconds of its content on that screen
    sliding_order: tuple = ()  # sliding: the screens in broadcast order, one a day

    def runs_on(self, day: date) -> bool:
        return runs_between(self.start, self.end, day)

    def seconds_on(self, screen_id, day: date) -> float:
        if (
            self.sliding_order
            and self.sliding_order[sliding_turn(self.start, day, len(self.sliding_order))] != screen_id
        ):
            return 0.0
        return self.durations.get(screen_id, 0.0)


@dataclass(frozen=True)
class Overflow:
    screen_id: object
    day: date
    duration: float
    quota: float


def first_overflows(
    *, screen_ids, loads: list[Load], quotas: dict, span_start: date, span_end: date | None, work: Work | None = None
) -> dict[object, Overflow]:
    """For each screen, the first day in [span_start, span_end] (None: open) on which the loads that play
    there exceed its quota, with the duration they would need. Screens that fit are absent. Raises
    TooManySliding past MAX_SLIDING_PER_SCREEN sliding loads on one screen in one stretch."""
    work = work if work is not None else Work()
    overflows = {}
    for screen_id in screen_ids:
        relevant = [load for load in loads if screen_id in load.durations]
        found = _first_overflow(screen_id, relevant, quotas.get(screen_id, 0.0), span_start, span_end, work)
        if found is not None:
            overflows[screen_id] = found
    return overflows


def _first_overflow(screen_id, loads, quota, span_start, span_end, work: Work) -> Overflow | None:
    cuts = {span_start}
    for load in loads:
        cuts.add(load.start)
        if load.end is not None and load.end < date.max:
            cuts.add(load.end + DAY)
    cuts = sorted(cut for cut in cuts if cut >= span_start and (span_end is None or cut <= span_end))
    for index, stretch_start in enumerate(cuts):
        stretch_end = cuts[index + 1] - DAY if index + 1 < len(cuts) else span_end  # None: open-ended
        running = [load for load in loads if load.runs_on(stretch_start)]
        fixed = sum(load.durations[screen_id] for load in running if not load.sliding_order)
        sliding = [load for load in running if load.sliding_order]
        if len(sliding) > MAX_SLIDING_PER_SCREEN:
            raise TooManySliding(screen_id, len(sliding))
        day = _first_day_over(screen_id, sliding, quota - fixed, stretch_start, stretch_end, work)
        if day is not None:
            work.days += 1
            total = fixed + sum(load.seconds_on(screen_id, day) for load in sliding)
            return Overflow(screen_id, day, total, quota)
    return None


def _first_day_over(screen_id, sliding: list[Load], room: float, start: date, end: date | None, work: Work):
    """The first day in [start, end] on which the sliding loads playing on the screen need more than
    `room` seconds, or None."""
    if room < -EPSILON:
        return start  # the fixed loads alone overflow
    # Each sliding load plays here on the days whose ordinal is in one of its residue classes.
    classes = []
    for load in sliding:
        seconds = load.durations.get(screen_id, 0.0)
        size = len(load.sliding_order)
        residues = [
            sliding_turn_days(load.start, turn, size) for turn, s in enumerate(load.sliding_order) if s == screen_id
        ]
        if seconds > 0 and residues:
            classes.append((seconds, size, residues))
    classes.sort(key=lambda item: -item[0])
    remaining = [sum(item[0] for item in classes[index:]) for index in range(len(classes) + 1)]
    first = start.toordinal()
    best: list[int | None] = [None]

    def search(index: int, seconds: float, residue: int, modulus: int) -> None:
        work.sets += 1
        if seconds > room + EPSILON:
            # These loads overflow together; the first day they all play from `start` on (any more loads
            # only narrow the days down, so this set's supersets are not visited).
            day = first + (residue - first) % modulus
            if best[0] is None or day < best[0]:
                best[0] = day
            return
        if index == len(classes) or seconds + remaining[index] <= room + EPSILON:
            return
        load_seconds, size, residues = classes[index]
        for r in residues:
            step = gcd(modulus, size)
            if (r - residue) % step == 0:  # the two classes meet: combine them into one
                combined = modulus * size // step
                # x = residue (mod modulus), x = r (mod size): x = residue + modulus * t
                t = ((r - residue) // step) * pow(modulus // step, -1, size // step) % (size // step)
                search(index + 1, seconds + load_seconds, (residue + modulus * t) % combined, combined)
        search(index + 1, seconds, residue, modulus)

    search(0, 0.0, 0, 1)
    if best[0] is None or (end is not None and best[0] > end.toordinal()):
        return None
    return date.fromordinal(best[0])
