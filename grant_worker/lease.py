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
        self._renew = redis.register_script(RENEW_LEASE)
        self._release = redis.register_script(RELEASE_LEASE)
        self.held = False

    async def acquire_or_renew(self) -> bool:
        if self.held and await self._renew(keys=[self.key], args=[self.owner, self._ttl_ms]):
            return True
        self.held = bool(await self._redis.set(self.key, self.owner, nx=True, px=self._ttl_ms))
        return self.held

    async def release(self) -> None:
        if self.held:
            await self._release(keys=[self.key], args=[self.owner])
            self.held = False
