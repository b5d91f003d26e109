"""The circuit breaker's state machine, driven by a fake clock."""

from __future__ import annotations

import pytest

from grant_worker.directories import BreakerState, CircuitBreaker, CircuitOpen


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_opens_after_threshold_consecutive_failures() -> None:
    clock = Clock()
    breaker = CircuitBreaker("jira", threshold=3, cooldown=5, clock=clock)
    for _ in range(2):
        breaker.acquire()
        breaker.failure()
    assert breaker.state is BreakerState.CLOSED
    breaker.acquire()
    breaker.failure()
    assert breaker.state is BreakerState.OPEN
    with pytest.raises(CircuitOpen) as err:
        breaker.acquire()
    assert err.value.retry_after == pytest.approx(5)
    assert "jira: circuit open after 3 consecutive failures" in str(err.value)


def test_a_success_resets_the_count() -> None:
    breaker = CircuitBreaker(threshold=2, clock=Clock())
    breaker.failure()
    breaker.success()
    breaker.failure()
    assert breaker.state is BreakerState.CLOSED
    assert breaker.consecutive_failures == 1


def test_half_open_lets_one_trial_through_and_closes_on_success() -> None:
    clock = Clock()
    breaker = CircuitBreaker(threshold=1, cooldown=5, clock=clock)
    breaker.failure()
    clock.now += 4.9
    assert breaker.state is BreakerState.OPEN
    clock.now += 0.1
    assert breaker.state is BreakerState.HALF_OPEN
    breaker.acquire()  # the trial
    with pytest.raises(CircuitOpen, match="trial call is in flight"):
        breaker.acquire()
    breaker.success()
    assert breaker.state is BreakerState.CLOSED
    breaker.acquire()


def test_failed_trial_reopens_for_a_full_cooldown() -> None:
    clock = Clock()
    breaker = CircuitBreaker(threshold=1, cooldown=5, clock=clock)
    breaker.failure()
    clock.now += 5
    breaker.acquire()
    breaker.failure()
    assert breaker.state is BreakerState.OPEN
    assert breaker.retry_after() == pytest.approx(5)


def test_abandoned_trial_frees_the_slot() -> None:
    clock = Clock()
    breaker = CircuitBreaker(threshold=1, cooldown=1, clock=clock)
    breaker.failure()
    clock.now += 1
    breaker.acquire()
    breaker.release()
    breaker.acquire()  # another trial may go


def test_late_failures_while_open_do_not_extend_the_cooldown() -> None:
    clock = Clock()
    breaker = CircuitBreaker(threshold=1, cooldown=5, clock=clock)
    breaker.failure()
    clock.now += 3
    breaker.failure()  # a call that was in flight before the breaker opened
    assert breaker.retry_after() == pytest.approx(2)


def test_rejects_nonsense() -> None:
    with pytest.raises(ValueError):
        CircuitBreaker(threshold=0)
    with pytest.raises(ValueError):
        CircuitBreaker(cooldown=-1)
