"""The grant worker: one loop per product reading grant requests, plus background duties.

    consume  — XREADGROUP on the product's grant stream, each entry handled in its own
               task (bounded by ``[worker] concurrency``), acknowledged when done
    heartbeat— keep this worker's liveness keys (grant_worker.heartbeat)
    takeover — claim at once the entries of a worker whose liveness key expired (it died),
               never those of a live one (grant_worker.takeover)
    sweeper  — inactivity revokes, on the lease holder only
    seats    — the effective cap, refreshed from the upstream licence
    admin    — admin API, /metrics, /healthz, /readyz

Every Redis call has a socket deadline; a failing call is counted, logged and retried
with backoff, never fatal.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import os
import socket
import time
import uuid

from redis.exceptions import RedisError, ResponseError

from grant_worker import metrics, seats
from grant_worker.directories import CircuitBreaker, DirectoryError, make_directory
from grant_worker.grants import GrantHandler, TakenOver
from grant_worker.heartbeat import Heartbeat
from grant_worker.lease import Lease
from grant_worker.product import ProductRuntime
from grant_worker.reconciler import Reconciler
from grant_worker.revoker import Revoker
from grant_worker.shadow import ShadowObserver, WouldBeDirectory
from grant_worker.sweeper import Sweeper
from grant_worker.takeover import TakeOver
from grant_worker.whatif import WhatIf
from seatgate import logs, redis_conn
from seatgate.redis_conn import REDIS_UNAVAILABLE, RedisClient
from seatgate.rules import RulesWatcher
from seatgate.schema import ALL_SCRIPTS, GROUP, GlobalKeys, ProductKeys
from seatgate.settings import ConfigError, Settings

log = logs.get("seatgate.worker")

READ_BLOCK_MS = 1000
# An entry of our own unacknowledged this long and under way nowhere (its handling hit a
# Redis error) is handled again.
OWN_RETRY_AFTER = 10.0
HEARTBEAT_LOOP = "Heartbeat.run"


class LoopEnded(Exception):
    """One of the worker's loops ended while the worker was meant to run."""


