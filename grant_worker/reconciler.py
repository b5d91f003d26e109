"""Repairs drift between seatgate's records and the licence group's real members.

- A managed user recorded as licensed but missing from the group (removed by hand) is
  marked unlicensed.
- A member seatgate does not know (added by hand) is adopted as a floating user or
  left alone, per the product's ``unmanaged_members``.
- A grant or revoke left half done by a crash (``granting``/``revoking`` older than
  STALE) is finished according to the real membership.

Runs on the sweeper-lease holder every ``reconcile_interval``; every repair is audited.
"""

from __future__ import annotations

import time

from grant_worker import audit
from grant_worker.directories import CircuitOpen, DirectoryError
from grant_worker.product import ProductRuntime
from seatgate import logs
from seatgate.protocol import Event, GrantEvent
from seatgate.redis_conn import RedisClient

log = logs.get("seatgate.worker.reconciler")

# A seat state older than this was left by a worker that died mid-change.
STALE = 60.0


class Reconciler:
    def __init__(self, redis: RedisClient, interval: float):
        self._redis = redis
        self._interval = interval
        self._last: dict[str, float] = {}

    async def maybe_run(self, product: ProductRuntime) -> None:
        if product.keys.shadow:
            return  # the would-be state has no group membership to agree with
        if time.monotonic() - self._last.get(product.name, -1e9) >= self._interval:
            self._last[product.name] = time.monotonic()
            await self.run(product)

    async def run(self, product: ProductRuntime) -> dict[str, list[str]]:
        read_started = time.time()
        try:
            members = set(await product.directory.members())
        except (DirectoryError, CircuitOpen) as exc:
            log.warning("reconcile_skipped", product=product.name, error=str(exc))
            return {}
        keys = product.keys
        pipe = self._redis.pipeline(transaction=False)
        pipe.hgetall(keys.licensed)
        pipe.hgetall(keys.granting)
        pipe.hgetall(keys.revoking)
        licensed, granting, revoking = await pipe.execute()
        now = time.time()
        excluded = set(product.settings.exclude_users)
        repairs: dict[str, list[str]] = {
            "dropped": [],
            "adopted": [],
            "finished_grant": [],
            "released": [],
            "finished_revoke": [],
        }
        for user, granted_at in licensed.items():
            # A grant committed while the members were being read is not in that list.
            if user not in members and float(granted_at) < read_started - 1:
                repairs["dropped"].append(user)
        if product.settings.unmanaged_members == "adopt":
            known = set(licensed) | set(granting) | set(revoking) | excluded
            repairs["adopted"] = sorted(members - known)
        for user, since in granting.items():
            if now - float(since) > STALE:
                repairs["finished_grant" if user in members else "released"].append(user)
        for user, since in revoking.items():
            if now - float(since) > STALE and user not in members:
                repairs["finished_revoke"].append(user)

        pipe = self._redis.pipeline(transaction=True)
        events = []
        for user in repairs["dropped"]:
            pipe.hdel(keys.licensed, user)
            events.append((Event.REVOKED, user, "removed from the group by hand"))
        for user in repairs["adopted"]:
            pipe.hset(keys.licensed, user, now)
            pipe.zadd(keys.activity, {user: now}, gt=True)
            events.append((Event.GRANTED, user, "adopted hand-added member"))
        for user in repairs["finished_grant"]:
            pipe.hdel(keys.granting, user)
            pipe.hset(keys.licensed, user, now)
            events.append((Event.GRANTED, user, "grant finished after a crash"))
        for user in repairs["released"]:
            pipe.hdel(keys.granting, user)
        for user in repairs["finished_revoke"]:
            pipe.hdel(keys.revoking, user)
            events.append((Event.REVOKED, user, "revoke finished after a crash"))
        for kind, users in repairs.items():
            for user in users:
                audit.append(pipe, keys, f"reconcile:{kind}", user, "membership drift")
        for kind, user, detail in events:
            pipe.publish(keys.events, GrantEvent(kind, user, detail).to_json())
        if any(repairs.values()):
            await pipe.execute()
            log.info("reconciled", product=product.name, **{k: len(v) for k, v in repairs.items() if v})
        return repairs
