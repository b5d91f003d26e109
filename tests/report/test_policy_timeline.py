"""The floating policy and the seat timeline that applies it."""

from __future__ import annotations

import pytest

from seatgate.policy import holds_seat, idle_cutoff, refreshes_seat, seat_released_at
from seatgate.report.tiers import tier_for
from seatgate.report.timeline import SeatTimeline


def test_policy_boundaries():
    assert seat_released_at(100, 900) == 1000
    assert idle_cutoff(1000, 900) == 100
    assert holds_seat(100, 999.9, 900) and not holds_seat(100, 1000, 900)  # half-open
    assert refreshes_seat("activity", False) and refreshes_seat("passive", True)
    assert not refreshes_seat("passive", False) and not refreshes_seat("background", True)


def test_timeline_counts_overlaps_per_minute():
    t = SeatTimeline(120)
    t.event(60, "a", True)  # a: 60-180
    t.event(90, "b", True)  # b: 90-210
    t.event(150, "a", False)  # passive while holding: a until 270
    t.event(260, "b", False)  # passive after release: nothing
    t.advance(180)  # folds minutes 1 and 2 only
    assert list(t.minute_max) == [2, 2]
    t.finish()
    assert (t.peak, t.peak_at, t.first_minute) == (2, 90.0, 1)
    assert list(t.minute_max) == [2, 2, 2, 1]  # minutes 1..4 (a ends at 270 = minute 4)
    assert t.seats_taken == 2 and t.open_seats == 0


def test_timeline_refuses_a_zero_period():
    with pytest.raises(ValueError):
        SeatTimeline(0)


@pytest.mark.parametrize(
    ("users", "tier"), [(0, "500"), (277, "500"), (500, "500"), (501, "1000"), (1900, "2000"), (10_001, "15000"),
                        (50_000, "50000"), (50_001, "50000+")]
)  # fmt: skip
def test_tiers(users, tier):
    assert tier_for(users) == tier
