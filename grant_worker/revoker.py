"""Taking one user out of the licence group, safely against concurrent requests.

Two phases: the user is first marked ``revoking`` (and the proxies are told, so they
stop treating them as licensed and a new request asks for a grant); after a grace
period longer than the proxies' write-behind interval the revoke is confirmed only if
no activity newer than the cutoff landed and no grant is in flight. Used by the
inactivity sweeper, pressure eviction, claim rollback and the reconciler.
"""

from __future__ import annotations

import asyncio
import time

from grant_worker import audit, metrics
from grant_worker.directories import CircuitOpen, DirectoryError
from grant_worker.product import ProductRuntime
from seatgate import logs
from seatgate.protocol import Event, GrantEvent
from seatgate.redis_conn import RedisClient
from seatgate.schema import ABORT_REVOKE, BEGIN_REVOKE, CONFIRM_REVOKE, FINISH_REVOKE

log = logs.get("seatgate.worker.revoker")


class Revoker:
    def __init__(self, redis: RedisClient, grace: float):
        self._redis = redis
        self.grace = grace
        self._begin = BEGIN_REVOKE.bind(redis)
        self._confirm = CONFIRM_REVOKE.bind(redis)
        self._abort = ABORT_REVOKE.bind(redis)
        self._finish = FINISH_REVOKE.bind(redis)

    async def begin(self, product: ProductRuntime, user: str, cutoff: float) -> bool:
        """Mark user as revoking unless they are active since cutoff, busy or held."""
        keys = product.keys
        now = time.time()
        status = await self._begin(
            licensed=keys.licensed,
            revoking=keys.revoking,
            activity=keys.activity,
            inflight=keys.inflight(user),
            holds=keys.holds,
            user=user,
            idle_cutoff=cutoff,
            now=now,
        )
        if status != "ok":
            return False
        await self.publish(product, Event.REVOKING, user)
        return True

    async def complete(self, product: ProductRuntime, user: str, cutoff: float, reason: str) -> bool:
        """Second phase (after the grace period): remove from the group, or cancel."""
        keys = product.keys
        status = await self._confirm(
            licensed=keys.licensed,
            revoking=keys.revoking,
            activity=keys.activity,
            inflight=keys.inflight(user),
            user=user,
            idle_cutoff=cutoff,
            now=time.time(),
        )
        if status == "cancelled":
            await self.publish(product, Event.GRANTED, user, detail="revoke cancelled: active again")
            return False
        if status != "proceed":
            return False
        started = time.perf_counter()
        try:
            await product.directory.remove(user)
        except (DirectoryError, CircuitOpen) as exc:
            # Still a member: keep them licensed; the next sweep tries again.
            await self._abort(licensed=keys.licensed, revoking=keys.revoking, user=user, now=time.time())
            await self.publish(product, Event.GRANTED, user, detail="revoke failed")
            log.warning("revoke_failed", product=product.name, user=user, reason=reason, error=str(exc))
            return False
        await self._finish(revoking=keys.revoking, user=user)
        pipe = self._redis.pipeline(transaction=False)
        audit.append(pipe, keys, "revoke", user, reason, latency_ms=round((time.perf_counter() - started) * 1000, 1))
        pipe.publish(keys.events, GrantEvent(Event.REVOKED, user, reason).to_json())
        await pipe.execute()
        metrics.seat_series("REVOKES", keys).labels(product.name, reason).inc()
        log.info("revoked", product=product.name, user=user, reason=reason)
        return True

    async def revoke_now(self, product: ProductRuntime, user: str, cutoff: float, reason: str) -> bool:
        """Both phases for one user (eviction, rollback)."""
        if not await self.begin(product, user, cutoff):
            return False
        await asyncio.sleep(self.grace)
        return await self.complete(product, user, cutoff, reason)

    async def publish(self, product: ProductRuntime, kind: Event, user: str, detail: str = "") -> None:
        await self._redis.publish(product.keys.events, GrantEvent(kind, user, detail).to_json())
