"""The proxy's side of the request sample: recent request lines, written to Redis in batches.

The hot path appends one tuple to a bounded in-memory buffer (no Redis round trip, no
hashing), right after the request is classified, before its user is known: the tuple
keeps the flow's state, whose identity the gate has filled in by the time of the flush.
One task writes the buffer every ``interval`` seconds with one ``LPUSH`` + ``LTRIM`` per
product in a single pipeline. The list in Redis keeps the newest
:data:`seatgate.schema.REQUEST_SAMPLE_MAXLEN` lines per product; the format and why it
holds nothing secret are in :mod:`seatgate.rules.sample`. The sample is a measurement,
not a record: lines that do not fit the buffer, or a batch Redis refuses, are dropped.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from typing import Any, Protocol

from seatgate import logs
from seatgate.keyed_hash import KeyedHasher
from seatgate.redis_conn import REDIS_UNAVAILABLE
from seatgate.rules.sample import USER_HASH_KIND, SampleLine, query_names, scrub_path
from seatgate.schema import REQUEST_SAMPLE_MAXLEN, ProductKeys

log = logs.get("seatgate.proxy.request_sample")

# Lines kept between two flushes: a busy proxy records the newest ones of each interval.
BUFFER_MAX = 1_000
# The sample need not be fresh to the second; a longer interval keeps its Redis cost at
# two commands per product every few seconds, whatever the traffic.
FLUSH_INTERVAL = 5.0
_USER_HASH_CACHE_MAX = 10_000


class _HasIdentity(Protocol):
    identity: Any  # proxy_addon.identify.Identity | None, set once the user is known


class RequestSample:
    def __init__(self, redis: Any, hasher: KeyedHasher, interval: float = FLUSH_INTERVAL, buffer_max: int = BUFFER_MAX):
        self._redis = redis
        self._hasher = hasher
        self._interval = interval
        # (product, method, path, query, verdict, flow state, time): encoded at flush.
        self._buffer: deque[tuple[str, str, str, str, str, _HasIdentity, float]] = deque(maxlen=buffer_max)
        self._keys: dict[str, str] = {}
        self._user_hashes: dict[str, str] = {}

    # -- hot path -----------------------------------------------------------------
    def record(self, product: str, method: str, path: str, query: str, verdict: str, state: _HasIdentity) -> None:
        """One classified request. Static ones are left out: they would crowd out the rest."""
        if verdict != "static":
            self._buffer.append((product, method, path, query, verdict, state, time.time()))

    # -- flushing -----------------------------------------------------------------
    async def run(self) -> None:
        while True:
            await asyncio.sleep(self._interval)
            await self.flush()

    def _user_hash(self, user: str) -> str:
        digest = self._user_hashes.get(user)
        if digest is None:
            if len(self._user_hashes) >= _USER_HASH_CACHE_MAX:
                self._user_hashes.clear()
            digest = self._user_hashes[user] = self._hasher.digest(USER_HASH_KIND, user)
        return digest

    async def flush(self) -> bool:
        if not self._buffer:
            return True
        batch, self._buffer = self._buffer, deque(maxlen=self._buffer.maxlen)
        by_product: dict[str, list[str]] = {}
        for product, method, path, query, verdict, state, at in batch:
            user = state.identity.user if state.identity is not None else None
            line = SampleLine(
                product,
                method,
                scrub_path(path),
                query_names(query),
                verdict,
                self._user_hash(user) if user else None,
                at,
            )
            by_product.setdefault(product, []).append(line.encode())
        pipe = self._redis.pipeline(transaction=False)
        for product, encoded in by_product.items():
            key = self._keys.get(product)
            if key is None:
                key = self._keys[product] = ProductKeys(product).request_sample
            pipe.lpush(key, *encoded)
            pipe.ltrim(key, 0, REQUEST_SAMPLE_MAXLEN - 1)
        try:
            await pipe.execute()
        except REDIS_UNAVAILABLE as exc:
            log.warning("request_sample_dropped", error=type(exc).__name__, lines=len(batch))
            return False
        return True
