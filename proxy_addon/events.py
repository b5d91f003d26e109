"""One pub/sub connection per proxy that feeds the licence view and the grant waits.

Reconnects with backoff; after every (re)subscription the licence view is reloaded,
because messages sent while disconnected are gone. While disconnected, waits for
grants are failed at once rather than left to run into their deadline.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Collection
from typing import Any

from proxy_addon import metrics
from seatgate import logs
from seatgate.protocol import GrantEvent, ProtocolError
from seatgate.redis_conn import RedisClient
from seatgate.schema import ProductKeys

log = logs.get("seatgate.proxy.events")

Handler = Callable[[str, GrantEvent], None]


class EventListener:
    def __init__(
        self,
        redis: RedisClient,
        products: list[str],
        handlers: list[Handler],
        on_connected: Callable[[], Any],
        on_lost: Callable[[], None],
        shadow: Collection[str] = (),
    ):
        self._redis = redis
        # A product in shadow mode: the worker's would-be grants and revokes (see LicenceView).
        self._channels = {ProductKeys(p, shadow=p in shadow).events: p for p in products}
        self._handlers = handlers
        self._on_connected = on_connected
        self._on_lost = on_lost
        self.connected = asyncio.Event()

    async def run(self) -> None:
        backoff = 0.1
        while True:
            pubsub = self._redis.pubsub(ignore_subscribe_messages=True)
            try:
                await asyncio.wait_for(pubsub.subscribe(*self._channels), 5)
                await asyncio.wait_for(self._on_connected(), 10)
                self.connected.set()
                backoff = 0.1
                log.info("events_subscribed", channels=len(self._channels))
                while True:
                    message = await pubsub.get_message(timeout=5.0)
                    if message is not None:
                        self._dispatch(message)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # whatever broke the subscription, subscribe again
                metrics.REDIS_ERRORS.labels(op="events").inc()
                if self.connected.is_set():
                    log.warning("events_lost", error=type(exc).__name__)
                self.connected.clear()
                self._on_lost()
            finally:
                try:
                    await asyncio.wait_for(pubsub.aclose(), 2)
                except Exception:
                    pass
            await asyncio.sleep(backoff)
            # Capped low: until the channel is subscribed again, grant replies published
            # after Redis is back would be missed, and one attempt a second costs nothing.
            backoff = min(backoff * 2, 1.0)

    def _dispatch(self, message: dict[str, Any]) -> None:
        product = self._channels.get(message.get("channel", ""))
        if product is None:
            return
        try:
            event = GrantEvent.from_json(message["data"])
        except (ProtocolError, KeyError):
            metrics.EVENTS_MALFORMED.labels(product).inc()
            return
        for handler in self._handlers:
            handler(product, event)
