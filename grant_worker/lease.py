"""A Redis lease: exactly one worker at a time runs the sweeper and the reconciler."""

from __future__ import annotations

from seatgate.redis_conn import RedisClient
from seatgate.schema import RELEASE_LEASE, RENEW_LEASE


class Lease:
    def __init__(self, redis: RedisClient, key: str, owner: str, ttl: float):
        self._redis = redis
        self.key = key
        self.owner = owner
        self._ttl_ms = int(ttl * 1000)
        self._renew = RENEW_LEASE.bind(redis)
        self._release = RELEASE_LEASE.bind(redis)
        self.held = False

    async def acquire_or_renew(self) -> bool:
        if self.held and await self._renew(lease=self.key, owner=self.owner, ttl_ms=self._ttl_ms):
            return True
        self.held = bool(await self._redis.set(self.key, self.owner, nx=True, px=self._ttl_ms))
        return self.held

    async def release(self) -> None:
        if self.held:
            await self._release(lease=self.key, owner=self.owner)
            self.held = False
