"""The inactivity sweeper and queue housekeeping, on one worker at a time.

Runs on the holder of the sweeper lease. Each round, per product: users idle for
longer than the product's inactivity period are revoked (all marked first, one grace
period, then confirmed; see revoker.py), and users who stopped asking for a seat
leave the waiting queue.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

from grant_worker import metrics
from grant_worker.lease import Lease
from grant_worker.product import ProductRuntime
from grant_worker.revoker import Revoker
from seatgate import logs
from seatgate.policy import idle_cutoff
from seatgate.redis_conn import REDIS_UNAVAILABLE, RedisClient

log = logs.get("seatgate.worker.sweeper")

# A user licensed less than this long ago is never swept, whatever the activity record
# says, so that a grant and a revoke cannot chase each other within seconds.
MIN_LICENSED = 10.0


class Sweeper:
    def __init__(
        self,
        redis: RedisClient,
        lease: Lease,
        products: list[ProductRuntime],
        revoker: Revoker,
        interval: float,
        queue_timeout: float,
        extra_duties: list[Callable[[ProductRuntime], Awaitable[Any]]] | None = None,
    ):
        self._redis = redis
        self._lease = lease
        self._products = products
        self._revoker = revoker
        self._interval = interval
        self._queue_timeout = queue_timeout
        self._extra = extra_duties or []

    async def run(self) -> None:
        while True:
            try:
                leader = await asyncio.wait_for(self._lease.acquire_or_renew(), 5)
                metrics.SWEEPER_LEADER.set(1 if leader else 0)
                if leader:
                    for product in self._products:
                        await asyncio.wait_for(self.round(product), max(self._interval * 4, 30))
            except asyncio.CancelledError:
                raise
            except REDIS_UNAVAILABLE as exc:
                metrics.REDIS_ERRORS.labels(op="sweep").inc()
                log.warning("sweep_failed", error=type(exc).__name__)
            await asyncio.sleep(self._interval)

    async def round(self, product: ProductRuntime) -> None:
        await self.sweep(product)
        await self.prune_queue(product)
        for duty in self._extra:
            await duty(product)

    async def idle_users(self, product: ProductRuntime, now: float) -> list[str]:
        keys = product.keys
        cutoff = idle_cutoff(now, product.settings.inactivity)
        licensed = await self._redis.hgetall(keys.licensed)
        if not licensed:
            return []
        scores = await self._redis.zmscore(keys.activity, list(licensed))
        idle = []
        for (user, granted_at), last in zip(licensed.items(), scores, strict=True):
            granted = float(granted_at or 0)
            if now - granted < MIN_LICENSED:
                continue
            # A user with no recorded activity is idle from the moment of the grant.
            last_seen = last if last is not None else granted
            if last_seen <= cutoff:
                idle.append(user)
        return idle

    async def sweep(self, product: ProductRuntime) -> int:
        now = time.time()
        cutoff = idle_cutoff(now, product.settings.inactivity)
        marked = [
            user for user in await self.idle_users(product, now) if await self._revoker.begin(product, user, cutoff)
        ]
        if not marked:
            return 0
        await asyncio.sleep(self._revoker.grace)
        revoked = 0
        for user in marked:
            if await self._revoker.complete(product, user, cutoff, "inactive"):
                if not product.keys.shadow:
                    metrics.SWEEPER_REVOKES.labels(product.name).inc()
                revoked += 1
        return revoked

    async def prune_queue(self, product: ProductRuntime) -> int:
        """Users who left the waiting page (no retry for queue_timeout) leave the queue."""
        keys = product.keys
        gone = await self._redis.zrangebyscore(keys.queue_seen, "-inf", time.time() - self._queue_timeout)
        if gone:
            pipe = self._redis.pipeline(transaction=True)
            pipe.zrem(keys.queue, *gone)
            pipe.zrem(keys.queue_seen, *gone)
            await pipe.execute()
            log.info("queue_pruned", product=product.name, users=len(gone))
        metrics.seat_series("QUEUE_LENGTH", keys).labels(product.name).set(await self._redis.zcard(keys.queue))
        return len(gone)
