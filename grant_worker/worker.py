"""The grant worker: one loop per product reading grant requests, plus background duties.

    consume  — XREADGROUP on the product's grant stream, each entry handled in its own
               task (bounded by ``[worker] concurrency``), acknowledged when done
    reclaim  — XAUTOCLAIM entries another worker read but never acknowledged (it died)
    sweeper  — inactivity revokes, on the lease holder only
    seats    — the effective cap, refreshed from the upstream licence
    admin    — admin API, /metrics, /healthz, /readyz

Every Redis call has a socket deadline; a failing call is counted, logged and retried
with backoff, never fatal.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import uuid

from redis.exceptions import RedisError, ResponseError

from grant_worker import metrics, seats
from grant_worker.directories import DirectoryError, make_directory
from grant_worker.grants import GrantHandler
from grant_worker.lease import Lease
from grant_worker.product import ProductRuntime
from grant_worker.reconciler import Reconciler
from grant_worker.revoker import Revoker
from grant_worker.shadow import ShadowObserver, WouldBeDirectory
from grant_worker.sweeper import Sweeper
from grant_worker.whatif import WhatIf
from seatgate import logs, redis_conn
from seatgate.redis_conn import REDIS_UNAVAILABLE, RedisClient
from seatgate.rules import RulesWatcher
from seatgate.schema import ALL_SCRIPTS, GROUP, GlobalKeys, ProductKeys
from seatgate.settings import ConfigError, Settings

log = logs.get("seatgate.worker")

READ_BLOCK_MS = 1000


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
        self.whatif = WhatIf(self.redis)
        self._tasks: set[asyncio.Task] = set()
        # Stream entry ids each product's grants under way here were read from: kept
        # claimed (fresh) while they run, and never reclaimed by this worker a second time.
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
            metrics.CIRCUIT_OPEN.labels(product.name).set_function(
                lambda breaker=directory.breaker: float(breaker.state != "closed")
            )
            self.products.append(runtime)
            if not shadow:
                await self._ensure_group(runtime.keys.grants)
            await seats.refresh(self.redis, runtime)
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
        loops += [self._reclaim(p) for p in enforced]
        loops += [sweeper.run(), seats.refresh_loop(self.redis, self.products, worker.seat_refresh_interval)]
        # The worker classifies nothing, but its seatgate_rules_version tells ops which version is stored.
        loops.append(RulesWatcher(self.redis, on_change=lambda version, _: metrics.RULES_VERSION.set(version)).run())
        tasks = [asyncio.create_task(loop, name=loop.__qualname__) for loop in loops]
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
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            # Let grants under way finish (they hold requests), with a deadline.
            if self._tasks:
                await asyncio.wait(self._tasks, timeout=10)
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
        if entry_id in handling:  # already under way here (a slow grant looks idle to XAUTOCLAIM)
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
            pass  # not acknowledged: the reclaimer hands it to a worker again
        except Exception:
            log.exception("grant_crashed", product=product.name, entry=entry_id)

    async def _reclaim(self, product: ProductRuntime) -> None:
        """Take over entries left pending by a worker that died mid-grant."""
        min_idle_ms = int(self.settings.worker.reclaim_after * 1000)
        while True:
            await asyncio.sleep(max(0.5, self.settings.worker.reclaim_after / 2))
            try:
                mine = list(self._handling.get(product.name, ()))
                if mine:
                    # Heartbeat: claiming our own entries again resets their idle time, so a
                    # grant slower than reclaim_after (a slow directory) is not taken over
                    # and run a second time by another worker while this one is alive.
                    await self.redis.xclaim(
                        product.keys.grants, GROUP, self.worker_id, min_idle_time=0, message_ids=mine, justid=True
                    )
                _next, entries, *_ = await self.redis.xautoclaim(
                    product.keys.grants, GROUP, self.worker_id, min_idle_time=min_idle_ms, start_id="0-0", count=100
                )
            except REDIS_UNAVAILABLE as exc:
                metrics.REDIS_ERRORS.labels(op="xautoclaim").inc()
                log.warning("reclaim_failed", product=product.name, error=type(exc).__name__)
                continue
            for entry_id, fields in entries:
                if entry_id in self._handling.get(product.name, ()):
                    continue
                if not fields:  # deleted from the stream meanwhile
                    await self.redis.xack(product.keys.grants, GROUP, entry_id)
                    continue
                metrics.RECLAIMED.labels(product.name).inc()
                log.info("grant_reclaimed", product=product.name, entry=entry_id, user=fields.get("user"))
                self._spawn(product, entry_id, fields)
