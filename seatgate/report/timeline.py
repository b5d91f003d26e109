"""Concurrent seats over time for one inactivity period, computed as a stream.

Events (a user's activity or passive request at a time) must arrive in time order; the
analysis' reorder window sees to that. Whether a user holds a seat, and when it is
released, is decided by :mod:`seatgate.policy` — the functions the worker's sweeper
uses — so the report counts exactly what the product would.

Memory does not grow with the log: the timeline keeps only the users holding a seat,
their expiry buckets and the seat changes of the minutes not yet folded; each minute,
once the stream has passed it, is folded into one number (its maximum).
"""

from __future__ import annotations

import math
from array import array
from collections import defaultdict
from dataclasses import dataclass

from seatgate.policy import holds_seat, seat_released_at


@dataclass(slots=True)
class _Held:
    """A seat being held: when it was taken, the holder's last activity, and the minute
    whose fold releases it unless a later activity moves it (its expiry bucket)."""

    taken_at: float
    last: float
    release_minute: int


class SeatTimeline:
    __slots__ = (
        "_buckets",
        "_changes",
        "_count",
        "_holders",
        "first_minute",
        "inactivity",
        "minute_max",
        "peak",
        "peak_at",
        "seats_taken",
    )

    def __init__(self, inactivity: float):
        if not inactivity > 0:
            raise ValueError("inactivity must be greater than zero")
        self.inactivity = inactivity
        self._holders: dict[str, _Held] = {}
        # expiry minute → users whose seat may be released in it (stale entries skipped)
        self._buckets: defaultdict[int, list[str]] = defaultdict(list)
        # minute → {second → change in the number of seats}, for minutes not folded yet
        self._changes: defaultdict[int, defaultdict[int, int]] = defaultdict(lambda: defaultdict(int))
        self._count = 0  # seats held at the start of the first unfolded minute
        self.first_minute: int | None = None
        self.minute_max = array("l")  # per minute from first_minute: most seats held at once
        self.peak = 0
        self.peak_at: float | None = None
        self.seats_taken = 0  # seat intervals started (each a licence-group add)

    # -- feeding -------------------------------------------------------------------
    def event(self, ts: float, user: str, takes_seat: bool) -> None:
        """A request of ``user`` at ``ts`` that refreshes a seat it holds; when
        ``takes_seat`` (an activity) it also takes a seat the user does not hold."""
        inactivity = self.inactivity
        held = self._holders.get(user)
        if held is not None:
            if holds_seat(held.last, ts, inactivity):
                if ts > held.last:
                    self._move_release(user, held, ts)
                return
            # Released before now but its minute is not folded yet: record the release.
            self._release(user, held)
        if not takes_seat:
            return
        if self.first_minute is None:
            self.first_minute = int(ts // 60)
        second = math.floor(ts)
        self._changes[second // 60][second] += 1
        minute = self._release_second(ts) // 60
        self._holders[user] = _Held(ts, ts, minute)
        self._buckets[minute].append(user)
        self.seats_taken += 1

    def extend(self, user: str, last: float) -> None:
        """Move the last activity of a seat ``user`` holds to ``last``, for a caller that
        has checked that the user held the seat without a break in between (every gap
        between the activities it skipped was shorter than the period). Feeding each
        of those activities through :meth:`event` would end in the same state."""
        held = self._holders.get(user)
        if held is not None and last > held.last:
            self._move_release(user, held, last)

    def _move_release(self, user: str, held: _Held, last: float) -> None:
        held.last = last
        minute = self._release_second(last) // 60
        if minute != held.release_minute:
            held.release_minute = minute
            self._buckets[minute].append(user)

    def _release_second(self, last: float) -> int:
        # Seats are counted per whole second: a seat released at 12.5 s is still held
        # during second 12 and gone from second 13 on.
        return math.ceil(seat_released_at(last, self.inactivity))

    def _release(self, user: str, held: _Held) -> None:
        del self._holders[user]
        second = self._release_second(held.last)
        self._changes[second // 60][second] -= 1

    # -- folding -------------------------------------------------------------------
    def advance(self, now: float) -> None:
        """Fold every minute that ends at or before ``now``; no later event may be older."""
        if self.first_minute is None:
            return
        end = int(now // 60)  # minutes < end are complete
        minute = self.first_minute + len(self.minute_max)
        while minute < end:
            self._fold(minute)
            minute += 1

    def finish(self) -> None:
        """Fold until every seat is released (the log has ended)."""
        if self.first_minute is None:
            return
        minute = self.first_minute + len(self.minute_max)
        while self._holders or self._changes:
            self._fold(minute)
            minute += 1

    def _fold(self, minute: int) -> None:
        for user in self._buckets.pop(minute, ()):
            held = self._holders.get(user)
            if held is not None and held.release_minute == minute:
                self._release(user, held)
        count = self._count
        changes = self._changes.pop(minute, None)
        # The seats held in the minute's first second: those carried over, unless that
        # very second changes them (a seat released at hh:mm:00 is not held in minute mm).
        top = count if not changes or minute * 60 not in changes else -1
        if changes:
            for second in sorted(changes):
                count += changes[second]
                if count > top:
                    top = count
                if count > self.peak:
                    self.peak, self.peak_at = count, float(second)
        self._count = count
        self.minute_max.append(top)

    def holding(self, user: str) -> bool:
        """Whether ``user`` held a seat after its last event (call right after event())."""
        return user in self._holders

    @property
    def open_seats(self) -> int:
        return len(self._holders)
