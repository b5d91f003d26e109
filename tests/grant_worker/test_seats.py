"""grant_worker.seats.effective_cap: the cap seatgate may hand out, from the configured seats
and the upstream licence."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from grant_worker.directories import SeatInfo
from grant_worker.seats import effective_cap


def test_no_configured_seats_and_unlimited_licence_means_no_cap():
    assert effective_cap(None, SeatInfo(total=None, used=None, remaining=None, unlimited=True), 5, 0) is None
    assert effective_cap(None, None, 5, 0) is None


def test_configured_seats_cap_without_licence_info():
    assert effective_cap(10, None, 3, 2) == 10


def test_users_licensed_outside_seatgate_shrink_the_cap():
    # 100 licence seats, 30 used of which seatgate manages 10: 20 are someone else's.
    info = SeatInfo(total=100, used=30, remaining=70, unlimited=False)
    assert effective_cap(None, info, managed=10, reserved=5) == 100 - 20 - 5
    assert effective_cap(50, info, managed=10, reserved=5) == 50


def test_used_is_derived_from_remaining_when_the_licence_omits_it():
    info = SeatInfo(total=100, used=None, remaining=60, unlimited=False)
    assert effective_cap(None, info, managed=15, reserved=0) == 100 - (40 - 15)


@given(
    configured=st.none() | st.integers(0, 500),
    total=st.integers(0, 500),
    used=st.integers(0, 500),
    managed=st.integers(0, 500),
    reserved=st.integers(0, 50),
)
def test_cap_matches_a_naive_reference(configured, total, used, managed, reserved):
    info = SeatInfo(total=total, used=used, remaining=None, unlimited=False)
    licence_cap = total - max(0, used - managed) - reserved
    expected = max(0, licence_cap) if configured is None else min(configured, max(0, licence_cap))
    assert effective_cap(configured, info, managed, reserved) == expected
