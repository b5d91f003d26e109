"""Live what-if: the seats the live traffic would have needed with 15, 30 and 60 minutes
of inactivity, in enforce and in shadow mode alike.

Computed on the sweeper-lease holder with the report's own seat timelines
(:class:`seatgate.report.timeline.SeatTimeline`, which count with :mod:`seatgate.policy`)
from the activity the proxies record. The proxies keep one score per user (the latest
activity), read each round (see :class:`grant_worker.shadow.ActivityFeed`): a user's
several requests within one round (seconds) collapse into the latest, which changes no
seat interval of a quarter of an hour or more by more than that round.

Memory is bounded: a timeline keeps the users holding a seat and one number per minute,
of which only the last day is kept. Peaks are stored in Redis (``ProductKeys.whatif``)
and only ever raised, so a new lease holder carries them on.
"""

from __future__ import annotations

import time
from typing import Any, cast

from grant_worker import metrics
from grant_worker.product import ProductRuntime
from grant_worker.shadow import SETTLE, ActivityFeed
from seatgate.redis_conn import RedisClient
from seatgate.report.timeline import SeatTimeline

PERIODS = (900.0, 1800.0, 3600.0)
KEEP_MINUTES = 1440


class WhatIf:
    """A sweeper duty: feed the timelines with the activity since the last round."""

    def __init__(self, redis: RedisClient, periods: tuple[float, ...] = PERIODS):
        self._redis = redis
        self._periods = periods
        self._timelines: dict[str, list[SeatTimeline]] = {}

    async def __call__(self, product: ProductRuntime) -> None:
        await self.observe(product)

    async def observe(self, product: ProductRuntime, now: float | None = None) -> dict[str, float]:
        now = time.time() if now is None else now
        keys = product.keys
        feed = ActivityFeed(self._redis, product, "whatif")
        timelines = self._timelines.get(product.name)
        if timelines is None:
            # A new lease holder: seed the seat holders from the last hour's activity.
            timelines = self._timelines[product.name] = [SeatTimeline(p) for p in self._periods]
            await self._redis.delete(keys.watermark("whatif"))
        events = await feed.read(now, lookback=max(self._periods))
        for user, ts in events:
            for timeline in timelines:
                timeline.event(ts, user, True)
        stored = await self._redis.hgetall(keys.whatif)
        update: dict[str, float] = {}
        if "since" not in stored:
            update["since"] = now
        for timeline in timelines:
            # Activity newer than what the feed has read may still come: fold only up to it.
            timeline.advance(now - SETTLE)
            _trim(timeline)
            label = f"{timeline.inactivity:g}"
            update[f"{label}:now"] = timeline.open_seats
            if timeline.peak > float(stored.get(f"{label}:peak", -1)):
                update[f"{label}:peak"] = timeline.peak
                update[f"{label}:peak_at"] = timeline.peak_at or now
            metrics.WHATIF_PEAK.labels(product.name, label).set(
                max(timeline.peak, float(stored.get(f"{label}:peak", 0)))
            )
        await self._redis.hset(keys.whatif, mapping=cast(Any, update))  # redis-py types its keys invariantly
        return update


def _trim(timeline: SeatTimeline) -> None:
    """Keep the per-minute maxima of the last day only (the peak is kept apart)."""
    excess = len(timeline.minute_max) - KEEP_MINUTES
    if excess > 0 and timeline.first_minute is not None:
        del timeline.minute_max[:excess]
        timeline.first_minute += excess


def read(stored: dict[str, str], periods: tuple[float, ...] = PERIODS) -> dict[str, Any]:
    """The what-if figures as ``seatgate status`` shows them: per period in minutes."""
    out: dict[str, Any] = {"since": float(stored["since"]) if "since" in stored else None, "periods": []}
    for period in periods:
        label = f"{period:g}"
        peak_at = stored.get(f"{label}:peak_at")
        out["periods"].append(
            {
                "inactivity_minutes": int(period // 60),
                "seats_now": int(float(stored.get(f"{label}:now", 0))),
                "peak_seats": int(float(stored.get(f"{label}:peak", 0))),
                "peak_at": float(peak_at) if peak_at else None,
            }
        )
    return out
