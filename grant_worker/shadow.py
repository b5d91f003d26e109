"""Shadow mode: the worker's would-be seat state for a product with ``mode = "shadow"``.

In shadow mode the proxies hold nothing and ask for no grant: they only record activity
(confirmed identities, real activity) as usual. On the sweeper-lease holder, each round
reads the activity that arrived since the last round and passes every active user who
holds no would-be seat through the very grant handler enforce mode uses — same seat
cap, queue and eviction code, same Lua scripts — against the product's shadow keys
(:class:`seatgate.schema.ProductKeys` with ``shadow``) and a directory that reads but
never writes (:class:`WouldBeDirectory`). The ordinary sweeper then releases would-be
seats with :mod:`seatgate.policy`, and every would-be grant and revoke is audited
marked as such (see :mod:`grant_worker.audit`).
"""

from __future__ import annotations

import time
import uuid
from typing import Any, cast

from grant_worker.directories import CircuitOpen, Directory, DirectoryError
from grant_worker.grants import GrantHandler
from grant_worker.product import ProductRuntime
from seatgate import logs
from seatgate.protocol import GrantRequest
from seatgate.redis_conn import RedisClient
from seatgate.schema import RECORD_PEAK, BoundScript

log = logs.get("seatgate.worker.shadow")

# Activity is written behind by the proxies (at most [proxy] activity_flush_interval,
# 1 s, late): a reader stays this far behind the clock so that no write lands behind it.
SETTLE = 2.0


class WouldBeDirectory:
    """A directory that answers every read as the real one and makes no write.

    ``add`` and ``remove`` succeed without a call: in shadow mode the licence group is
    never touched, whatever the would-be state decides.
    """

    def __init__(self, real: Directory):
        self._real = real
        self.writes_refused = 0  # how many changes shadow mode did not make (for tests and logs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._real, name)

    async def add(self, user: str) -> None:
        self.writes_refused += 1

    async def remove(self, user: str) -> None:
        self.writes_refused += 1

    async def check(self) -> list[str]:
        # The licence group may not exist, nor grant the application, yet: that is
        # `seatgate setup`'s job, which follows the shadow run. Only the seat figures
        # must be readable (they give the would-be cap).
        try:
            await self._real.seats()
        except (DirectoryError, CircuitOpen) as exc:
            return [str(exc)]
        return []


class ActivityFeed:
    """Users whose last activity moved since the previous read, oldest first.

    The proxies keep one score per user (the latest activity), so a read sees each
    user's latest activity in the interval; the watermark lives in Redis so that a new
    lease holder carries on where the last one stopped.
    """

    def __init__(self, redis: RedisClient, product: ProductRuntime, reader: str):
        self._redis = redis
        self._activity = product.keys.activity
        self._watermark = product.keys.watermark(reader)

    async def read(self, now: float, lookback: float = 0.0) -> list[tuple[str, float]]:
        """Activity after the stored watermark (or, the first time, of the last ``lookback``
        seconds) up to ``SETTLE`` seconds ago; the watermark moves there."""
        until = now - SETTLE
        stored = await self._redis.get(self._watermark)
        since = float(stored) if stored is not None else until - lookback
        if until <= since:
            if stored is None:
                await self._redis.set(self._watermark, repr(until))
            return []
        entries = await self._redis.zrangebyscore(self._activity, f"({since}", until, withscores=True)
        await self._redis.set(self._watermark, repr(until))
        return sorted(
            ((str(user), float(ts)) for user, ts in cast(list[tuple[str, float]], entries)), key=lambda e: e[1]
        )


class ShadowObserver:
    """A sweeper duty for shadow products: would-be grants for the users active since the
    last round, then the would-be peak."""

    def __init__(self, redis: RedisClient, handler: GrantHandler):
        self._redis = redis
        self._handler = handler
        self._record_peak = RECORD_PEAK.bind(redis)

    async def __call__(self, product: ProductRuntime) -> None:
        if not product.keys.shadow:
            # An enforced product's peak is sampled each round (its grants do not record it).
            await record_peak(self._record_peak, product)
            return
        await self.observe(product)

    async def observe(self, product: ProductRuntime) -> int:
        keys = product.keys
        feed = ActivityFeed(self._redis, product, "shadow")
        # The first read (a new shadow run) starts one inactivity period back: whoever was
        # active in it would hold a seat now.
        active = await feed.read(time.time(), lookback=product.settings.inactivity)
        granted = 0
        for user, ts in active:
            if await self._redis.hexists(keys.licensed, user):
                continue  # holds a would-be seat: the activity keeps it, the sweeper decides
            # Only confirmed identities' activity is recorded by the proxies.
            request = GrantRequest(
                user=user,
                request_id=f"shadow-{uuid.uuid4().hex[:12]}",
                requested_at=ts,
                source="shadow",
                confirmed=True,
            )
            result = await self._handler.handle(product, None, request.to_fields())
            granted += result.event == "granted"
        await record_peak(self._record_peak, product)
        return granted


async def record_peak(script: BoundScript, product: ProductRuntime) -> int:
    keys = product.keys
    used = await script(
        peak=keys.peak, licensed=keys.licensed, granting=keys.granting, revoking=keys.revoking, now=time.time()
    )
    return int(used)
