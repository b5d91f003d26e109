"""Which user a session cookie, remember-me cookie, token or credential belongs to.

The mapping is learned from upstream responses (the upstream is the authority on
identity) and kept as keyed hash → username, locally in a bounded cache and in Redis
with an expiry so that every proxy, and a restarted one, knows it. A lookup costs a
Redis round trip only the first time this proxy sees a secret; a miss is remembered
briefly so that anonymous traffic does not hit Redis on every request.
"""

from __future__ import annotations

import time
from collections import OrderedDict

from proxy_addon import metrics
from proxy_addon.write_behind import WriteBehind
from seatgate.redis_conn import REDIS_UNAVAILABLE, RedisClient
from seatgate.schema import ProductKeys

NEGATIVE_TTL = 2.0


class IdentityStore:
    def __init__(
        self,
        redis: RedisClient,
        writer: WriteBehind,
        ttl: float,
        max_entries: int = 200_000,
        ttl_by_kind: dict[str, float] | None = None,
    ):
        self._redis = redis
        self._writer = writer
        self._ttl = ttl
        self._ttl_by_kind = ttl_by_kind or {}  # per digest prefix, as in WriteBehind
        self._max = max_entries
        # (product, digest) → (user or None, expires_at monotonic, refresh_at monotonic).
        # A mapping used again after refresh_at (a quarter of its lifetime) is re-written
        # to Redis, to keep its expiry moving for secrets that stay in use.
        self._cache: OrderedDict[tuple[str, str], tuple[str | None, float, float]] = OrderedDict()

    def cached(self, product: str, digest: str) -> tuple[bool, str | None]:
        """(known, user) from the local cache only; known=False means "ask Redis"."""
        entry = self._cache.get((product, digest))
        if entry is None:
            return False, None
        user, expires, refresh_at = entry
        now = time.monotonic()
        if expires < now:
            del self._cache[(product, digest)]
            return False, None
        if user is not None and now > refresh_at:
            self._put(product, digest, user, write=True)
        return True, user

    async def lookup(self, product: str, digest: str) -> str | None:
        known, user = self.cached(product, digest)
        if known:
            return user
        try:
            user = await self._redis.get(ProductKeys(product).identity(digest))
        except REDIS_UNAVAILABLE:
            metrics.REDIS_ERRORS.labels(op="identity_lookup").inc()
            return None
        if user is None:
            self._cache[(product, digest)] = (None, time.monotonic() + NEGATIVE_TTL, 0.0)
            self._trim()
        else:
            self._put(product, digest, user, write=False)
        return user

    def learn(self, product: str, digest: str, user: str) -> None:
        """Record that upstream confirmed digest → user (written behind to Redis)."""
        entry = self._cache.get((product, digest))
        if entry is not None and entry[0] == user:
            return
        self._put(product, digest, user, write=True)

    def forget(self, product: str, digest: str) -> None:
        self._cache.pop((product, digest), None)

    async def forget_everywhere(self, product: str, digest: str) -> None:
        """Drop a mapping upstream no longer honours from every proxy (used after a grant
        was made for a credential upstream then rejected, so a stale token grants no more)."""
        self.forget(product, digest)
        try:
            await self._redis.delete(ProductKeys(product).identity(digest))
        except REDIS_UNAVAILABLE:
            metrics.REDIS_ERRORS.labels(op="identity_forget").inc()

    def _put(self, product: str, digest: str, user: str, *, write: bool) -> None:
        now = time.monotonic()
        ttl = self._ttl_by_kind.get(digest.partition(":")[0], self._ttl)
        self._cache[(product, digest)] = (user, now + ttl, now + ttl / 4)
        self._cache.move_to_end((product, digest))
        if write:
            self._writer.identity(product, digest, user)
        self._trim()

    def _trim(self) -> None:
        while len(self._cache) > self._max:
            self._cache.popitem(last=False)
