"""Start-up and shutdown of what the request path uses: the Redis client and the parts
built on it (licence view, grant client, write-behind, identity store, claims), the
background loops (events, write-behind, rules, cache resync) and the ops endpoints.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from proxy_addon import metrics
from proxy_addon.claims import ClaimGuard
from proxy_addon.current_user import CurrentUser
from proxy_addon.events import EventListener
from proxy_addon.followups import FollowUps
from proxy_addon.gate import Gate, RequestCounter
from proxy_addon.grant_client import GrantClient
from proxy_addon.identify import Identifier
from proxy_addon.identity_store import IdentityStore
from proxy_addon.learn import Learner
from proxy_addon.licence_view import LicenceView
from proxy_addon.record import ActivityRecorder
from proxy_addon.redis_watch import RedisWatch
from proxy_addon.replay import Replayer
from proxy_addon.request_sample import RequestSample
from proxy_addon.write_behind import WriteBehind
from seatgate import logs, redis_conn
from seatgate.keyed_hash import KeyedHasher
from seatgate.ops_http import OpsServer, UpstreamProbe
from seatgate.rules import RulesWatcher
from seatgate.schema import REQUEST_GRANT
from seatgate.settings import Settings

log = logs.get("seatgate.proxy")


class ProxyServices:
    """Everything the request path needs beyond the settings, started once and stopped once."""

    def __init__(self, settings: Settings, on_rules_changed: Callable[[int, Any], None]) -> None:
        self.settings = settings
        proxy = settings.proxy
        names = [p.name for p in settings.products]
        self.redis = redis_conn.connect(settings.redis_url)
        # Tokens outlive sessions (automation may use one monthly): keep their owners longer.
        ttl_by_kind = {"bearer": proxy.pat_ttl}
        self.writer = WriteBehind(
            self.redis, proxy.activity_flush_interval, proxy.activity_buffer_max, proxy.session_ttl, ttl_by_kind
        )
        self.identities = IdentityStore(self.redis, self.writer, proxy.session_ttl, ttl_by_kind=ttl_by_kind)
        self.sample = RequestSample(self.redis, KeyedHasher(settings.secret_key()))
        self.claims = ClaimGuard(self.redis, proxy)
        self.current_user = CurrentUser(proxy.current_user_timeout)
        self.replayer = Replayer(proxy.replay_timeout)
        # A shadow product's view follows the worker's would-be seat state, so that a passive
        # request keeps a would-be seat exactly as it would keep a real one.
        shadow = {p.name for p in settings.products if p.mode == "shadow"}
        self.view = LicenceView(names, shadow)
        # The in-flight marker outlives the proxy's wait so that a slow grant is not
        # asked for twice; it expires so that a grant lost with a dead worker is retried.
        self.grants = GrantClient(self.redis, inflight_ttl=max(proxy.grant_timeout * 2, 30.0))
        self._events = EventListener(
            self.redis,
            names,
            [self.view.apply, self.grants.resolve],
            on_connected=self._on_redis_connected,
            on_lost=lambda: self.grants.abandon_all("events connection lost"),
            shadow=shadow,
        )
        self._watcher = RulesWatcher(self.redis, on_change=on_rules_changed, check_interval=1.0)
        self.redis_watch = RedisWatch(self.redis, settings)
        self._tasks: list[asyncio.Task] = []
        self._ops: OpsServer | None = None
        self._upstreams: UpstreamProbe | None = None

    async def start(self) -> None:
        """Start the loops; the ops endpoints last (the request path is usable before them)."""
        await redis_conn.warm_up(self.redis)  # unreachable now is fine: every use fails open
        await self.redis_watch.check()  # ... but said at once, next to the start-up lines
        await self.current_user.start()
        await self.replayer.start()
        self._tasks = [
            asyncio.create_task(self._events.run(), name="seatgate-events"),
            asyncio.create_task(self.writer.run(), name="seatgate-write-behind"),
            asyncio.create_task(self.sample.run(), name="seatgate-request-sample"),
            asyncio.create_task(self._watcher.run(), name="seatgate-rules"),
            asyncio.create_task(self._resync_loop(), name="seatgate-resync"),
            asyncio.create_task(self.redis_watch.run(), name="seatgate-redis-watch"),
        ]

    async def start_ops(self) -> None:
        proxy = self.settings.proxy
        if proxy.metrics_listen:
            self._upstreams = UpstreamProbe({p.name: str(p.upstream) for p in self.settings.products})
            self._ops = OpsServer(proxy.metrics_listen, ready=self._ready)
            await self._ops.start()

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await asyncio.wait_for(task, 2)
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self.writer.flush(), 3)
        if self._ops is not None:
            await self._ops.stop()
        for closable in (self.claims, self.current_user, self.replayer):
            with contextlib.suppress(Exception):
                await asyncio.wait_for(closable.close(), 3)
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self.redis.aclose(), 2)

    async def _on_redis_connected(self) -> None:
        """After every (re)connection: scripts into the cache, licensed users reloaded."""
        await redis_conn.preload_scripts(self.redis, (REQUEST_GRANT,))
        await self.view.reload(self.redis)
        self.grants.settle_licensed(self.view.is_licensed)

    async def _resync_loop(self) -> None:
        interval = self.settings.proxy.cache_resync_interval
        while True:
            await asyncio.sleep(interval)
            try:
                await asyncio.wait_for(self.view.reload(self.redis), 10)
            except Exception as exc:
                metrics.REDIS_ERRORS.labels(op="resync").inc()
                log.warning("resync_failed", error=type(exc).__name__)

    async def _ready(self) -> dict[str, Any]:
        checks: dict[str, Any] = {"events": self._events.connected.is_set()}
        try:
            checks["redis"] = bool(await asyncio.wait_for(self.redis.ping(), 2))
        except Exception:
            checks["redis"] = False
        if self._upstreams is not None:
            checks.update(await self._upstreams.check())
        return checks


@dataclass(frozen=True, slots=True)
class RequestPath:
    """The started parts the hooks call: built once, after the services have started, so
    that a hook sees either all of them or none (the addon holds ``None`` until then)."""

    services: ProxyServices
    identifier: Identifier
    gate: Gate
    learner: Learner
    followups: FollowUps

    @classmethod
    async def start(
        cls,
        settings: Settings,
        hasher: KeyedHasher,
        on_rules_changed: Callable[[int, Any], None],
        counter: RequestCounter,
    ) -> RequestPath:
        proxy = settings.proxy
        services = ProxyServices(settings, on_rules_changed)
        await services.start()
        record = ActivityRecorder(services.writer, services.view, services.grants, proxy.grant_timeout)
        identifier = Identifier(proxy, hasher, services.identities, services.current_user)
        gate = Gate(proxy, services.view, services.grants, services.claims, record, counter)
        learner = Learner(proxy, hasher, services.identities, services.claims, services.view, record, gate.client)
        followups = FollowUps(
            proxy, identifier, learner, gate, record, services.claims, services.view, services.replayer
        )
        return cls(services, identifier, gate, learner, followups)
