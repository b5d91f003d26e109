"""Handling one grant request: decide, reserve a seat, add to the group, tell the proxies.

Safe to run more than once for the same request (an entry taken over from a dead worker,
two workers): the seat reservation is idempotent per user, a reservation found already
made ("resumed") first checks the membership, so an add the dead worker completed is not
made again, and the directory add ends in success when the user is already a member.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum

import structlog
from redis.exceptions import RedisError

from grant_worker import audit, crashpoints, metrics
from grant_worker.directories import CircuitOpen, DirectoryError, UnknownUser
from grant_worker.product import ProductRuntime
from grant_worker.revoker import Revoker
from seatgate import logs
from seatgate.protocol import ROLLBACK_WINDOW, Action, Event, GrantEvent, GrantRequest, ProtocolError
from seatgate.redis_conn import RedisClient
from seatgate.schema import COMMIT_GRANT, ENQUEUE, GROUP, RELEASE_SEAT, RESERVE_SEAT

log = logs.get("seatgate.worker.grants")

# How long to wait for a concurrent revoke of the same user to finish before granting.
REVOKE_WAIT = 10.0


class TakenOver(Exception):
    """The stream entry is no longer this worker's: another one took it over (we were silent)."""


class RollbackOutcome(StrEnum):
    ROLLED_BACK = "rolled_back"
    IGNORED = "ignored"  # too old, or the user was active since: the grant stands


@dataclass(frozen=True, slots=True)
class Result:
    event: Event | RollbackOutcome
    detail: str = ""
    position: int | None = None


ROLLED_BACK = RollbackOutcome.ROLLED_BACK
IGNORED = RollbackOutcome.IGNORED


