"""The effective seat cap of each product, refreshed from the upstream licence.

cap = min(configured seats,
          licence seats - licensed users seatgate does not manage - reserved_seats)

Users who are licensed through other groups or were added by hand count against the
licence but are not seatgate's to float, so they shrink what seatgate may hand out.
"""

from __future__ import annotations

import asyncio

from grant_worker import metrics
from grant_worker.directories import CircuitOpen, DirectoryError, SeatInfo
from grant_worker.product import ProductRuntime
from seatgate import logs
from seatgate.redis_conn import REDIS_UNAVAILABLE, RedisClient

log = logs.get("seatgate.worker.seats")


def effective_cap(configured: int | None, info: SeatInfo | None, managed: int, reserved: int) -> int | None:
    """None means no cap is known (unlimited licence and no configured seats)."""
    caps = []
    if configured is not None:
        caps.append(configured)
    if info is not None and not info.unlimited and info.total is not None:
        used = (
            info.used
            if info.used is not None
            else (info.total - info.remaining if info.remaining is not None else None)
        )
        unmanaged = max(0, (used or 0) - managed)
        caps.append(max(0, info.total - unmanaged - reserved))
    return min(caps) if caps else None


async def managed_count(redis: RedisClient, product: ProductRuntime) -> int:
    keys = product.keys
    pipe = redis.pipeline(transaction=False)
    pipe.hlen(keys.licensed)
    pipe.hlen(keys.granting)
    pipe.hlen(keys.revoking)
    return sum(await pipe.execute())


async def refresh(redis: RedisClient, product: ProductRuntime) -> int | None:
    """Read the licence, write the cap to Redis, update the gauges. Returns the cap."""
    try:
        info = await product.directory.seats()
    except (DirectoryError, CircuitOpen) as exc:
        log.warning("seat_info_unavailable", product=product.name, error=str(exc))
        info = None
    managed = await managed_count(redis, product)
    # In shadow mode the licence's current users are not floating yet; after the cut-over
    # they all would be, so none of them counts as unmanaged against the would-be cap.
    counted = max(managed, info.used or 0) if product.keys.shadow and info is not None else managed
    cap = effective_cap(product.settings.seats, info, counted, product.settings.reserved_seats)
    keys = product.keys
    pipe = redis.pipeline(transaction=False)
    if cap is None:
        pipe.delete(keys.cap)
    else:
        pipe.set(keys.cap, cap)
    if info is not None:
        pipe.hset(
            keys.seat_info,
            mapping={
                "total": -1 if info.total is None else info.total,
                "used": -1 if info.used is None else info.used,
                "unlimited": int(info.unlimited),
            },
        )
    pipe.zcard(keys.queue)
    *_, queued = await pipe.execute()
    metrics.seat_series("SEATS_USED", keys).labels(product.name).set(managed)
    metrics.seat_series("SEATS_CAP", keys).labels(product.name).set(-1 if cap is None else cap)
    metrics.seat_series("QUEUE_LENGTH", keys).labels(product.name).set(queued)
    return cap


async def refresh_loop(redis: RedisClient, products: list[ProductRuntime], interval: float) -> None:
    while True:
        for product in products:
            try:
                await asyncio.wait_for(refresh(redis, product), 30)
            except REDIS_UNAVAILABLE as exc:
                metrics.REDIS_ERRORS.labels(op="seats").inc()
                log.warning("seat_refresh_failed", product=product.name, error=type(exc).__name__)
        await asyncio.sleep(interval)
