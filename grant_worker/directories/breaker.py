"""A circuit breaker: stop hammering a directory that keeps failing, and let one call test it later.

closed ──N consecutive failures──► open ──cooldown──► half_open ──success──► closed
                                     ▲                    │
                                     └──────failure───────┘

While open every call is refused at once with :class:`CircuitOpen`, so grants fail fast
instead of each waiting for its own timeouts and retries. In half-open a single trial call
goes through; the others are still refused until it has answered.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from enum import StrEnum

from seatgate import logs

from .errors import CircuitOpen


class BreakerState(StrEnum):
    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


class CircuitBreaker:
    """Counts consecutive failures of one directory; not thread-safe (one event loop)."""

    def __init__(
        self,
        name: str = "directory",
        *,
        threshold: int = 5,
        cooldown: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
    ):
        if threshold < 1:
            raise ValueError("threshold must be at least 1")
        if cooldown < 0:
            raise ValueError("cooldown must not be negative")
        self.name = name
        self.threshold = threshold
        self.cooldown = cooldown
        self._clock = clock
        self._failures = 0
        self._opened_at: float | None = None
        self._trial_in_flight = False
        self._log = logs.get("seatgate.directory.breaker", directory=name)

    @property
    def state(self) -> BreakerState:
        # Half-open is derived from the clock rather than set by a timer: no task to cancel.
        if self._opened_at is None:
            return BreakerState.CLOSED
        if self._clock() - self._opened_at >= self.cooldown:
            return BreakerState.HALF_OPEN
        return BreakerState.OPEN

    @property
    def consecutive_failures(self) -> int:
        return self._failures

    def retry_after(self) -> float:
        """Seconds until a trial call will be let through (0 when one may go now)."""
        if self._opened_at is None:
            return 0.0
        return max(0.0, self._opened_at + self.cooldown - self._clock())

    def acquire(self) -> None:
        """Ask to make a call; raises :class:`CircuitOpen` when the call must not be made."""
        state = self.state
        if state is BreakerState.CLOSED:
            return
        if state is BreakerState.HALF_OPEN and not self._trial_in_flight:
            self._trial_in_flight = True
            return
        wait = self.retry_after()
        raise CircuitOpen(
            f"{self.name}: circuit open after {self._failures} consecutive failures, "
            + ("a trial call is in flight" if state is BreakerState.HALF_OPEN else f"next try in {wait:.1f}s"),
            retry_after=wait,
        )

    def success(self) -> None:
        """The directory answered (any non-5xx status counts: it is up)."""
        if self._opened_at is not None:
            self._log.info("directory_breaker_closed", after_failures=self._failures)
        self._failures = 0
        self._opened_at = None
        self._trial_in_flight = False

    def failure(self) -> None:
        """The directory timed out, refused the connection or answered 5xx."""
        self._failures += 1
        state = self.state
        if state is BreakerState.HALF_OPEN or (state is BreakerState.CLOSED and self._failures >= self.threshold):
            # A failed trial restarts the cooldown; a failure of a call that was already in
            # flight while open does not, or a slow backlog would keep the breaker open forever.
            self._opened_at = self._clock()
            self._trial_in_flight = False
            self._log.warning("directory_breaker_opened", failures=self._failures, cooldown_s=self.cooldown)

    def release(self) -> None:
        """A call was abandoned (cancelled) without an answer: free the trial slot, judge nothing."""
        self._trial_in_flight = False
