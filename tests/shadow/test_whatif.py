"""Live what-if against a naive reference: the seats live activity would have needed."""

from __future__ import annotations

from types import SimpleNamespace

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from grant_worker import whatif
from grant_worker.shadow import SETTLE
from grant_worker.whatif import WhatIf
from seatgate.schema import ProductKeys

START = 1_700_000_000.0
PERIODS = (60.0, 120.0)


def naive_peak(events: list[tuple[str, float]], inactivity: float) -> int:
    """Seats held at once, counted per whole second by brute force: a user holds a seat during
    [t, t + inactivity) after each activity t (seatgate.policy)."""
    if not events:
        return 0
    first, last = int(min(t for _, t in events)), int(max(t for _, t in events) + inactivity) + 1
    best = 0
    for second in range(first, last + 1):
        # a seat held at any instant of this second counts, as the timeline counts per second
        held = {u for u, t in events if t < second + 1 and second < t + inactivity}
        best = max(best, len(held))
    return best


rounds = st.lists(
    st.lists(st.tuples(st.sampled_from(["alice", "bob", "carol", "dave", "erin"]), st.floats(0, 9.5)), max_size=4),
    min_size=1,
    max_size=25,
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rounds=rounds)
async def test_whatif_peaks_match_a_naive_count(redis_client, rounds):
    await redis_client.flushall()
    product = SimpleNamespace(name="jira", keys=ProductKeys("jira"))
    observer = WhatIf(redis_client, PERIODS)
    seen: list[tuple[str, float]] = []
    now = START
    await observer.observe(product, now)
    for round_events in rounds:
        # One sweeper round: activity lands (one score per user, the latest), then the worker reads.
        latest: dict[str, float] = {}
        for user, offset in round_events:
            latest[user] = max(latest.get(user, 0.0), now - SETTLE + 0.1 + offset)
        if latest:
            await redis_client.zadd(ProductKeys("jira").activity, latest, gt=True)
        now += 10.0
        await observer.observe(product, now)
        seen += latest.items()
    now += max(PERIODS) + 120
    await observer.observe(product, now)  # every seat released and every minute folded
    doc = whatif.read(await redis_client.hgetall(ProductKeys("jira").whatif), PERIODS)
    for period, figures in zip(PERIODS, doc["periods"], strict=True):
        assert figures["peak_seats"] == naive_peak(seen, period), (period, seen)
        assert figures["seats_now"] == 0


def test_memory_stays_bounded_over_days():
    from grant_worker.whatif import KEEP_MINUTES, _trim
    from seatgate.report.timeline import SeatTimeline

    timeline = SeatTimeline(900.0)
    for minute in range(3 * 1440):
        timeline.event(START + minute * 60, f"user{minute % 7}", True)
        timeline.advance(START + minute * 60)
        _trim(timeline)
        assert len(timeline.minute_max) <= KEEP_MINUTES
    assert timeline.peak == 7 and timeline.open_seats == 7
