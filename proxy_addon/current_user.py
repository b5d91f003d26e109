"""Who a session belongs to, for a product that does not say it in X-AUSERNAME.

Confluence Data Center may not send X-AUSERNAME. Then the proxy asks the product once per
new session: ``GET /rest/api/user/current`` carrying the request's own cookie, the way the
browser itself would. The answer is learned like any other upstream statement (keyed hash
of the cookie → user, in the identity store), so each session costs one lookup for its
whole life, on every proxy. Concurrent requests of a new session share one lookup, and its
answer is also kept here for a while (an anonymous one briefly), so that a request racing
the identity store's update, or anonymous browsing, does not ask again.
"""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict

import aiohttp

from proxy_addon import metrics
from proxy_addon.credentials import valid_username
from seatgate.settings import ProductSettings

# Per product kind: the "who am I" resource and the field holding the username.
WHO_AM_I = {"confluence": ("/rest/api/user/current", "username"), "jira": ("/rest/api/2/myself", "name")}
ANONYMOUS_TTL = 30.0
USER_TTL = 300.0
MAX_REMEMBERED = 50_000


class CurrentUser:
    def __init__(self, timeout: float):
        self._timeout = timeout
        self._session: aiohttp.ClientSession | None = None
        self._inflight: dict[tuple[str, str], asyncio.Task[str | None]] = {}
        # (product, key) → (user or None for anonymous, until monotonic)
        self._answers: OrderedDict[tuple[str, str], tuple[str | None, float]] = OrderedDict()

    async def start(self) -> None:
        self._session = aiohttp.ClientSession(
            cookie_jar=aiohttp.DummyCookieJar(), timeout=aiohttp.ClientTimeout(total=self._timeout)
        )

    async def close(self) -> None:
        for task in list(self._inflight.values()):
            task.cancel()
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def resolve(self, product: ProductSettings, key: str, cookie: str) -> str | None:
        """The user of the session identified by ``key`` (a keyed hash of its cookie), asking
        upstream with ``cookie`` unless a lookup for it is already under way; None when
        anonymous, unknown or too slow (the deadline is the lookup's own)."""
        slot = (product.name, key)
        answer = self._answers.get(slot)
        if answer is not None:
            if answer[1] > time.monotonic():
                return answer[0]
            del self._answers[slot]
        task = self._inflight.get(slot)
        if task is None:
            task = asyncio.create_task(self._fetch(product, slot, cookie))
            self._inflight[slot] = task
            task.add_done_callback(lambda _: self._inflight.pop(slot, None))
        try:
            return await asyncio.wait_for(asyncio.shield(task), self._timeout)
        except TimeoutError:
            return None

    async def _fetch(self, product: ProductSettings, slot: tuple[str, str], cookie: str) -> str | None:
        path, field = WHO_AM_I[product.kind]
        if self._session is None:
            return None
        try:
            async with self._session.get(
                product.upstream + path, allow_redirects=False, headers={"Cookie": cookie, "Accept": "application/json"}
            ) as answer:
                if answer.status >= 500:
                    raise ValueError(f"status {answer.status}")
                doc = await answer.json(content_type=None) if answer.status == 200 else None
        except (aiohttp.ClientError, TimeoutError, ValueError):
            metrics.CURRENT_USER_LOOKUPS.labels(product.name, "error").inc()
            return None  # not remembered: the next request of the session asks again
        user = doc.get(field) if isinstance(doc, dict) else None
        if not (isinstance(user, str) and valid_username(user)):
            user = None
        metrics.CURRENT_USER_LOOKUPS.labels(product.name, "user" if user else "anonymous").inc()
        # Remembered before the task completes, so no caller can miss both this and the task.
        self._answers[slot] = (user, time.monotonic() + (USER_TTL if user else ANONYMOUS_TTL))
        while len(self._answers) > MAX_REMEMBERED:
            self._answers.popitem(last=False)
        return user
