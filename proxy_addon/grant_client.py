"""Ask the worker for a grant and wait for the answer, with a deadline.

All concurrent requests of one user on this proxy share one wait; across proxies the
``REQUEST_GRANT`` script lets only one grant be in flight per user (the others find it
``pending`` and wait for the same published result). The reply arrives over pub/sub;
a wait that has heard nothing after ``check_after`` seconds looks once whether the seat
is there, because a reply published while the channel was not subscribed (a proxy just
started or reconnecting) is not delivered again.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

from seatgate.protocol import FINAL_EVENTS, GRANT_STREAM_MAXLEN, Event, GrantEvent, GrantRequest
from seatgate.redis_conn import REDIS_UNAVAILABLE, RedisClient
from seatgate.schema import REQUEST_GRANT, ProductKeys


class GrantStatus(StrEnum):
    """How a wait for a grant ended: the worker's final event, or no answer in time."""

    GRANTED = Event.GRANTED
    DENIED = Event.DENIED
    EXCLUDED = Event.EXCLUDED
    FAILED = Event.FAILED
    TIMEOUT = "timeout"  # no answer within the deadline
    ERROR = "error"  # Redis failed, or the events connection was lost


@dataclass(frozen=True, slots=True)
class GrantOutcome:
    status: GrantStatus
    detail: str = ""
    position: int | None = None  # place in the seat queue when denied
    retry_after: float | None = None
    # The id the worker logged this grant under (the one asked for by whichever proxy came
    # first), so one id follows a grant through proxy, worker and directory logs.
    request_id: str = ""


TIMEOUT = GrantStatus.TIMEOUT
ERROR = GrantStatus.ERROR


class GrantClient:
    def __init__(self, redis: RedisClient, inflight_ttl: float, check_after: float = 1.0):
        self._redis = redis
        self._check_after = check_after
        self._script = REQUEST_GRANT.bind(redis)
        self._inflight_ttl_ms = int(inflight_ttl * 1000)
        self._waiters: dict[tuple[str, str], asyncio.Future[GrantOutcome]] = {}
        self._request_ids: dict[tuple[str, str], str] = {}  # the id each shared wait asked with
        self._asking: set[asyncio.Task] = set()  # keeps the tasks alive until done

    def resolve(self, product: str, event: GrantEvent) -> None:
        """Called for every event on a product's channel."""
        if event.type not in FINAL_EVENTS:
            return
        future = self._waiters.get((product, event.user))
        if future is not None and not future.done():
            future.set_result(
                GrantOutcome(GrantStatus(event.type), event.detail, event.position, event.retry_after, event.request_id)
            )

    async def request(
        self, product: str, user: str, *, source: str, confirmed: bool, client: str, deadline: float
    ) -> GrantOutcome:
        key = (product, user)
        future = self._waiters.get(key)
        if future is None or future.done():
            future = asyncio.get_running_loop().create_future()
            self._waiters[key] = future
            self._request_ids[key] = request_id = uuid.uuid4().hex
            task = asyncio.create_task(self._ask(future, product, user, source, confirmed, client, request_id))
            self._asking.add(task)
            task.add_done_callback(self._asking.discard)
        started = time.monotonic()
        try:
            if deadline > self._check_after:
                try:
                    return await asyncio.wait_for(asyncio.shield(future), self._check_after)
                except TimeoutError:
                    # Other requests of the user share the future and look too: first wins.
                    if not future.done() and await self._holds_seat(product, user):
                        self._granted_meanwhile(key, future, "licensed (checked)")
            remaining = max(0.0, deadline - (time.monotonic() - started))
            return await asyncio.wait_for(asyncio.shield(future), remaining)
        except TimeoutError:
            # Forget this wait so the next request asks again (the in-flight marker in
            # Redis expires, so a grant lost with a dead worker is asked for anew).
            return GrantOutcome(TIMEOUT, request_id=self._request_ids.get(key, ""))
        finally:
            if self._waiters.get(key) is future:
                del self._waiters[key]
                self._request_ids.pop(key, None)

    async def _ask(
        self,
        future: asyncio.Future[GrantOutcome],
        product: str,
        user: str,
        source: str,
        confirmed: bool,
        client: str,
        request_id: str,
    ) -> None:
        keys = ProductKeys(product)
        entry = GrantRequest(user, request_id, time.time(), client, source=source, confirmed=confirmed)
        fields = [part for pair in entry.to_fields().items() for part in pair]
        try:
            status = await self._script(
                fields,
                licensed=keys.licensed,
                inflight=keys.inflight(user),
                grants=keys.grants,
                user=user,
                request_id=request_id,
                inflight_ttl_ms=self._inflight_ttl_ms,
                maxlen=GRANT_STREAM_MAXLEN,
            )
        except REDIS_UNAVAILABLE as exc:
            if not future.done():
                future.set_result(GrantOutcome(ERROR, type(exc).__name__, request_id=request_id))
            return
        if status == "licensed" and not future.done():
            future.set_result(GrantOutcome(GrantStatus.GRANTED, "already licensed", request_id=request_id))
        # "queued" / "pending": the published result resolves the future.

    async def _holds_seat(self, product: str, user: str) -> bool:
        try:
            return bool(await asyncio.wait_for(self._redis.hexists(ProductKeys(product).licensed, user), 1.0))
        except REDIS_UNAVAILABLE:
            return False

    def settle_licensed(self, is_licensed: Callable[[str, str], bool]) -> None:
        """End the waits of users who hold a seat by now. Called once the events channel is
        subscribed again: a grant that was published while it was not is not replayed."""
        for (product, user), future in self._waiters.items():
            if not future.done() and is_licensed(product, user):
                self._granted_meanwhile((product, user), future, "licensed (seen after reconnecting)")

    def _granted_meanwhile(self, key: tuple[str, str], future: asyncio.Future[GrantOutcome], detail: str) -> None:
        """End a wait whose reply was missed but whose seat is there."""
        if not future.done():  # other requests of the user share the future and may be first
            future.set_result(GrantOutcome(GrantStatus.GRANTED, detail, request_id=self._request_ids.get(key, "")))

    def abandon_all(self, reason: str) -> None:
        """Fail every wait at once (the events connection was lost, so no reply can come)."""
        for future in self._waiters.values():
            if not future.done():
                future.set_result(GrantOutcome(ERROR, reason))