class GrantHandler:
    def __init__(self, redis: RedisClient, worker_id: str, revoker: Revoker, retry_after: int = 10):
        self._redis = redis
        self._worker_id = worker_id
        self._revoker = revoker  # eviction and rollback
        self._retry_after = retry_after
        self._reserve = RESERVE_SEAT.bind(redis)
        self._commit = COMMIT_GRANT.bind(redis)
        self._release = RELEASE_SEAT.bind(redis)
        self._enqueue = ENQUEUE.bind(redis)

    async def handle(self, product: ProductRuntime, entry_id: str | None, fields: Mapping[str, str]) -> Result:
        """Handle a grant request; ``entry_id`` is its stream entry (None for admin-API grants)."""
        try:
            request = GrantRequest.from_fields(fields)
        except ProtocolError as exc:
            # Nobody can be waiting for a request without a user: drop it, say so.
            log.warning("grant_request_malformed", product=product.name, entry=entry_id, error=str(exc))
            if entry_id is not None:
                await self._redis.xack(product.keys.grants, GROUP, entry_id)
            return Result(Event.FAILED, f"malformed request: {exc}")
        # Bound for the whole handling, so the directory's own log lines carry the id too.
        with structlog.contextvars.bound_contextvars(request_id=request.request_id):
            return await self._handle(product, entry_id, request)

    async def _handle(self, product: ProductRuntime, entry_id: str | None, request: GrantRequest) -> Result:
        user, request_id = request.user, request.request_id
        bound = log.bind(product=product.name, user=user, request_id=request_id)
        started = time.perf_counter()
        try:
            if request.action is Action.ROLLBACK:
                result = await self._rollback(product, user)
            else:
                result = await self._decide_and_grant(product, entry_id, user, request.confirmed)
        except (RedisError, OSError) as exc:
            # Leave the entry unacknowledged: another attempt (or worker) will take it.
            metrics.REDIS_ERRORS.labels(op="grant").inc()
            bound.warning("grant_redis_error", error=type(exc).__name__)
            raise
        latency = time.perf_counter() - started
        requested_at = request.requested_at
        if requested_at:
            # As the proxy sees it: from the request to the confirmed directory change.
            latency = max(latency, time.time() - requested_at)
        await self._finish(product, entry_id, request, result, latency)
        metrics.seat_series("GRANTS", product.keys).labels(product.name, result.event).inc()
        metrics.GRANT_LATENCY.labels(product.name, result.event, "worker").observe(latency)
        bound.info(
            "grant_handled",
            outcome=result.event,
            detail=result.detail,
            latency_ms=round(latency * 1000, 1),
            source=request.source,
        )
        return result

    async def _decide_and_grant(
        self, product: ProductRuntime, entry_id: str | None, user: str, confirmed: bool
    ) -> Result:
        settings = product.settings
        if not user or user in settings.exclude_users:
            return Result(Event.EXCLUDED, "excluded user")
        # A claimed name that does not exist is never granted (seat-abuse defence): the
        # directory add answers "unknown user" and the reserved seat is given back, so no
        # separate existence lookup is needed unless group settings need the user's groups.
        if settings.exclude_groups or settings.managed_groups:
            try:
                groups = await product.user_groups(user)
            except (DirectoryError, CircuitOpen) as exc:
                return Result(Event.FAILED, f"directory: {exc}")
            if groups is None:
                return Result(Event.FAILED, "unknown_user")
            if groups & set(settings.exclude_groups):
                return Result(Event.EXCLUDED, "excluded group")
            if settings.managed_groups and not groups & set(settings.managed_groups):
                return Result(Event.EXCLUDED, "not in a managed group")
        crashpoints.reached("before_reserve")
        status = await self._reserve_seat(product, user)
        if status == "licensed":
            return Result(Event.GRANTED, "already licensed")
        if status == "full" and confirmed and settings.pressure_eviction and await self._evict_one(product):
            status = await self._reserve_seat(product, user)
        if status == "full":
            keys = product.keys
            position = await self._enqueue(queue=keys.queue, queue_seen=keys.queue_seen, user=user, now=time.time())
            return Result(Event.DENIED, "no free seat", int(position))
        if status not in ("reserved", "resumed"):
            return Result(Event.FAILED, f"seat: {status}")
        try:
            if status == "reserved" or not await product.directory.is_member(user):
                await self._still_ours(product, entry_id)
                crashpoints.reached("during_add")
                await product.directory.add(user)
            # else: a worker that died after its add left the seat reserved: finish its grant.
        except UnknownUser:
            await self._release(granting=product.keys.granting, user=user)
            return Result(Event.FAILED, "unknown_user")
        except (DirectoryError, CircuitOpen) as exc:
            if not _may_have_landed(exc):
                await self._release(granting=product.keys.granting, user=user)
            # Otherwise the seat stays reserved ("granting"): the user may be in the group
            # now, and a released seat could be handed to someone else, over the licence.
            # The user's next grant finds the reservation and repeats the (idempotent) add;
            # the reconciler settles a reservation nobody comes back for from the real
            # membership.
            return Result(Event.FAILED, f"directory: {exc}")
        crashpoints.reached("after_add")
        keys = product.keys
        await self._commit(
            licensed=keys.licensed,
            granting=keys.granting,
            activity=keys.activity,
            queue=keys.queue,
            queue_seen=keys.queue_seen,
            user=user,
            now=time.time(),
        )
        crashpoints.reached("after_commit")
        return Result(Event.GRANTED, "added")

    async def _still_ours(self, product: ProductRuntime, entry_id: str | None) -> None:
        """Raise TakenOver when another worker claimed the entry (our heartbeat lapsed).

        Checked right before the directory add, the one step that must not run twice."""
        if entry_id is None:  # an admin-API grant: no stream entry
            return
        mine = await self._redis.xpending_range(
            product.keys.grants, GROUP, min=entry_id, max=entry_id, count=1, consumername=self._worker_id
        )
        if not mine:
            raise TakenOver(entry_id)

    async def _evict_one(self, product: ProductRuntime) -> bool:
        """Revoke the longest-idle managed user idle for longer than evict_after."""
        now = time.time()
        cutoff = now - product.settings.evict_after
        licensed = await self._redis.hkeys(product.keys.licensed)
        if not licensed:
            return False
        scores = await self._redis.zmscore(product.keys.activity, licensed)
        idle = sorted(
            (score or 0.0, user) for user, score in zip(licensed, scores, strict=True) if (score or 0.0) <= cutoff
        )
        for _, user in idle[:3]:  # the next ones in line, if the first became busy meanwhile
            if await self._revoker.revoke_now(product, user, cutoff, "evicted"):
                return True
        return False

    async def _rollback(self, product: ProductRuntime, user: str) -> Result:
        """Undo a recent grant made for a claim the upstream then rejected."""
        granted_at = await self._redis.hget(product.keys.licensed, user)
        if granted_at is None or time.time() - float(granted_at) > ROLLBACK_WINDOW:
            return Result(IGNORED, "no recent grant to roll back")
        # Proxies record no activity for an unconfirmed claim, and the grant itself stamps
        # activity at its commit time: activity after that comes from a confirmed
        # identity, and then the real user is spared.
        if await self._revoker.revoke_now(product, user, float(granted_at), "rollback"):
            return Result(ROLLED_BACK, "credentials rejected upstream")
        return Result(IGNORED, "user busy or held")

    async def _reserve_seat(self, product: ProductRuntime, user: str) -> str:
        keys = product.keys
        deadline = time.monotonic() + REVOKE_WAIT
        while True:
            status = await self._reserve(
                licensed=keys.licensed,
                granting=keys.granting,
                revoking=keys.revoking,
                cap=keys.cap,
                queue=keys.queue,
                user=user,
                now=time.time(),
            )
            if status != "revoking" or time.monotonic() > deadline:
                return status
            # The sweeper is removing this user right now; the remove finishes (or is
            # cancelled because of this very request) within the revoke grace period.
            await asyncio.sleep(0.05)

    async def _finish(
        self,
        product: ProductRuntime,
        entry_id: str | None,
        request: GrantRequest,
        result: Result,
        latency: float,
    ) -> None:
        keys, user = product.keys, request.user
        pipe = self._redis.pipeline(transaction=True)
        if entry_id is not None:
            pipe.xack(keys.grants, GROUP, entry_id)
        if result.event not in (ROLLED_BACK, IGNORED):
            pipe.delete(keys.inflight(user))
            queued = result.position is not None
            event = GrantEvent(
                Event(result.event),  # a grant's outcome (rollbacks publish nothing)
                user,
                result.detail,
                request.request_id,
                position=result.position,
                retry_after=self._retry_after if queued else None,
            )
            pipe.publish(keys.events, event.to_json())
        if result.detail != "already licensed":
            action = f"{request.action}:{result.event}"
            audit.append(
                pipe,
                keys,
                action,
                user,
                result.detail,
                request_id=request.request_id,
                latency_ms=round(latency * 1000, 1),
                source=request.source,
                client=request.client,
                worker=self._worker_id,
            )
        await pipe.execute()


def _may_have_landed(exc: DirectoryError) -> bool:
    """Whether a failed directory write may still have taken effect (no verdict came back)."""
    if isinstance(exc, CircuitOpen):
        return exc.attempted
    return exc.status is None or exc.status >= 500
