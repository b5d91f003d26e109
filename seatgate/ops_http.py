"""/metrics, /healthz and /readyz, served the same way by the proxy and the worker."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp
from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, generate_latest

ReadyCheck = Callable[[], Awaitable[dict[str, Any]]]


def ops_routes(ready: ReadyCheck) -> list[web.RouteDef]:
    async def metrics(_: web.Request) -> web.Response:
        return web.Response(body=generate_latest(REGISTRY), headers={"Content-Type": CONTENT_TYPE_LATEST})

    async def healthz(_: web.Request) -> web.Response:
        return web.json_response({"status": "ok"})

    async def readyz(_: web.Request) -> web.Response:
        try:
            checks = await asyncio.wait_for(ready(), 5)
        except TimeoutError:
            checks = {"timeout": False}
        ok = all(bool(v) for v in checks.values())
        return web.json_response({"ready": ok, "checks": checks}, status=200 if ok else 503)

    return [web.get("/metrics", metrics), web.get("/healthz", healthz), web.get("/readyz", readyz)]


class OpsServer:
    """A small aiohttp server on HOST:PORT running inside the caller's event loop."""

    def __init__(
        self,
        listen: str,
        ready: ReadyCheck,
        extra_routes: list[web.RouteDef] | None = None,
        app: web.Application | None = None,
    ):
        self.host, _, port = listen.rpartition(":")
        self.port = int(port)
        self.app = app or web.Application()
        self.app.add_routes(ops_routes(ready) + (extra_routes or []))
        self._runner: web.AppRunner | None = None

    async def start(self) -> None:
        self._runner = web.AppRunner(self.app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, self.host, self.port).start()

    async def stop(self) -> None:
        if self._runner is not None:
            await asyncio.wait_for(self._runner.cleanup(), 5)


class UpstreamProbe:
    """Is each upstream answering HTTP? A cheap GET, with a short deadline, cached for a few seconds.

    Readiness probes arrive every few seconds from every orchestrator and load balancer:
    the cache keeps them from turning into load on Jira/Confluence, the deadline keeps a
    hung upstream from hanging the probe. Any answer below 500 counts as reachable (a
    redirect to a login page is an answer); 5xx is Jira/Confluence starting or broken.
    """

    def __init__(self, upstreams: dict[str, str], path: str = "/status", deadline: float = 2.0, cache_for: float = 5.0):
        self.upstreams = {name: url.rstrip("/") + path for name, url in upstreams.items()}
        self.deadline = deadline
        self.cache_for = cache_for
        self._cached: dict[str, tuple[float, bool]] = {}

    async def check(self) -> dict[str, bool]:
        now = time.monotonic()
        stale = [name for name in self.upstreams if self._cached.get(name, (0.0, False))[0] <= now]
        if stale:
            results = await asyncio.gather(*(self._probe(self.upstreams[name]) for name in stale))
            for name, ok in zip(stale, results, strict=True):
                self._cached[name] = (time.monotonic() + self.cache_for, ok)
        return {f"upstream_{name}": self._cached[name][1] for name in self.upstreams}

    async def _probe(self, url: str) -> bool:
        timeout = aiohttp.ClientTimeout(total=self.deadline)
        try:
            async with (
                aiohttp.ClientSession(timeout=timeout) as session,
                session.get(url, allow_redirects=False) as response,
            ):
                return response.status < 500
        except (aiohttp.ClientError, TimeoutError, OSError):
            return False