class GrantWorker:
    def __init__(self, settings: Settings, redis: RedisClient | None = None):
        self.settings = settings
        self.worker_id = f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:6]}"
        self.redis = redis or redis_conn.connect(settings.redis_url)
        self.products: list[ProductRuntime] = []
        self.revoker = Revoker(self.redis, settings.worker.revoke_grace)
        self.handler = GrantHandler(self.redis, self.worker_id, self.revoker, settings.worker.queue_retry_after)
        self.reconciler = Reconciler(self.redis, settings.worker.reconcile_interval)
        self.takeover = TakeOver(self.redis, self.worker_id)
        self.heartbeat = Heartbeat(
            self.redis, self.worker_id, [ProductKeys(p.name) for p in settings.products], settings.worker.takeover_after
        )
        self.whatif = WhatIf(self.redis)
        self._tasks: set[asyncio.Task] = set()
        # Stream entry ids each product's grants under way here were read from: never
        # spawned a second time while they run.
        self._handling: dict[str, set[str]] = {}
        self.stopping = asyncio.Event()

    async def start(self) -> None:
        """Connect the directories and create the consumer groups; raise ConfigError on failure."""
        try:
            await asyncio.wait_for(self.redis.ping(), 5)
        except (RedisError, OSError, TimeoutError) as exc:
            raise ConfigError("redis_url", f"Redis is not reachable ({type(exc).__name__}: {exc})") from None
        await redis_conn.preload_scripts(self.redis, ALL_SCRIPTS)
        for product in self.settings.products:
            try:
                directory = await make_directory(
                    product, self.settings.worker, observer=metrics.directory_observer(product.name)
                )
            except DirectoryError as exc:
                raise ConfigError(f"products.{product.name}.upstream", str(exc)) from None
            shadow = product.mode == "shadow"
            if shadow:
                directory = WouldBeDirectory(directory)  # type: ignore[assignment]
            problems = await directory.check()
            if problems:
                await directory.close()
                raise ConfigError(f"products.{product.name}", problems[0])
            runtime = ProductRuntime(product, ProductKeys(product.name, shadow=shadow), directory)
            for mode in ("enforce", "shadow"):
                metrics.PRODUCT_MODE.labels(product.name, mode).set(float(mode == product.mode))
            # Read at scrape time: 1 from the breaker's opening until a trial call succeeds.
            metrics.CIRCUIT_OPEN.labels(product.name).set_function(functools.partial(_breaker_open, directory.breaker))
            self.products.append(runtime)
            if not shadow:
                await self._ensure_group(runtime.keys.grants)
            await seats.refresh(self.redis, runtime)
        # Alive before the first read: an entry is never pending to a consumer without a key.
        await self.heartbeat.beat()
        log.info(
            "worker_started",
            worker=self.worker_id,
            products=[p.name for p in self.products],
            directories={p.name: p.directory.name for p in self.products},
        )

    async def _ensure_group(self, stream: str) -> None:
        try:
            await self.redis.xgroup_create(stream, GROUP, id="0", mkstream=True)
        except ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise

    async def run(self) -> None:
        worker = self.settings.worker
        lease = Lease(self.redis, GlobalKeys.sweeper_lease, self.worker_id, worker.lease_ttl)
        sweeper = Sweeper(
            self.redis,
            lease,
            self.products,
            self.revoker,
            worker.sweep_interval,
            worker.queue_timeout,
            extra_duties=[self.reconciler.maybe_run, ShadowObserver(self.redis, self.handler), self.whatif],
        )
        # A shadow product's proxies ask for no grant: it has no grant stream to read.
        enforced = [p for p in self.products if not p.keys.shadow]
        loops = [self._consume(p) for p in enforced]
        loops += [self._take_over(p) for p in enforced]
        loops.append(self.heartbeat.run())
        loops += [sweeper.run(), seats.refresh_loop(self.redis, self.products, worker.seat_refresh_interval)]
        # The worker classifies nothing, but its seatgate_rules_version tells ops which version is stored.
        loops.append(RulesWatcher(self.redis, on_change=lambda version, _: metrics.RULES_VERSION.set(version)).run())
        tasks = [asyncio.create_task(loop, name=getattr(loop, "__qualname__", None)) for loop in loops]
        stop = asyncio.create_task(self.stopping.wait())
        try:
            # Every loop runs until the worker stops. One that ends early has crashed: stop the
            # worker with its error, so that a supervisor restarts it, rather than run on
            # without it (no grants read, or no revokes) and look healthy.
            done, _ = await asyncio.wait([stop, *tasks], return_when=asyncio.FIRST_COMPLETED)
            for task in done:
                if task is not stop:
                    error = task.exception()
                    log.error("worker_loop_ended", loop=task.get_name(), error=repr(error))
                    raise LoopEnded(task.get_name()) from error
        finally:
            stop.cancel()
            # The heartbeat goes on while grants under way finish: they are never taken over
            # while they run.
            heartbeat = next(t for t in tasks if t.get_name() == HEARTBEAT_LOOP)
            others = [task for task in tasks if task is not heartbeat]
            for task in others:
                task.cancel()
            await asyncio.gather(*others, return_exceptions=True)
            # Let grants under way finish (they hold requests), with a deadline.
            if self._tasks:
                await asyncio.wait(self._tasks, timeout=10)
            heartbeat.cancel()
            await asyncio.gather(heartbeat, return_exceptions=True)
            # Once nothing runs here any more, what is still pending here is taken over at
            # once rather than after the expiry. A grant still running past the deadline
            # dies with the process; its key then expires.
            if all(task.done() for task in self._tasks):
                await self.heartbeat.stop()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(lease.release(), 2)

    async def close(self) -> None:
        for product in self.products:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(product.directory.close(), 5)
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self.redis.aclose(), 2)

    # -- the grant loop ---------------------------------------------------------------
    async def _consume(self, product: ProductRuntime) -> None:
        stream = product.keys.grants
        backoff = 0.1
        while True:
            free = self.settings.worker.concurrency - len(self._tasks)
            if free <= 0:  # read only as many entries as can start now
                await asyncio.wait(self._tasks, return_when=asyncio.FIRST_COMPLETED)
                continue
            try:
                reply = await self.redis.xreadgroup(
                    GROUP, self.worker_id, {stream: ">"}, count=free, block=READ_BLOCK_MS
                )
                backoff = 0.1
            except REDIS_UNAVAILABLE as exc:
                if isinstance(exc, ResponseError) and "NOGROUP" in str(exc):
                    # The stream was deleted (Redis flushed): recreate it and its group (should
                    # that fail too, wait like after any other error).
                    with contextlib.suppress(*REDIS_UNAVAILABLE):
                        await self._ensure_group(stream)
                        continue
                # Everything else is waited out, error replies included: a cluster answers
                # CLUSTERDOWN or TRYAGAIN while it settles, a replica READONLY during failover.
                metrics.REDIS_ERRORS.labels(op="xreadgroup").inc()
                log.warning("read_failed", product=product.name, error=type(exc).__name__, retry_in=backoff)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 5.0)
                continue
            for _stream, entries in reply or []:
                for entry_id, fields in entries:
                    self._spawn(product, entry_id, fields)

    def _spawn(self, product: ProductRuntime, entry_id: str, fields: dict[str, str]) -> None:
        handling = self._handling.setdefault(product.name, set())
        if entry_id in handling:  # already under way here (re-handled only once it has ended)
            return
        handling.add(entry_id)
        task = asyncio.create_task(self._handle(product, entry_id, fields))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        task.add_done_callback(lambda _: handling.discard(entry_id))

    async def _handle(self, product: ProductRuntime, entry_id: str, fields: dict[str, str]) -> None:
        try:
            await self.handler.handle(product, entry_id, fields)
        except (RedisError, OSError):
            pass  # not acknowledged: handled again if this worker dies; otherwise the proxy's retry asks again
        except TakenOver:
            log.warning("grant_taken_over", product=product.name, entry=entry_id, user=fields.get("user"))
        except Exception:
            log.exception("grant_crashed", product=product.name, entry=entry_id)

    async def _take_over(self, product: ProductRuntime) -> None:
        """Take over, at once, the entries of a worker that died mid-grant (its heartbeat expired)."""
        next_own_retry = time.monotonic() + OWN_RETRY_AFTER
        while True:
            # Twice per heartbeat refresh: a takeover follows the key's expiry closely
            # (an XPENDING summary per product is cheap).
            await asyncio.sleep(self.heartbeat.interval / 2)
            try:
                claimed = await self.takeover.dead_consumers_entries(product.keys)
                if time.monotonic() >= next_own_retry:
                    next_own_retry = time.monotonic() + OWN_RETRY_AFTER
                    claimed += await self._own_abandoned(product)
            except REDIS_UNAVAILABLE as exc:
                metrics.REDIS_ERRORS.labels(op="takeover").inc()
                log.warning("takeover_failed", product=product.name, error=type(exc).__name__)
                continue
            for entry_id, fields, dead in claimed:
                if not fields:  # deleted from the stream meanwhile
                    await self.redis.xack(product.keys.grants, GROUP, entry_id)
                    continue
                metrics.RECLAIMED.labels(product.name).inc()
                log.info("grant_reclaimed", product=product.name, entry=entry_id, user=fields.get("user"), dead=dead)
                self._spawn(product, entry_id, fields)

    async def _own_abandoned(self, product: ProductRuntime) -> list[tuple[str, dict[str, str], str]]:
        """Our own entries left unacknowledged by a Redis error, idle and under way nowhere: handle them again.

        Only ever this worker's own entries, so never one a live worker is handling."""
        stream = product.keys.grants
        pending = await self.redis.xpending_range(
            stream, GROUP, min="-", max="+", count=100, consumername=self.worker_id, idle=int(OWN_RETRY_AFTER * 1000)
        )
        handling = self._handling.get(product.name, set())
        ids = [p["message_id"] for p in pending if p["message_id"] not in handling]
        if not ids:
            return []
        entries = await self.redis.xclaim(stream, GROUP, self.worker_id, min_idle_time=0, message_ids=ids)
        return [(entry_id, fields or {}, self.worker_id) for entry_id, fields in entries]


def _breaker_open(breaker: CircuitBreaker) -> float:
    """seatgate_directory_circuit_open, read at scrape time: 1 from the breaker's opening
    until a trial call succeeds."""
    return float(breaker.state != "closed")
