"""Activity and learned identities, written to Redis behind the request, in batches.

The hot path only updates dictionaries; one task flushes them at most
``activity_flush_interval`` seconds apart with a single pipeline (one ``ZADD ... GT`` per
product plus one ``SET ... EX`` per newly learned identity). While Redis is unreachable
the buffers keep the newest entries up to a bound and are flushed after recovery, so
no activity is lost to a short outage.
"""

from __future__ import annotations

import asyncio
import time

from proxy_addon import metrics
from seatgate import logs
from seatgate.redis_conn import REDIS_UNAVAILABLE, RedisClient
from seatgate.schema import ProductKeys

log = logs.get("seatgate.proxy.write_behind")


class WriteBehind:
    def __init__(
        self,
        redis: RedisClient,
        interval: float,
        max_entries: int,
        identity_ttl: float,
        ttl_by_kind: dict[str, float] | None = None,
    ):
        self._redis = redis
        self._interval = interval
        self._max_entries = max_entries
        self._identity_ttl = int(identity_ttl)
        # Expiry per kind of secret (the digest's prefix, e.g. "bearer"), when not identity_ttl.
        self._ttl_by_kind = {kind: int(ttl) for kind, ttl in (ttl_by_kind or {}).items()}
        self._activity: dict[str, dict[str, float]] = {}
        self._identities: dict[str, dict[str, str]] = {}
        self._keys: dict[str, ProductKeys] = {}
        self._size = 0
        self._wakeup = asyncio.Event()

    # -- hot path -----------------------------------------------------------------
    def activity(self, product: str, user: str, ts: float) -> None:
        bucket = self._activity.get(product)
        if bucket is None:
            bucket = self._activity[product] = {}
        previous = bucket.get(user)
        if previous is None:
            self._size += 1
            if self._size > self._max_entries:
                self._drop_oldest()
            bucket[user] = ts
        elif ts > previous:
            bucket[user] = ts

    def identity(self, product: str, digest: str, user: str) -> None:
        bucket = self._identities.setdefault(product, {})
        if digest not in bucket:
            self._size += 1
            if self._size > self._max_entries:
                self._drop_oldest()
        bucket[digest] = user

    def _drop_oldest(self) -> None:
        # Bounded memory during a Redis outage: forget the oldest entry, count it.
        for buffers in (self._identities, self._activity):
            for bucket in buffers.values():
                if bucket:
                    bucket.pop(next(iter(bucket)))
                    self._size -= 1
                    metrics.WRITE_BEHIND_DROPPED.inc()
                    return

    @property
    def pending(self) -> int:
        return self._size

    # -- flushing -----------------------------------------------------------------
    async def run(self) -> None:
        while True:
            try:
                await asyncio.wait_for(self._wakeup.wait(), self._interval)
            except TimeoutError:
                pass
            self._wakeup.clear()
            await self.flush()

    def flush_soon(self) -> None:
        self._wakeup.set()

    async def flush(self) -> bool:
        if not self._size:
            return True
        activity, identities = self._activity, self._identities
        self._activity, self._identities, self._size = {}, {}, 0
        pipe = self._redis.pipeline(transaction=False)
        for product, bucket in activity.items():
            keys = self._keys.setdefault(product, ProductKeys(product))
            pipe.zadd(keys.activity, bucket, gt=True)
        for product, owners in identities.items():
            keys = self._keys.setdefault(product, ProductKeys(product))
            for digest, user in owners.items():
                ttl = self._ttl_by_kind.get(digest.partition(":")[0], self._identity_ttl)
                pipe.set(keys.identity(digest), user, ex=ttl)
        started = time.perf_counter()
        try:
            await pipe.execute()
        except REDIS_UNAVAILABLE as exc:
            metrics.REDIS_ERRORS.labels(op="flush").inc()
            log.warning("flush_failed", error=type(exc).__name__, kept=sum(map(len, activity.values())))
            self._merge_back(activity, identities)
            return False
        metrics.FLUSH_SECONDS.observe(time.perf_counter() - started)
        return True

    def _merge_back(self, activity: dict[str, dict[str, float]], identities: dict[str, dict[str, str]]) -> None:
        for product, bucket in activity.items():
            for user, ts in bucket.items():
                self.activity(product, user, ts)
        for product, owners in identities.items():
            for digest, user in owners.items():
                self.identity(product, digest, user)
