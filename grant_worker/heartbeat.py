"""Worker liveness: a short-lived key per product stream, refreshed well inside its expiry.

While ``ProductKeys.alive(<worker id>)`` exists the worker is alive and nobody touches the
grant entries it is handling, however long its directory call takes: the key is refreshed
by its own task every fifth of ``takeover_after``, independently of the grants. Once the
worker dies the key expires within ``takeover_after`` and a standby takes its entries over
(see :mod:`grant_worker.takeover`).

A refresh that finds its key already gone means this worker was silent for a whole
``takeover_after`` (a stalled event loop or a lost Redis): its entries may have been taken
over, so it is logged and counted, and the grant handler checks that an entry is still its
own before calling the directory.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from grant_worker import metrics
from seatgate import logs
from seatgate.redis_conn import REDIS_UNAVAILABLE
from seatgate.schema import ProductKeys

log = logs.get("seatgate.worker.heartbeat")


class Heartbeat:
    def __init__(self, redis: Any, worker_id: str, products: list[ProductKeys], ttl: float):
        self._redis = redis
        self._keys = [keys.alive(worker_id) for keys in products]
        self._ttl_ms = int(ttl * 1000)
        self.interval = ttl / 5
        self._beaten = False

    async def beat(self) -> None:
        """Refresh every key (create them the first time); log a lapse seen on the way."""
        olds = await asyncio.gather(*(self._redis.set(key, "1", px=self._ttl_ms, get=True) for key in self._keys))
        if self._beaten and any(old is None for old in olds):
            metrics.HEARTBEAT_LAPSES.inc()
            log.warning("heartbeat_lapsed", detail="silent for takeover_after: grants under way may be taken over")
        self._beaten = True

    async def run(self) -> None:
        while True:
            await asyncio.sleep(self.interval)
            try:
                await asyncio.wait_for(self.beat(), self.interval * 2)
            except REDIS_UNAVAILABLE as exc:  # TimeoutError included
                metrics.REDIS_ERRORS.labels(op="heartbeat").inc()
                log.warning("heartbeat_failed", error=type(exc).__name__)

    async def stop(self) -> None:
        """On a clean stop, once no grant is under way here: standbys need not wait for the expiry."""
        with contextlib.suppress(*REDIS_UNAVAILABLE):
            await asyncio.wait_for(asyncio.gather(*(self._redis.delete(key) for key in self._keys)), 2)
