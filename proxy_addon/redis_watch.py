"""Says, on stderr and in a metric, when the proxy cannot reach Redis and what it does meanwhile.

Without Redis the proxy cannot tell who is licensed: it forwards unlicensed requests
(``failure_mode = "open"``) or answers them 503 (``"closed"``). An operator who started only
the proxy must see that at once, not find it in ``/readyz``: started with the proxy's
services (:mod:`proxy_addon.lifecycle`), this pings Redis every PING_INTERVAL seconds,
keeps ``seatgate_proxy_redis_up`` at 1 or 0, and while Redis does not answer writes one
warning line (``redis_unreachable``) at once and then at most once a minute
(REPEAT_AFTER); ``redis_reachable`` says when it answers again. ``seatgate status`` and
``seatgate doctor`` read the same state from the proxy's ``/readyz``, which works when Redis
itself is the broken part.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

from proxy_addon import metrics
from seatgate import logs
from seatgate.netutil import public_url
from seatgate.redis_conn import REDIS_UNAVAILABLE
from seatgate.settings import Settings

log = logs.get("seatgate.proxy.redis")

PING_INTERVAL = 1.0
PING_DEADLINE = 2.0
REPEAT_AFTER = 60.0

CONSEQUENCE = {
    "open": "failing open until Redis answers: requests are forwarded without a seat check",
    "closed": "failing closed until Redis answers: requests that need a seat are answered 503",
}


class RedisWatch:
    def __init__(self, redis: Any, settings: Settings, clock: Callable[[], float] = time.monotonic):
        self.settings = settings
        self._redis = redis
        self._clock = clock
        self.up: bool | None = None  # None until the first answer (or silence)
        self._warned_at: float | None = None

    async def run(self) -> None:
        """Check every PING_INTERVAL; the first check is the caller's, at start-up."""
        while True:
            await asyncio.sleep(PING_INTERVAL)
            await self.check()

    async def check(self) -> None:
        try:
            up = bool(await asyncio.wait_for(self._redis.ping(), PING_DEADLINE))
            error = ""
        except REDIS_UNAVAILABLE as exc:  # TimeoutError included
            up, error = False, type(exc).__name__
        self.observe(up, error)

    def observe(self, up: bool, error: str = "") -> None:
        """Record one ping's outcome: metric, and the warning when due."""
        metrics.REDIS_UP.set(1 if up else 0)
        was = self.up
        self.up = up
        if up:
            if was is False:
                log.info("redis_reachable", detail="seat checks are back")
            self._warned_at = None
            return
        now = self._clock()
        if self._warned_at is None or now - self._warned_at >= REPEAT_AFTER:
            self._warned_at = now
            mode = self.settings.proxy.failure_mode
            log.warning(
                "redis_unreachable",
                detail=f"Redis at {public_url(self.settings.redis_url)} does not answer ({error}): {CONSEQUENCE[mode]}",
                failure_mode=mode,
            )
