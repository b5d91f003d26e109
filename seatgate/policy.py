"""The floating-licence policy: when a user holds a seat and when it is released.

One definition shared by the worker's inactivity sweeper and by ``seatgate report``, so
that the report's prediction is computed by the very code that will later take seats
away. Dependency-free and pure: times are epoch seconds (floats), durations seconds.

A user holds a seat from a real activity until ``inactivity`` seconds after their last
activity. The interval is half-open: at exactly ``last_activity + inactivity`` the seat
is free again, so a sweeper running at that instant releases it and the report stops
counting it in that same second.
"""

from __future__ import annotations

# What each rules verdict does to a seat (see seatgate.rules): activity takes or keeps
# one; passive (a page-load satellite) only keeps a seat the user already holds, so that
# it can never grant one on its own; background and static never touch seats.
TAKES_SEAT = frozenset({"activity"})
KEEPS_SEAT = frozenset({"activity", "passive"})


def seat_released_at(last_activity: float, inactivity: float) -> float:
    """The instant a seat taken or kept at ``last_activity`` is released if nothing follows."""
    return last_activity + inactivity


def idle_cutoff(now: float, inactivity: float) -> float:
    """Activity at or before this instant is idle at ``now``: the sweeper's range bound
    (e.g. ``ZRANGEBYSCORE last_activity -inf idle_cutoff(now, inactivity)``)."""
    return now - inactivity


def holds_seat(last_activity: float, now: float, inactivity: float) -> bool:
    """Whether a user whose last activity was at ``last_activity`` still holds a seat at ``now``."""
    return last_activity > idle_cutoff(now, inactivity)


def refreshes_seat(verdict: str, holding: bool) -> bool:
    """Whether a request with this verdict (re)starts the inactivity clock of its user."""
    return verdict in TAKES_SEAT or (holding and verdict in KEEPS_SEAT)
