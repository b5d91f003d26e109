"""This proxy's view of who is licensed: local sets, kept current by worker events.

Answers "is this user licensed?" without a Redis round trip. The worker publishes every
grant and revoke on the product's events channel; a periodic full reload repairs
anything a dropped pub/sub connection missed.
"""

from __future__ import annotations

import time
from collections.abc import Collection

from proxy_addon import metrics
from seatgate.protocol import Event, GrantEvent
from seatgate.redis_conn import RedisClient
from seatgate.schema import ProductKeys

# How long an "excluded" answer from the worker is trusted before asking again.
EXCLUDED_TTL = 300.0


class LicenceView:
    """For a product in shadow mode (named in ``shadow``) the view is of the would-be seat
    state: who would hold a seat, which is what decides whether a passive request keeps one."""

    def __init__(self, products: list[str], shadow: Collection[str] = ()):
        self._keys = {p: ProductKeys(p, shadow=p in shadow) for p in products}
        self._licensed: dict[str, set[str]] = {p: set() for p in products}
        self._excluded: dict[str, dict[str, float]] = {p: {} for p in products}

    def is_licensed(self, product: str, user: str) -> bool:
        return user in self._licensed[product]

    def is_excluded(self, product: str, user: str) -> bool:
        until = self._excluded[product].get(user)
        return until is not None and until > time.monotonic()

    def apply(self, product: str, event: GrantEvent) -> None:
        kind, user = event.type, event.user
        if product not in self._licensed:
            return
        if kind == Event.GRANTED:
            self._licensed[product].add(user)
        elif kind in (Event.REVOKING, Event.REVOKED):
            self._licensed[product].discard(user)
        elif kind == Event.EXCLUDED:
            self._excluded[product][user] = time.monotonic() + EXCLUDED_TTL
        metrics.LICENSED_CACHED.labels(product=product).set(len(self._licensed[product]))

    async def reload(self, redis: RedisClient) -> None:
        """Replace the local sets with Redis's truth (raises RedisError on failure)."""
        for product in self._licensed:
            users = await redis.hkeys(self._keys[product].licensed)
            self._licensed[product] = set(users)
            metrics.LICENSED_CACHED.labels(product=product).set(len(users))
